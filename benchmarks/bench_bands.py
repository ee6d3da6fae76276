"""Bands at scale (issue 13): a 1,000-point sweep with 200 posterior draws per point.

Prints wall and CPU time and peak memory of ``simulator.sweep`` over 1,000
restriction lengths with the default 200 draws each (200,000 + 1,000
scenarios, streamed in blocks and reduced to percentiles as they finish),
then the same grid without bands, and ``simulator.run`` with and without its
band in this (warm) process. The cold start of ``resim run`` with its band is
measured by ``bench_cli.py``.

Usage::

    python benchmarks/bench_bands.py            # about a minute
    python benchmarks/bench_bands.py --points 200
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import best_of, machine, max_rss_mib, print_machine, save  # noqa: E402 (imports follow the sys.path set-up)

import simulator  # noqa: E402 (imports follow the sys.path set-up)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=200)
    args = ap.parse_args()
    info = machine()
    print_machine(info)
    sc = simulator.load_scenario()
    grid = {"restriction.duration_months": list(np.linspace(1.0, 24.0, args.points))}
    simulator.sweep(sc, {"restriction.duration_months": [6.0, 12.0]}, draws=args.draws)      # warm up
    rss0 = max_rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    df = simulator.sweep(sc, grid, draws=args.draws)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss1 = max_rss_mib()
    n = args.points * (1 + args.draws)
    print(f"\nsweep, {args.points:,} points x (1 + {args.draws} draws) = {n:,} scenarios: {wall:.2f} s wall, "
          f"{cpu:.2f} s CPU, {n / wall:,.0f} scenarios/s; peak RSS {rss1:,.0f} MiB (+{rss1 - rss0:,.0f} MiB)")
    assert len(df) == args.points and "gdp_loss_pct_p95" in df
    w0, c0 = best_of(lambda: simulator.sweep(sc, grid, draws=0), 3)
    print(f"sweep, {args.points:,} points, central runs only (draws=0): {w0:.2f} s wall ({c0:.2f} s CPU)")
    wb, cb = best_of(lambda: simulator.run(sc, keep_sector_paths=False), 5)
    wn, cn = best_of(lambda: simulator.run(sc, keep_sector_paths=False, draws=0), 5)
    print(f"simulator.run, warm: with its band {1e3 * wb:.0f} ms, without {1e3 * wn:.0f} ms")
    verdict = "met" if wall <= 10 else "MISSED"
    print(f"\nTarget (issue #13): 200,000 scenarios with bands <= 10 s warm -> {wall:.1f} s: {verdict}")
    path = save("bands", {"machine": info, "points": args.points, "draws": args.draws, "scenarios": n,
                          "sweep_wall_s": wall, "sweep_cpu_s": cpu, "peak_rss_mib": rss1,
                          "sweep_central_wall_s": w0, "run_band_ms": 1e3 * wb, "run_no_band_ms": 1e3 * wn})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
