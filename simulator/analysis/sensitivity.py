"""One-at-a-time sensitivity: which assumptions move the GDP loss.

Each *factor* is one uncertain assumption swung from the low to the high
end of its documented range (``docs/model.md`` section 9, the domain
facts and the use table's low/high columns), all else held at the
scenario's values. The result is a tidy table, one row per factor,
sorted by the size of the swing, and a tornado chart.

Elasticities are local: the arc elasticity of the metric with respect to
a common proportional change of the factor's keys by +-5 % around the
scenario's values (d ln metric / d ln x).

All numeric swings run as one batch (:func:`simulator.core.params.with_values`
and :func:`simulator.core.executor.run_summary`); structural keys
(``economy.criticality``) run as separate scenarios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from simulator.errors import ScenarioError
from simulator.io.scenario import Scenario

#: Proportional step of the arc elasticity (+-5 %: local, yet larger than the
#: weekly-step kinks of the material layer).
ELASTICITY_STEP = 0.05

#: Documented China-share ranges per material (docs/model.md A2; DF 2.7-2.12).
CHINA_SHARE_RANGES = {
    "ndfeb": (0.4, 0.8, "DF 2.8, 2.9, 2.15: 60-80 % overall; Lynas supplies much of the NdPr (model.md A2)"),
    "dytb": (0.8, 1.0, "DF 2.12: heavy REE 'almost 100 %', '>90 %' (model.md A2)"),
    "celay": (0.7, 0.99, "DF 2.7, 2.10: Y 98.7 %, Ce 83.5 %, all REE 76 % (model.md A2)"),
}


@dataclass(frozen=True)
class Factor:
    """An uncertain assumption and the values of its keys at the two ends of its range.

    Parameters
    ----------
    name : str
        Row label.
    low, high : dict
        Dotted key -> value at the low and the high end.
    source : str
        Where the range comes from.
    range_label : str
        Short text for the range (default: built from the values).
    elasticity_keys : tuple of str, optional
        Numeric keys scaled together for the elasticity (default: the
        numeric keys of ``low``).
    """

    name: str
    low: Mapping[str, Any]
    high: Mapping[str, Any]
    source: str = ""
    range_label: str = ""
    elasticity_keys: tuple = field(default=())

    def label(self) -> str:
        """The factor's range in words: ``range_label``, else built from the values."""
        if self.range_label:
            return self.range_label
        keys = list(self.low)
        if len(keys) == 1:
            unit = next((f" {u}" for suffix, u in (("_months", "months"), ("_days", "days"), ("_t", "t"))
                         if keys[0].endswith(suffix)), "")
            return f"{_fmt(self.low[keys[0]])} to {_fmt(self.high[keys[0]])}{unit}"
        return "; ".join(f"{k.split('.')[-2] if k.startswith('materials.') else k} "
                         f"{_fmt(self.low[k])}-{_fmt(self.high[k])}" for k in keys)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, str):
        return Path(v).name
    return str(v)


def default_factors(scenario: Scenario) -> list[Factor]:
    """The documented uncertain assumptions, with ranges, for a scenario's materials."""
    s = scenario
    mats = list(s.materials)
    r = s.restriction
    out = [
        Factor("Corporate stock cover", {"inventory.cover_scale": 0.5}, {"inventory.cover_scale": 1.5},
               "model.md A3; DF 3.6 (about 3 months), 3.8 (about 2), 3.11 (carmakers 4-6 weeks)",
               "x0.5 to x1.5 of the cover distribution"),
        Factor("National stockpile", {"stockpile.national.cover_days": 0.0},
               {"stockpile.national.cover_days": 60.0},
               "model.md A4; DF 3.1-3.4 (60-day target, none listed in 2020, ~50 % filled)",
               "0 to 60 days"),
        Factor("Normal lead time", {"restriction.lead_time_normal_months": 1.0},
               {"restriction.lead_time_normal_months": min(2.0, r.lead_time_restricted_months)},
               "DF 4.3, 4.4 (usual 1-2 months)"),
        Factor("Restricted lead time",
               {"restriction.lead_time_restricted_months": max(3.0, r.lead_time_normal_months)},
               {"restriction.lead_time_restricted_months": 4.5},
               "model.md A5; DF 4.1-4.4 (2 -> 4 months; 45 working days of review)"),
    ]
    for m in mats:
        if m in CHINA_SHARE_RANGES:
            lo, hi, src = CHINA_SHARE_RANGES[m]
            key = f"materials.{m}.china_share"
            out.append(Factor(f"China share, {m}", {key: lo}, {key: hi}, src))
    out += [
        Factor("Application criticality", {"economy.criticality_scale": 0.6},
               {"economy.criticality_scale": 1.4},
               "model.md A9; data/criticality.csv (each row's low-high range is about +-40 %)",
               "x0.6 to x1.4 of every application's criticality"),
        Factor("Market reallocation", {"economy.reallocation": 0.0}, {"economy.reallocation": 1.0},
               "model.md A13 (assumption; DF 6.5: Dy x10 in 2010-11, polishing substitution)",
               "0 (pro-rata) to 1 (highest bidder first)"),
        Factor("Deferred orders made up", {"recovery.deferred_scale": 0.0}, {"recovery.deferred_scale": 1.5},
               "model.md A15; data/made_to_order.csv; USE_TABLE.md sec. 11.4 (13 % in 2011, 1/3 in 2021)",
               "x0 to x1.5 of the deferred shares"),
        Factor("Restart ramp", {"recovery.ramp_months": 0.0}, {"recovery.ramp_months": 3.0},
               "model.md A14 (assumption)", "0 to 3 months"),
        Factor("Third-country leakage", {"softening.leakage_share": 0.0}, {"softening.leakage_share": 0.25},
               "data/softening.csv (DF 6.3, 2.2)", "0 to 25 % of the withheld flow"),
    ]
    sub = {f"materials.{m}.substitution_max_share": s.materials[m].substitution_max_share for m in mats}
    alt = {f"materials.{m}.alternative_capacity_share": s.materials[m].alternative_capacity_share for m in mats}
    ratio = {f"materials.{m}.china_max_ratio": None for m in mats}
    out += [
        Factor("Substitution potential", {k: 0.0 for k in sub}, {k: min(0.95, 2 * v) for k, v in sub.items()},
               "model.md A6; DF 6.7 (polishing -15 %), 8.6, 8.8 (Dy thrifting took years)",
               "x0 to x2 of each material's share"),
        Factor("Substitution ramp", {"substitution.ramp_months": 6.0}, {"substitution.ramp_months": 24.0},
               "assumption; DF 8.6 (Dy-free motor took ~4 years), 6.7", "6 to 24 months"),
        Factor("Alternative supply capacity", {k: 0.0 for k in alt}, {k: min(2.0, 2 * v) for k, v in alt.items()},
               "model.md A6; DF 2.15, 8.1, 8.2, 8.4 (Lynas; China share -22 pp in 4 years)",
               "x0 to x2 of each material's share"),
        Factor("Alternative supply ramp", {"alternative_supply.ramp_months": 6.0},
               {"alternative_supply.ramp_months": 24.0},
               "assumption; DF 8.1 (~11 months to first Dy), 8.3, 8.5 (24-36 months to on-spec)",
               "6 to 24 months"),
        Factor("Restocking time", {"inventory.restock_months": 1.0}, {"inventory.restock_months": 6.0},
               "model.md A7 (assumption)", "1 to 6 months"),
        Factor("China restock ceiling", {k: 1.2 for k in ratio}, {k: 2.0 for k in ratio},
               "model.md A8; DF 6.3 (Dec 2010 imports 1.8x September's)", "1.2x to 2x baseline"),
        Factor("Critical-input strength", {"economy.criticality": 0.0}, {"economy.criticality": 1.0},
               "model.md A10 (assumption; method: Pichler et al. 2022)", "0 to 1"),
    ]
    return out


def parse_range(text: str, scenario: Scenario) -> Factor:
    """``dotted.key=LOW:HIGH`` -> a one-key factor (``--range``)."""
    if "=" not in text or ":" not in text.split("=", 1)[1]:
        raise ScenarioError(f"--range needs dotted.key=LOW:HIGH (got {text!r})", file="--range")
    key, rng = (x.strip() for x in text.split("=", 1))
    try:
        lo, hi = (float(x) for x in rng.split(":"))
    except ValueError:
        raise ScenarioError(f"LOW:HIGH must be two numbers (got {rng!r})", file="--range", key=key) from None
    value = scenario.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f"is not a single number (it is {value!r})", file="--range", key=key)
    return Factor(key, {key: lo}, {key: hi}, "--range")


@dataclass(frozen=True)
class Sensitivity:
    """One-at-a-time swings and elasticities.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per factor, largest swing first: ``factor``, ``keys``,
        ``range``, ``source``, ``{metric}_base``, ``{metric}_at_low``,
        ``{metric}_at_high``, ``{metric}_swing`` (at high minus at low),
        ``elasticity`` (d ln metric / d ln x at the scenario's values; NaN
        where the base value or the metric is 0).
    metric : str
    base_value : float
        The metric for the scenario as given.
    scenario : Scenario
    """

    table: Any
    metric: str
    base_value: float
    scenario: Scenario


def sensitivity(scenario: Scenario, factors: Sequence[Factor] | None = None, metric: str = "gdp_loss_pct",
                elasticity_step: float = ELASTICITY_STEP, extra: Sequence[Factor] = ()) -> Sensitivity:
    """Swing each factor across its range, one at a time; elasticities at the scenario's values.

    Parameters
    ----------
    scenario : Scenario
    factors : list of Factor, optional
        Default: :func:`default_factors`.
    metric : str
        A summary metric; default ``gdp_loss_pct`` (% of one year's GDP).
    elasticity_step : float
        Proportional step of the arc elasticity.
    extra : list of Factor
        Added to (or replacing, by name) the factors.

    Returns
    -------
    Sensitivity
    """
    import pandas as pd

    if factors is None:
        factors = default_factors(scenario)
    factors = _merge_factors(list(factors), list(extra))
    factors = [_resolve(f, scenario) for f in factors]
    points: list[dict] = [{}]                     # point 0: the scenario itself
    where: list[tuple[int, ...]] = []             # per factor: low, high, elast-down, elast-up
    steps: list[tuple[float, float]] = []
    for f in factors:
        ekeys = f.elasticity_keys or tuple(k for k, v in f.low.items() if _is_number(v))
        dn, up, h_dn, h_up = _elasticity_points(scenario, ekeys, elasticity_step)
        idx = []
        for p in (dict(f.low), dict(f.high), dn, up):
            if p is None:
                idx.append(-1)
            else:
                points.append(p)
                idx.append(len(points) - 1)
        where.append(tuple(idx))
        steps.append((h_dn, h_up))
    values = _evaluate(scenario, points, metric)
    base = float(values[0])
    rows = []
    for f, (i_lo, i_hi, i_dn, i_up), (h_dn, h_up) in zip(factors, where, steps, strict=True):
        at_lo, at_hi = float(values[i_lo]), float(values[i_hi])
        if i_dn >= 0 and i_up >= 0 and base != 0 and h_dn + h_up > 0:
            el = (values[i_up] - values[i_dn]) / base / (h_up + h_dn)
        else:
            el = math.nan
        rows.append({
            "factor": f.name,
            "keys": " ".join(f.low),
            "range": f.label(),
            "base_value": _base_label(scenario, f),
            "source": f.source,
            f"{metric}_base": base,
            f"{metric}_at_low": at_lo,
            f"{metric}_at_high": at_hi,
            f"{metric}_swing": at_hi - at_lo,
            "elasticity": float(el),
        })
    table = pd.DataFrame(rows)
    order = table[f"{metric}_swing"].abs().sort_values(ascending=False, kind="stable").index
    table = table.loc[order].reset_index(drop=True)
    return Sensitivity(table=table, metric=metric, base_value=base, scenario=scenario)


def _merge_factors(factors: list[Factor], extra: list[Factor]) -> list[Factor]:
    out = list(factors)
    for e in extra:
        out = [f for f in out if f.name != e.name and set(f.low) != set(e.low)]
        out.append(e)
    return out


def _resolve(f: Factor, s: Scenario) -> Factor:
    """Fill ``None`` ends (keep the scenario's value) and check the keys exist."""
    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    for end, src in ((low, f.low), (high, f.high)):
        for k, v in src.items():
            s.get(k)   # unknown key -> ScenarioError naming it
            end[k] = s.get(k) if v is None else v
    return Factor(f.name, low, high, f.source, f.range_label, f.elasticity_keys)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _base_label(s: Scenario, f: Factor) -> str:
    vals = []
    for k in f.low:
        vals.append(_fmt(s.get(k)))
    return vals[0] if len(set(vals)) == 1 else ", ".join(vals)


def _elasticity_points(s: Scenario, keys, h: float):
    """Points scaling every key by (1 - h_dn) and (1 + h_up), inside the schema's bounds."""
    from simulator.core.params import field_bounds

    xs = {k: s.get(k) for k in keys}
    if not keys or any(not _is_number(v) for v in xs.values()) or all(v == 0 for v in xs.values()):
        return None, None, 0.0, 0.0
    h_up = h_dn = h
    for k, v in xs.items():
        if v == 0:
            continue
        ge, gt, le, lt = field_bounds(k)
        hi = le if le is not None else (lt - 1e-9 if lt is not None else math.inf)
        lo = ge if ge is not None else (gt + 1e-9 if gt is not None else -math.inf)
        h_up = min(h_up, max(0.0, hi / v - 1.0) if v > 0 else max(0.0, 1.0 - lo / v))
        h_dn = min(h_dn, max(0.0, 1.0 - lo / v) if v > 0 else max(0.0, hi / v - 1.0))
    r = s.restriction
    if "restriction.lead_time_normal_months" in keys and "restriction.lead_time_restricted_months" not in keys:
        h_up = min(h_up, r.lead_time_restricted_months / r.lead_time_normal_months - 1.0)
    if "restriction.lead_time_restricted_months" in keys and "restriction.lead_time_normal_months" not in keys:
        h_dn = min(h_dn, 1.0 - r.lead_time_normal_months / r.lead_time_restricted_months)
    dn = {k: v * (1.0 - h_dn) for k, v in xs.items()}
    up = {k: v * (1.0 + h_up) for k, v in xs.items()}
    return dn, up, h_dn, h_up


def _evaluate(s: Scenario, points: list[dict], metric: str) -> np.ndarray:
    """The metric at every point; numeric points in one batch, structural ones one by one."""
    from simulator.core.executor import run_summary
    from simulator.core.params import stack, with_values
    from simulator.core.spec import STRUCTURAL_KEYS

    out = np.full(len(points), np.nan)
    batch = [i for i, p in enumerate(points) if not any(k in STRUCTURAL_KEYS for k in p)]
    keys = sorted({k for i in batch for k in points[i]})
    arrays = {}
    for k in keys:
        col = np.full(len(batch), float(s.get(k)))
        for j, i in enumerate(batch):
            if k in points[i]:
                col[j] = float(points[i][k])
        arrays[k] = col
    summary = run_summary(with_values(s, len(batch), arrays))
    if metric not in summary:
        raise ScenarioError(f"unknown metric; choose one of: {', '.join(sorted(summary))}", key=metric)
    out[batch] = summary[metric]
    in_batch = set(batch)
    for i, p in enumerate(points):
        if i not in in_batch:
            out[i] = run_summary(stack([s.with_overrides(p)]))[metric][0]
    return out


def format_table(sens: Sensitivity) -> str:
    """The table as aligned text for the terminal."""
    m = sens.metric
    lines = [f"{sens.scenario.name or 'scenario'}: {m} = {sens.base_value:.4f} as given",
             f"{'factor':<28} {'range':<40} {'at low':>8} {'at high':>8} {'swing':>8} {'elast.':>7}"]
    for r in sens.table.itertuples(index=False):
        d = r._asdict()
        el = d["elasticity"]
        lines.append(f"{d['factor'][:28]:<28} {d['range'][:40]:<40} {d[f'{m}_at_low']:>8.4f} "
                     f"{d[f'{m}_at_high']:>8.4f} {d[f'{m}_swing']:>+8.4f} "
                     f"{'' if math.isnan(el) else f'{el:+.3f}':>7}")
    return "\n".join(lines)
