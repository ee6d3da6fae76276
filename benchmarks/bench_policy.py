"""Timings of the policy levers (issue #7); speed is measured here, never in tests.

    python benchmarks/bench_policy.py

Prints: the value_added LP per distinct scenario-month (cold cache) on both
bundled tables, a default run per allocation rule, and optimize_stockpile
for 3, 6 and 12 months.
"""

from __future__ import annotations

import time

import numpy as np

import simulator
from simulator.model import allocation
from simulator.core.spec import batch_spec


def best_of(fn, repeat: int = 3) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def main() -> None:
    rng = np.random.default_rng(0)
    rows = 64
    for table in ("mic2015_37", "mic2015_185"):
        sc = simulator.load_scenario(overrides={"economy.table": table})
        est = batch_spec(sc).economy
        avail = rng.uniform(0, 1, (rows, len(sc.materials)))
        allocation.value_added_fill(avail[:1], est.dependence, est)       # scipy import, template

        def cold():
            allocation.clear_cache()
            allocation.value_added_fill(avail, est.dependence, est)

        t = best_of(cold)
        print(f"value_added LP, {table}: {1000 * t / rows:.2f} ms per distinct month (cold cache, {rows} rows)")
        for rule in ("proportional", "value_added"):
            s = sc.with_overrides({"economy.allocation": rule})
            allocation.clear_cache()
            t = best_of(lambda: simulator.run(s, keep_sector_paths=False), repeat=1)
            print(f"  default scenario, {rule:<12}: {t:.3f} s per run")
    sc = simulator.load_scenario(overrides={"stockpile.national.max_release_share_per_month": 1.0})
    t = best_of(lambda: simulator.optimize_stockpile(sc, 0.1, over={"restriction.duration_months": [3, 6, 12]}), 1)
    print(f"optimize_stockpile, 3 durations (grid of 49 + brentq): {t:.2f} s")


if __name__ == "__main__":
    main()
