"""Engine throughput: scenarios/s, ms per scenario, peak memory, scaling.

Runs the default scenario as a Monte Carlo (five parameters drawn per
scenario, see ``common.DRAWS``) through :func:`simulator.core.executor.run_summary`
(summary outputs only) and prints:

- a scaling table, 1 -> 100,000 scenarios, one thread and all cores;
- 37 vs 185 sectors;
- the numpy reference loop (``RESIM_ENGINE=numpy``) for comparison;
- ``simulator.run`` in a loop, the baseline of the throughput ratio;
- the first call in a fresh process (numba import and JIT-cache load);
- peak memory (tracemalloc: numpy's buffers) of 10,000 and 100,000 scenarios;
- the targets of issue #5, met or missed.

Times are the best of a few repeats (wall clock; CPU time alongside, since a
shared machine inflates wall time). Results go to
``benchmarks/results/engine.json`` (plotted by ``plot_scaling.py``).

Usage::

    python benchmarks/bench_engine.py            # about a minute
    python benchmarks/bench_engine.py --max 10000 --quick
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import best_of, machine, peak_traced_mib, print_machine, save, table  # noqa: E402 (imports follow the sys.path set-up)

import simulator  # noqa: E402 (imports follow the sys.path set-up)
from simulator.core.executor import run_summary  # noqa: E402 (imports follow the sys.path set-up)

FIRST_CALL = """
import time, sys
sys.path.insert(0, {bench!r})
from common import table
from simulator.core.executor import run_summary
t = table({n})

t0 = time.perf_counter()
run_summary(t, workers={workers})
print(time.perf_counter() - t0)
"""


def reps_for(n: int, quick: bool) -> int:
    if quick:
        return 1 if n >= 10_000 else 2
    return 5 if n <= 1000 else (3 if n <= 10_000 else 1)


RUN_LOOP = """
import time, simulator
base = simulator.load_scenario()
scenarios = [base.with_overrides({{"restriction.duration_months": 1.0 + (i % 24)}}) for i in range({k})]
simulator.run(scenarios[0], draws=0)
t0 = time.perf_counter()
for sc in scenarios:
    simulator.run(sc, draws=0)   # one scenario per call: the central run, no band
print((time.perf_counter() - t0) / {k})
"""


def run_loop_baseline(k: int) -> float:
    """Seconds per call of simulator.run in a fresh process (one scenario at a
    time, as a user loops; small batches use the numpy loop there)."""
    out = subprocess.run([sys.executable, "-c", RUN_LOOP.format(k=k)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run_loop_loaded(k: int) -> float:
    """Seconds per call of simulator.run once the compiled loop is loaded (this process)."""
    base = simulator.load_scenario()
    scenarios = [base.with_overrides({"restriction.duration_months": 1.0 + (i % 24)}) for i in range(k)]
    simulator.run(scenarios[0], draws=0)
    t0 = time.perf_counter()
    for sc in scenarios:
        simulator.run(sc, draws=0)
    return (time.perf_counter() - t0) / k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max", type=int, default=100_000, help="largest batch of the scaling table")
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    info = machine()
    print_machine(info)
    cores = os.cpu_count() or 1
    run_summary(table(64), workers=1)                 # structure, numba and its cache loaded
    run_summary(table(64, table_name="mic2015_185"), workers=1)

    sizes = [n for n in (1, 10, 100, 1000, 10_000, 100_000) if n <= args.max]
    rows = []
    print("\nScaling, 37 sectors (default scenario, 5 parameters drawn), summary outputs:")
    print(f"{'scenarios':>10} {'threads':>7} {'wall s':>8} {'cpu s':>8} {'scen/s':>10} {'ms/scen':>8}")
    for n in sizes:
        t = table(n)
        for workers in sorted({1, cores}):
            wall, cpu = best_of(lambda t=t, workers=workers: run_summary(t, workers=workers), reps_for(n, args.quick))
            rows.append({"sectors": 37, "scenarios": n, "threads": workers, "wall_s": wall, "cpu_s": cpu})
            print(f"{n:>10,} {workers:>7} {wall:>8.3f} {cpu:>8.3f} {n / wall:>10,.0f} {1e3 * wall / n:>8.3f}")

    print("\n185 sectors:")
    for n in [n for n in (1, 100, 1000, 10_000) if n <= args.max]:
        t = table(n, table_name="mic2015_185")
        for workers in sorted({1, cores}):
            wall, cpu = best_of(lambda t=t, workers=workers: run_summary(t, workers=workers), reps_for(n, args.quick))
            rows.append({"sectors": 185, "scenarios": n, "threads": workers, "wall_s": wall, "cpu_s": cpu})
            print(f"{n:>10,} {workers:>7} {wall:>8.3f} {cpu:>8.3f} {n / wall:>10,.0f} {1e3 * wall / n:>8.3f}")

    n10 = min(10_000, args.max)
    t10 = table(n10)
    same = table(n10, identical=True)
    ident_wall, ident_cpu = best_of(lambda: run_summary(same, workers=1), reps_for(n10, args.quick))
    print(f"\n{n10:,} identical copies of the default scenario, 1 thread: "
          f"{ident_wall:.3f} s wall ({ident_cpu:.3f} s CPU)")

    os.environ["RESIM_ENGINE"] = "numpy"
    np_wall, np_cpu = best_of(lambda: run_summary(t10, workers=1), 1)
    del os.environ["RESIM_ENGINE"]
    print(f"{n10:,} scenarios with the numpy reference loop (RESIM_ENGINE=numpy), 1 thread: "
          f"{np_wall:.3f} s wall ({np_cpu:.3f} s CPU)")

    per_run = run_loop_baseline(30)
    per_run_loaded = run_loop_loaded(100)
    print(f"simulator.run in a loop, fresh process: {1e3 * per_run:.1f} ms per scenario "
          f"({1 / per_run:,.0f} scenarios/s); once the compiled loop is loaded: {1e3 * per_run_loaded:.1f} ms")

    bench = str(Path(__file__).parent)
    firsts = {}
    for workers in (1, None):
        out = subprocess.run([sys.executable, "-c", FIRST_CALL.format(bench=bench, n=n10, workers=workers)],
                             capture_output=True, text=True, check=True)
        firsts[workers] = float(out.stdout.strip().splitlines()[-1])
    first_call = firsts[None]
    print(f"first run_summary of {n10:,} in a fresh process (imports numba, loads its compiled loop): "
          f"{firsts[1]:.3f} s on 1 thread, {firsts[None]:.3f} s with the default threads ({cores})")

    mem10 = peak_traced_mib(lambda: run_summary(t10, workers=1))
    print(f"peak memory, {n10:,} scenarios, 1 thread: {mem10:,.0f} MiB traced")
    mem_big = None
    if args.max >= 100_000:
        t100 = table(100_000)
        mem_big = peak_traced_mib(lambda: run_summary(t100, workers=cores))
        print(f"peak memory, 100,000 scenarios, {cores} threads: {mem_big:,.0f} MiB traced "
              f"(chunks of 2,000; the table itself: {sum(v.nbytes for v in t100.values.values()) / 2**20:,.0f} MiB)")

    best10 = min(r["wall_s"] for r in rows if r["sectors"] == 37 and r["scenarios"] == n10 and r["threads"] == 1)
    best10_all = min(r["wall_s"] for r in rows if r["sectors"] == 37 and r["scenarios"] == n10)
    r185 = [r["wall_s"] for r in rows if r["sectors"] == 185 and r["scenarios"] == min(1000, args.max)]
    speedup = (n10 / best10) * per_run
    print("\nTargets (issue #5):")
    check(f"{n10:,} scenarios, summary, 1 thread, warm", best10, 1.0, "s")
    check(f"{n10:,} scenarios, summary, {cores} threads, warm", best10_all, 1.0, "s")
    check(f"{n10:,} scenarios, first call in a fresh process, 1 thread", firsts[1], 1.0, "s")
    check(f"{n10:,} scenarios, first call in a fresh process, {cores} threads (default)", first_call, 1.0, "s")
    check(f"peak memory of {n10:,} scenarios", mem10 / 1024, 1.0, "GiB")
    check("throughput vs simulator.run loop (higher is better)", -speedup, -100.0, "x", show=speedup)
    speedup_loaded = (n10 / best10) * per_run_loaded
    print(f"  (vs simulator.run in a loop with the compiled loop already loaded: {speedup_loaded:,.0f} x)")
    if r185:
        check(f"185 sectors, {min(1000, args.max):,} scenarios, best", min(r185), 1.0, "s")

    path = save("engine", {
        "machine": info, "rows": rows, "identical_10k_wall_s": ident_wall, "numpy_loop_10k_wall_s": np_wall,
        "numpy_loop_10k_cpu_s": np_cpu, "run_loop_s_per_scenario": per_run, "first_call_10k_s": first_call,
        "first_call_10k_1thread_s": firsts[1], "run_loop_loaded_s_per_scenario": per_run_loaded,
        "peak_mib_10k": mem10, "peak_mib_100k": mem_big, "throughput_ratio": speedup,
    })
    print(f"\nwrote {path}")


def check(label: str, value: float, limit: float, unit: str, show: float | None = None) -> None:
    shown = abs(value) if show is None else show
    verdict = "met" if value <= limit else f"MISSED by {abs(value - limit) / abs(limit):.0%}"
    print(f"  {label}: {shown:,.3g} {unit} (target {abs(limit):g} {unit}) -> {verdict}")


if __name__ == "__main__":
    main()
