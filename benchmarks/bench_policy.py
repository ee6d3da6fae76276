"""Timings of the policy levers (issues #7, #12); speed is measured here, never in tests.

    python benchmarks/bench_policy.py [--draws 200]

Model v2 shares scarce material among applications inside the material layer
(``economy.allocation``: a sort per material and a loop over at most a dozen
firm groups per step; no linear program). Prints, for both bundled tables:
a default run per allocation rule and release strategy (central only, and
with its band), a batch of 1,000 random scenarios per allocation rule (what a
Monte Carlo costs per rule), and ``optimize_stockpile`` for 3, 6 and 12
months with and without the band of its answer.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import simulator
from simulator.core.engine import simulate
from simulator.core.params import with_values

PRIORITY = {"mic2015_37": ["31", "32"], "mic2015_185": ["3299", "3311"]}
RULES = ("proportional", "market", "priority", "value_added")
STRATEGIES = ("on_shortage", "immediate", "reserve_for_priority", "none")


def best_of(fn, repeat: int = 3) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def random_values(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"restriction.duration_months": rng.uniform(1, 24, n),
            "restriction.severity": rng.uniform(0.3, 1, n),
            "inventory.cover_scale": rng.uniform(0.4, 1.5, n),
            "stockpile.national.cover_days": rng.uniform(0, 90, n),
            "economy.reallocation": rng.uniform(0, 1, n)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=200, help="posterior draws of the banded runs")
    ap.add_argument("--batch", type=int, default=1000, help="scenarios of the Monte Carlo batch per rule")
    args = ap.parse_args()
    simulator.run(simulator.load_scenario(), draws=0)                     # compile / load the engine
    for table in ("mic2015_37", "mic2015_185"):
        base = simulator.load_scenario(overrides={"economy.table": table,
                                                  "economy.priority_sectors": PRIORITY[table]})
        print(f"{table}:")
        for rule in RULES:
            sc = base.with_overrides({"economy.allocation": rule})
            simulator.run(sc, keep_sector_paths=False, draws=0)             # build the structure once
            central = best_of(lambda sc=sc: simulator.run(sc, keep_sector_paths=False, draws=0))
            banded = best_of(lambda sc=sc: simulator.run(sc, keep_sector_paths=False, draws=args.draws), repeat=1)
            params = with_values(sc, args.batch, random_values(args.batch))
            batch = best_of(lambda params=params: simulate(params), repeat=1)
            print(f"  allocation {rule:<12}: run {1000 * central:7.1f} ms, with band ({args.draws} draws) "
                  f"{banded:6.2f} s; {args.batch:,} random scenarios {batch:6.2f} s "
                  f"({1e6 * batch / args.batch:6.0f} us per scenario)")
        for strategy in STRATEGIES:
            sc = base.with_overrides({"stockpile.national.strategy": strategy})
            simulator.run(sc, keep_sector_paths=False, draws=0)
            central = best_of(lambda sc=sc: simulator.run(sc, keep_sector_paths=False, draws=0))
            print(f"  release {strategy:<20}: run {1000 * central:7.1f} ms")
    sc = simulator.load_scenario(overrides={"stockpile.national.max_release_share_per_month": 1.0})
    over = {"restriction.duration_months": [3, 6, 12]}
    t = best_of(lambda: simulator.optimize_stockpile(sc, 0.1, over=over), 1)
    print(f"optimize_stockpile, 3 durations (grid of 49 + brentq): {t:.2f} s")
    t = best_of(lambda: simulator.optimize_stockpile(sc, 0.1, over=over, draws=args.draws), 1)
    print(f"  with the band of the answer ({args.draws} draws x 49 sizes per duration): {t:.2f} s")


if __name__ == "__main__":
    main()
