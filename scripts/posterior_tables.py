"""Print the calibration tables of docs/validation.md (markdown) from the shipped posterior.

Run: ``python scripts/posterior_tables.py`` (after ``resim calibrate --posterior``;
set ``RESIM_POSTERIOR=DIR`` to read another posterior).
Reads ``simulator/data/posterior.json`` (fit, identification, leave-one-out) and
runs the default scenario's band drivers (first-order indices, value of information).

Tables, in order: the evidence (targets and their observation models), the fit,
the leave-one-target-out check, what the evidence pins down, the band drivers.
"""

from __future__ import annotations

import math

import numpy as np

import simulator
from simulator.analysis.drivers import band_drivers
from simulator.analysis.posterior import load_evidence
from simulator.io.posterior import load_posterior

#: Unit of each target metric (the fit tables give it beside the numbers).
UNITS = {
    "gdp_loss_pct": "% of GDP",
    "china_arrivals_month2_ratio": "× September",
    "china_arrivals_month3_ratio": "× September",
    "months_to_first_group_shortage": "months",
    "light_ree_peak_shortage_share": "share of demand",
    "full_to_partial_18_months_ratio": "ratio",
}


def _g(x: float, d: int = 3) -> str:
    """``d`` significant digits, never in exponent notation; thousands with separators."""
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    out = np.format_float_positional(x, precision=d, unique=False, fractional=False, trim="-")
    return out.replace("-", "−")


def _signed(x: float) -> str:
    """'+0.02', '−0.24', '0.00' (no sign on a value that rounds to zero)."""
    t = f"{abs(x):.2f}"
    return t if float(t) == 0 else ("+" if x > 0 else "−") + t


def _q(lo: float, mid: float, hi: float) -> str:
    """'lo–mid–hi' with 3 significant digits, or fixed decimals when 3 digits would hide a spread."""
    if lo != hi and _g(lo) == _g(hi):
        k = 3
        while k < 8 and f"{lo:.{k}f}" == f"{hi:.{k}f}":
            k += 1
        return "–".join(f"{x:.{k}f}" for x in (lo, mid, hi))
    return f"{_g(lo)}–{_g(mid)}–{_g(hi)}"


def _observation(t) -> str:
    unit = UNITS.get(t.metric, "")
    if t.kind == "lognormal":
        return (f"lognormal around {t.value:g} {unit}, sd of the log {t.sd_log:g} "
                f"(a factor of {math.exp(t.sd_log):.2f} either way)")
    if t.kind == "normal":
        return f"normal, {t.value:g} ± {t.sd:g} {unit} (1 sd)"
    return f"below {t.value:g} {unit}: likelihood Φ(({t.value:g} − model) / {t.scale:g})"


def _dist(d) -> str:
    f = d.model_dump(exclude_none=True)
    kind = f.pop("dist")
    return f"{kind} " + ", ".join(f"{k} {v:g}" for k, v in f.items() if isinstance(v, (int, float)))


def main() -> None:
    _, info = load_posterior()
    print(f"Prior draws {info['n_prior']:,}, posterior draws {info['n_draws']:,}, seed {info['seed']}, "
          f"effective sample size {info['effective_sample_size']:,.0f}, resim {info['resim_version']}.\n")

    targets = {t.id: t for t in load_evidence()}
    print("The evidence (`simulator/data/evidence.toml`):\n")
    print("| target | what | source | observation model and uncertainty | scenario; model output (unit) |")
    print("|---|---|---|---|---|")
    for tid, t in targets.items():
        reading = "; ".join(f"`{k}` {_dist(d)}" for k, d in t.reading.items())
        obs = _observation(t) + (f"; drawn with each draw: {reading}" if reading else "")
        output = f"`{t.scenario}`; `{t.metric}` ({UNITS.get(t.metric, '')})"
        print(f"| {tid} | {t.what} | {t.source} | {obs} | {output} |")
    print()

    print("Fit (90 % intervals: 5–50–95 % of the model output over the prior and the posterior draws):\n")
    print("| target | unit | evidence (row's unit) | observation model | prior 5–50–95 % (row's unit) "
          "| posterior 5–50–95 % (row's unit) | consistent |")
    print("|---|---|---:|---|---|---|:-:|")
    for r in info["fit"]:
        print(f"| {r['target']} | {UNITS.get(r['metric'], '')} | {_g(r['evidence'])} | {r['kind']} | "
              f"{_q(r['prior_p05'], r['prior_p50'], r['prior_p95'])} | "
              f"{_q(r['posterior_p05'], r['posterior_p50'], r['posterior_p95'])} | "
              f"{'yes' if r['consistent'] else '**no**'} |")
    print()

    print("Leave one target out (the posterior without the target, and what it predicts for it):\n")
    print("| held-out target | unit | evidence (row's unit) "
          "| predicted without it, 5–50–95 % (row's unit) | consistent |")
    print("|---|---|---:|---|:-:|")
    for h in info["leave_one_out"]:
        print(f"| {h['target']} | {UNITS.get(h['metric'], '')} | {_g(h['evidence'])} | "
              f"{_q(h['posterior_p05'], h['posterior_p50'], h['posterior_p95'])} | "
              f"{'yes' if h['held_out_consistent'] else '**no**'} |")
    print()

    default = simulator.load_scenario()
    print("What the evidence pins down (spread ratio = posterior / prior 90 % width; "
          "median shift = posterior − prior median, in prior 90 % widths):\n")
    print("| parameter | default (parameter's unit) | prior 5–50–95 % (parameter's unit) "
          "| posterior 5–50–95 % (parameter's unit) | spread ratio (posterior / prior width) "
          "| median shift (prior 90 % widths) | verdict |")
    print("|---|---:|---|---|---:|---:|---|")
    for r in info["identification"]:
        print(f"| `{r['parameter']}` | {_g(float(default.get(r['parameter'])))} | "
              f"{_q(r['prior_p05'], r['prior_p50'], r['prior_p95'])} | "
              f"{_q(r['posterior_p05'], r['posterior_p50'], r['posterior_p95'])} | "
              f"{r['spread_ratio']:.2f} | {_signed(r['median_shift'])} | {r['verdict']} |")
    print()

    df = band_drivers(simulator.load_scenario())
    print(f"Band drivers of the default scenario's `{df.attrs['metric']}` ({df.attrs['draws']:,} posterior "
          f"draws; sum of first-order indices {df.attrs['sum_first_order']:.2f}):\n")
    print("| parameter | first-order index (share of the variance) | band narrows by, if known exactly (%) "
          "| range in the draws, 5–95 % (parameter's unit) |")
    print("|---|---:|---:|---|")
    for r in df.itertuples():
        print(f"| `{r.parameter}` | {r.first_order:.2f} | {r.band_narrowing_pct:.0f} | "
              f"{_g(r.low)}–{_g(r.high)} |")


if __name__ == "__main__":
    main()
