"""A 1,000,000-scenario summary-only Monte Carlo, streamed in chunks.

Neither the parameter table of the whole sweep nor any monthly path exists
at once: each chunk's table is drawn when its turn comes
(:func:`simulator.core.params.with_values`), run, and reduced to its summary
row (:func:`simulator.core.executor.iter_summary`); only the summary columns of
all scenarios are kept, as a sweep returns them. Prints time, scenarios/s
and the process's peak resident memory (``ru_maxrss``), with the part that
is the kept summary itself.

Usage::

    python benchmarks/bench_stream.py                  # 1,000,000 scenarios, ~1 minute
    python benchmarks/bench_stream.py --n 100000 --workers 1
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import DRAWS, machine, max_rss_mib, print_machine, save  # noqa: E402 (imports follow the sys.path set-up)

import simulator  # noqa: E402 (imports follow the sys.path set-up)
from simulator.core.executor import iter_summary  # noqa: E402 (imports follow the sys.path set-up)
from simulator.core.params import with_values  # noqa: E402 (imports follow the sys.path set-up)


def chunk_tables(base, n: int, chunk: int, seed: int):
    """The sweep's tables, drawn one chunk at a time (reproducible per chunk)."""
    for i, lo in enumerate(range(0, n, chunk)):
        size = min(chunk, n - lo)
        rng = np.random.default_rng([seed, i])
        yield with_values(base, size, {k: rng.uniform(a, b, size) for k, (a, b) in DRAWS.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    print_machine(machine())
    base = simulator.load_scenario()
    list(iter_summary(chunk_tables(base, 64, 64, 1), workers=1))     # warm: structure, compiled loop
    rss_before = max_rss_mib()

    kept: dict[str, np.ndarray] = {}
    done = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for part in iter_summary(chunk_tables(base, args.n, args.chunk, 0), workers=args.workers):
        size = len(next(iter(part.values())))
        if not kept:
            kept = {k: np.empty(args.n) for k in part}
        for k, v in part.items():
            kept[k][done:done + size] = v
        done += size
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = max_rss_mib()
    kept_mib = sum(v.nbytes for v in kept.values()) / 2**20
    loss = kept["gdp_loss_pct"]
    print(f"\n{done:,} scenarios in chunks of {args.chunk:,}, {args.workers} thread(s): "
          f"{wall:.1f} s wall ({cpu:.1f} s CPU), {done / wall:,.0f} scenarios/s")
    print(f"peak resident memory: {peak:,.0f} MiB (before the sweep: {rss_before:,.0f} MiB; "
          f"the kept summary, {len(kept)} columns x {done:,}: {kept_mib:,.0f} MiB)")
    print(f"GDP loss, % of a year's GDP: mean {loss.mean():.3f}, 5-95% {np.percentile(loss, 5):.3f}-"
          f"{np.percentile(loss, 95):.3f}")
    path = save("stream", {"scenarios": done, "chunk": args.chunk, "workers": args.workers, "wall_s": wall,
                           "cpu_s": cpu, "peak_rss_mib": peak, "rss_before_mib": rss_before,
                           "kept_summary_mib": kept_mib, "machine": machine()})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
