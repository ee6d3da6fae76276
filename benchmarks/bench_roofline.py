"""How close is the engine to this machine's limits?

Counts the floating-point work and the memory traffic per scenario-step of
the compiled material layer (``simulator/supply_numba.py``) and per
scenario-month of the economy, measures what the engine achieves on the
benchmark Monte Carlo, and compares with what numpy's matrix multiply
reaches on this machine (one thread and all threads) and with the memory
bandwidth of a large array triad (``a = b + s * c``).

The operation counts below are read off the kernel's source, per material
and step, counting each add, subtract, multiply, divide, min, max,
comparison and select as one operation (a select or a min is one SIMD
instruction, like an add). The economy's counts use the actual table
sizes and the number of policy-iteration rounds measured on the batch.

Usage::

    python benchmarks/bench_roofline.py [--n 10000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import best_of, machine, print_machine, save, table  # noqa: E402 (imports follow the sys.path set-up)

#: Operations per material per step in supply_numba._kernel, by section.
SUPPLY_OPS_PER_MATERIAL_STEP = {
    "demand and arrivals": 2 + 4,
    "share arrivals among 4 firm groups, use": 20 + 5 + 24 + 6 + 36,
    "national release, shortfall records": 59,
    "orders, capacities, allies, pipeline": 58,
    "schedule shipments (ring buffer)": 16,
}
SUPPLY_OPS_PER_SCENARIO_STEP = 12          # step inputs: start/refill/allied tests, lead-time split
DIVISIONS_PER_MATERIAL_STEP = 5
#: Compulsory memory traffic per scenario-step, bytes: per-step inputs read
#: (substitution and alternative shares per material, severity, Chinese lead
#: time: 2M + 2 doubles) and monthly outputs written (10 per material per
#: month, a quarter of it per weekly step); the state stays in L1.
def supply_bytes_per_scenario_step(M: int, spm: int) -> float:
    return 8 * (2 * M + 2) + 8 * 10 * M / spm


def economy_ops_per_row(n: int, c: int, M: int, pairs: int, products: float) -> float:
    """Operations per scenario-month with a shortage: direct loss (n x M, 4 each),
    downstream closure (2 per reachable pair), policy iteration (``products``
    c x c matrix-vector products: checks and block solves), the other sectors
    (n - c) x c, losses (4 n)."""
    return 4 * n * M + 2 * pairs + 2 * c * c * products + 2 * (n - c) * c + 4 * n


def matmul_gflops(threads: int | None) -> float:
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).random((1500, 1500))
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ a
        wall, _ = best_of(lambda: a @ a, 5)
    return 2 * 1500**3 / wall / 1e9


def triad_gbs() -> float:
    n = 20_000_000
    b, c = np.ones(n), np.ones(n)
    a = np.empty(n)

    def triad():
        np.multiply(c, 1.5, out=a)
        np.add(a, b, out=a)
    wall, _ = best_of(triad, 5)
    return 4 * 8 * n / wall / 1e9          # read c, write a, read a and b, write a


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    info = machine()
    print_machine(info)
    from simulator.core import engine
    from simulator.core.executor import run_summary, single_threaded_blas
    from simulator.model import economy, material

    t = table(args.n)
    s = t.spec
    M, spm, H = len(s.materials), s.steps_per_month, s.horizon_months
    steps = args.n * H * spm
    inp = engine.supply_inputs(t)
    material.simulate_supply(inp)                                   # compiled, cached
    sup_wall, _ = best_of(lambda: material.simulate_supply(inp), 3)
    with single_threaded_blas():
        run_summary(t, workers=1)
        all_wall, _ = best_of(lambda: run_summary(t, workers=1), 3)

    # the economy's rows and policy-iteration rounds on this batch
    st = s.economy
    paths = material.simulate_supply(inp)
    rows = int((np.clip(paths.shortage_share, 0, 1).max(axis=1) > 0).sum())
    counter = {"free": 0, "rows": 0}
    original = economy.solve_max_linear

    def counting(sv, Hm, **kw):
        # rows where some sector ends demand-bound needed a block solve and a second check
        q = original(sv, Hm, **kw)
        counter["rows"] += len(sv)
        counter["free"] += int((q > sv + 1e-12).any(axis=1).sum())
        return q
    src, dst, _ = st.links
    P = economy.path_weights(len(st.va_ratio), st.links) if len(src) else np.zeros((1, 1))
    direct = st.dependence.max(axis=1) > 0
    pairs = int((P[direct] > 0).sum())
    economy.solve_max_linear = counting
    try:
        with single_threaded_blas():
            engine.simulate(t)
    finally:
        economy.solve_max_linear = original
    products = 1 + 2 * counter["free"] / max(1, counter["rows"])   # a lower bound: one check, + solve and check
    n, c = len(st.va_ratio), len(st.candidates)

    per_mat = sum(SUPPLY_OPS_PER_MATERIAL_STEP.values())
    sup_ops = steps * (M * per_mat + SUPPLY_OPS_PER_SCENARIO_STEP)
    sup_bytes = steps * supply_bytes_per_scenario_step(M, spm)
    eco_ops = rows * economy_ops_per_row(n, c, M, pairs, products)
    mm1, mm_all, bw = matmul_gflops(1), matmul_gflops(None), triad_gbs()

    print(f"\nWork per scenario-step (compiled material layer, {M} materials, 4 firm groups):")
    for k, v in SUPPLY_OPS_PER_MATERIAL_STEP.items():
        print(f"  {k:42s} {v:4d} ops per material")
    print(f"  {'step inputs':42s} {SUPPLY_OPS_PER_SCENARIO_STEP:4d} ops per scenario")
    print(f"  total {M * per_mat + SUPPLY_OPS_PER_SCENARIO_STEP} ops, "
          f"of which {M * DIVISIONS_PER_MATERIAL_STEP} divisions; "
          f"compulsory memory traffic {supply_bytes_per_scenario_step(M, spm):.0f} bytes "
          f"(intensity {(M * per_mat) / supply_bytes_per_scenario_step(M, spm):.1f} ops/byte)")
    print(f"Economy: {rows:,} scenario-months with a shortage ({rows / args.n:.1f} per scenario), "
          f"~{economy_ops_per_row(n, c, M, pairs, products):,.0f} ops each "
          f"(n={n}, c={c} candidates, {pairs} closure pairs, >={products:.2f} c x c products per row)")

    print(f"\nOn {args.n:,} scenarios ({steps:,} scenario-steps):")
    print(f"  material layer: {sup_wall:.3f} s -> {1e9 * sup_wall / steps:.0f} ns per scenario-step, "
          f"{sup_ops / sup_wall / 1e9:.2f} G ops/s, {sup_bytes / sup_wall / 1e9:.2f} GB/s")
    print(f"  whole engine:   {all_wall:.3f} s -> {(sup_ops + eco_ops) / all_wall / 1e9:.2f} G ops/s "
          f"({sup_ops / 1e9:.2f} G in the material layer, {eco_ops / 1e9:.2f} G in the economy)")
    print("This machine:")
    print(f"  numpy matmul (float64, 1500x1500): {mm1:.1f} GFLOP/s on 1 thread, {mm_all:.1f} on all threads")
    print(f"  memory bandwidth (triad, 160 MB arrays): {bw:.1f} GB/s")
    print(f"\nThe material layer runs at {100 * sup_ops / sup_wall / 1e9 / mm1:.0f}% of one core's matmul rate "
          f"and uses {100 * sup_bytes / sup_wall / 1e9 / bw:.1f}% of the memory bandwidth: it is bound by neither. "
          "What is left is the latency of each step's chain of dependent operations "
          f"({M * DIVISIONS_PER_MATERIAL_STEP} divisions and ~{M * 12} min/max/selects in sequence per "
          "scenario-step) and the ring-buffer scatter, partly hidden by running 32 scenarios in lockstep.")
    path = save("roofline", {
        "machine": info, "scenarios": args.n, "supply_s": sup_wall, "engine_s": all_wall,
        "supply_ops": sup_ops, "economy_ops": eco_ops, "supply_bytes": sup_bytes, "economy_rows": rows,
        "matmul_gflops_1": mm1, "matmul_gflops_all": mm_all, "triad_gbs": bw,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
