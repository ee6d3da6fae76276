"""Print the calibration tables of docs/validation.md (markdown) from the shipped posterior.

Run: ``python scripts/posterior_tables.py`` (after ``resim calibrate --posterior``).
Reads ``simulator/data/posterior.json`` (fit, identification, leave-one-out) and
runs the default scenario's band drivers (first-order indices, value of information).
"""

from __future__ import annotations

import simulator
from simulator.analysis.drivers import band_drivers
from simulator.io.posterior import load_posterior


def _g(x: float, d: int = 3) -> str:
    return f"{x:.{d}g}" if abs(x) < 1000 else f"{x:,.0f}"


def main() -> None:
    _, info = load_posterior()
    print(f"Prior draws {info['n_prior']:,}, posterior draws {info['n_draws']:,}, seed {info['seed']}, "
          f"effective sample size {info['effective_sample_size']:,.0f}, resim {info['resim_version']}.\n")
    print("| target | metric | evidence | prior 5–50–95 % | posterior 5–50–95 % | consistent | held out: 5–50–95 % | held out consistent |")
    print("|---|---|---:|---|---|:-:|---|:-:|")
    loo = {r["target"]: r for r in info["leave_one_out"]}
    for r in info["fit"]:
        h = loo[r["target"]]
        print(f"| {r['target']} | `{r['metric']}` | {_g(r['evidence'])} ({r['kind']}) | "
              f"{_g(r['prior_p05'])}–{_g(r['prior_p50'])}–{_g(r['prior_p95'])} | "
              f"{_g(r['posterior_p05'])}–{_g(r['posterior_p50'])}–{_g(r['posterior_p95'])} | "
              f"{'yes' if r['consistent'] else '**no**'} | "
              f"{_g(h['posterior_p05'])}–{_g(h['posterior_p50'])}–{_g(h['posterior_p95'])} | "
              f"{'yes' if h['held_out_consistent'] else '**no**'} |")
    print()
    print("| parameter | prior 5–50–95 % | posterior 5–50–95 % | spread ratio | verdict |")
    print("|---|---|---|---:|---|")
    for r in info["identification"]:
        print(f"| `{r['parameter']}` | {_g(r['prior_p05'])}–{_g(r['prior_p50'])}–{_g(r['prior_p95'])} | "
              f"{_g(r['posterior_p05'])}–{_g(r['posterior_p50'])}–{_g(r['posterior_p95'])} | "
              f"{r['spread_ratio']:.2f} | {r['verdict']} |")
    print()
    df = band_drivers(simulator.load_scenario())
    print(f"Band drivers of the default scenario ({df.attrs['draws']:,} draws; sum of first-order "
          f"indices {df.attrs['sum_first_order']:.2f}):\n")
    print("| parameter | first-order index | band narrows by, if known exactly | range in the draws (5–95 %) |")
    print("|---|---:|---:|---|")
    for r in df.itertuples():
        print(f"| `{r.parameter}` | {r.first_order:.2f} | {r.band_narrowing_pct:.0f} % | {_g(r.low)}–{_g(r.high)} |")


if __name__ == "__main__":
    main()
