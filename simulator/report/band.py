"""One adapter for uncertainty bands: :func:`band_of`.

Every number the report and the explorer show is an estimate with a band.
The band comes from one of two places, in this order:

1. **Posterior bands of the run**, when :func:`simulator.run` provides them
   (summary keys ``gdp_loss_pct_p05``/``_p95``, ``gdp_loss_jpy_bn_p05``/``_p95``,
   and ``*_p05``/``*_p95`` columns in ``economy_monthly`` and ``sectors``).
   They replace the Monte Carlo band for exactly the quantities they cover.
2. **A Monte Carlo band** (5–95 % of ``n`` seeded draws of
   :func:`simulator.sample`) over the scenario's ``[uncertainty]`` table or, when
   it has none, over the distributions of the bundled
   ``japan-one-year-uncertain.toml``.

The distributions are centred on the scenario they are drawn around. A key
whose current value differs from its distribution's centre (a scenario that
sets 180 days of stockpile, or an explorer slider) gets its distribution
*re-centred*: scaled by value / centre (shifted when the centre is 0),
clipped to the key's allowed range. A key set to 0 is held at 0. Without
this, a 180-day stockpile would be drawn from 0-60 days and the band would
not contain the scenario's own value.

Only the public API is used: :func:`simulator.run`, :func:`simulator.sample`,
:meth:`Scenario.get` and :meth:`Scenario.with_overrides`.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import ScenarioError

#: Default number of Monte Carlo draws and seed (the band is reproducible).
DEFAULT_DRAWS = 200
DEFAULT_SEED = 0
#: Percentiles of the band.
LOW_Q, HIGH_Q = 5.0, 95.0
UNCERTAIN_FILE = "japan-one-year-uncertain.toml"
_LEAD_NORMAL = "restriction.lead_time_normal_months"
_LEAD_RESTRICTED = "restriction.lead_time_restricted_months"
#: Monthly variables drawn for the figures.
_MONTHLY_VARIABLES = ["gdp_loss_jpy_bn", "corporate_stock_t", "national_stock_t", "demand_baseline_t",
                      "shortage_share"]


@dataclass(frozen=True)
class Interval:
    """A central estimate and its band (same unit).

    ``central`` is the scenario's own run; ``low``/``high`` the 5th/95th
    percentiles. For event times (first shortage, worst month) ``share_none``
    is the share of draws in which the event never happens; ``low``/``high``
    are then percentiles over the draws in which it does.
    """

    central: float | None
    low: float | None
    high: float | None
    share_none: float = 0.0

    @property
    def has_band(self) -> bool:
        return self.low is not None and self.high is not None


@dataclass
class Band:
    """Bands for one scenario (see the module docstring).

    Attributes
    ----------
    source : str
        ``"monte_carlo"`` or ``"posterior+monte_carlo"`` (posterior bands for
        the GDP figures, Monte Carlo for the rest).
    label : str
        Plain words for a caption, e.g. "5–95 % of 200 Monte Carlo draws".
    origin : str
        Where the distributions came from.
    metrics : dict
        ``gdp_loss_pct`` (% of annual GDP), ``gdp_loss_jpy_bn`` (billion yen),
        ``peak_monthly_gdp_loss_jpy_bn``, ``peak_month`` (month index),
        ``<material>_first_shortage_month`` -> :class:`Interval`.
    economy : pandas.DataFrame
        ``month, date, gdp_loss_jpy_bn, gdp_loss_jpy_bn_p05, gdp_loss_jpy_bn_p95``.
    materials : pandas.DataFrame
        ``month, date, material, stock_months(_p05, _p95), shortage_pct(_p05, _p95)``:
        corporate + national stock in months of baseline demand, shortfall in % of demand.
    sectors : pandas.DataFrame
        ``code, name, gdp_loss_jpy_bn, gdp_loss_jpy_bn_p05, gdp_loss_jpy_bn_p95``, largest first
        (band columns NaN when no sector band was computed).
    draws : pandas.DataFrame or None
        The Monte Carlo summary frame (one row per draw), for paired differences.
    distributions : dict
        Dotted key -> distribution (as dicts) actually drawn.
    held : list of str
        Keys of the source distributions held at the scenario's value, with why.
    """

    source: str
    label: str
    origin: str
    n: int
    seed: int
    metrics: dict[str, Interval]
    economy: Any
    materials: Any
    sectors: Any
    draws: Any = None
    distributions: dict[str, dict] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    result: Any = None


# --------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def bundled_distributions() -> tuple[dict[str, dict], str]:
    """The ``[uncertainty]`` table of the bundled ``japan-one-year-uncertain.toml``.

    Looked up installed with the package (``simulator/scenarios/``), then in a
    source checkout (``scenarios/``), then in the copy shipped with this
    package (``simulator/report/default_uncertainty.toml``, kept identical by
    a test). Returns (distributions, where they were found).
    """
    candidates = [
        Path(str(resources.files("simulator") / "scenarios" / UNCERTAIN_FILE)),
        Path(__file__).resolve().parents[2] / "scenarios" / UNCERTAIN_FILE,
        Path(str(resources.files("simulator.report") / "default_uncertainty.toml")),
    ]
    for path in candidates:
        if path.is_file():
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("uncertainty", {})
            if table:
                return {k: dict(v) for k, v in table.items()}, UNCERTAIN_FILE
    raise ScenarioError(f"cannot find the bundled distributions ({UNCERTAIN_FILE})", key="uncertainty")


def centre(dist: dict) -> float:
    """The value a distribution is centred on (mode, midpoint or mean)."""
    kind = dist["dist"]
    if kind == "triangular":
        return float(dist["mode"])
    if kind == "uniform":
        return 0.5 * (float(dist["low"]) + float(dist["high"]))
    return float(dist["mean"])


def field_bounds(scenario, key: str) -> tuple[float, float]:
    """Allowed range [low, high] of a numeric dotted key, from the scenario's schema."""
    model: Any = type(scenario)
    parts = key.split(".")
    lo, hi = -math.inf, math.inf
    i = 0
    while i < len(parts):
        info = model.model_fields.get(parts[i])
        if info is None:
            return lo, hi
        ann = info.annotation
        if i == len(parts) - 1:
            for meta in info.metadata:
                for attr, side in (("ge", "lo"), ("gt", "lo"), ("le", "hi"), ("lt", "hi")):
                    v = getattr(meta, attr, None)
                    if v is not None:
                        if side == "lo":
                            lo = max(lo, float(v) if attr == "ge" else float(np.nextafter(v, math.inf)))
                        else:
                            hi = min(hi, float(v) if attr == "le" else float(np.nextafter(v, -math.inf)))
            return lo, hi
        if getattr(ann, "__origin__", None) is dict:      # materials.<id>.<field>
            model = ann.__args__[1]
            i += 2
            continue
        model = ann
        i += 1
    return lo, hi


def recentred(scenario, dists: dict[str, dict]) -> tuple[dict[str, dict], list[str]]:
    """Distributions re-centred on the scenario's values (see module docstring).

    Returns (distributions to draw, notes on keys held at the scenario's value).
    """
    out: dict[str, dict] = {}
    held: list[str] = []
    for key, dist in dists.items():
        d = {k: v for k, v in dict(dist).items() if v is not None}
        try:
            value = float(scenario.get(key))
        except (ScenarioError, TypeError, ValueError):
            held.append(f"{key} (not a number in this scenario)")
            continue
        c = centre(d)
        if not math.isclose(value, c, rel_tol=1e-9, abs_tol=1e-12):
            if value == 0.0:
                held.append(f"{key} (set to 0)")
                continue
            if c != 0.0 and (value > 0) == (c > 0):
                f = value / c
                for k in ("low", "high", "mode", "mean", "sd"):
                    if k in d:
                        d[k] = float(d[k]) * f
            else:
                shift = value - c
                for k in ("low", "high", "mode", "mean"):
                    if k in d:
                        d[k] = float(d[k]) + shift
        lo, hi = field_bounds(scenario, key)
        if d["dist"] in ("uniform", "triangular"):
            d["low"], d["high"] = max(float(d["low"]), lo), min(float(d["high"]), hi)
            if "mode" in d:
                d["mode"] = min(max(float(d["mode"]), d["low"]), d["high"])
            if not d["low"] < d["high"]:
                held.append(f"{key} (its range collapses at this value)")
                continue
        out[key] = d
    _keep_lead_time_order(scenario, out, held)
    return out, held


def _keep_lead_time_order(scenario, dists: dict, held: list) -> None:
    """Keep every draw's restricted lead time at or above the normal one."""
    normal, restricted = dists.get(_LEAD_NORMAL), dists.get(_LEAD_RESTRICTED)
    r_low = float(scenario.restriction.lead_time_restricted_months)
    if restricted is not None:
        r_low = _support(restricted)[0]
    n_high = float(scenario.restriction.lead_time_normal_months)
    if normal is not None:
        n_high = _support(normal)[1]
    if n_high <= r_low:
        return
    # clip the normal lead's range below the restricted one's (or drop it)
    if normal is not None and normal["dist"] in ("uniform", "triangular") and normal["low"] < r_low:
        normal["high"] = r_low
        if "mode" in normal:
            normal["mode"] = min(normal["mode"], r_low)
        return
    if normal is not None:
        dists.pop(_LEAD_NORMAL)
        held.append(f"{_LEAD_NORMAL} (its range would exceed the restricted lead time)")
    if restricted is not None and _support(restricted)[0] < float(scenario.restriction.lead_time_normal_months):
        dists.pop(_LEAD_RESTRICTED)
        held.append(f"{_LEAD_RESTRICTED} (its range would fall below the normal lead time)")


def _support(d: dict) -> tuple[float, float]:
    if d["dist"] in ("uniform", "triangular"):
        return float(d["low"]), float(d["high"])
    return -math.inf, math.inf


def distributions_for(scenario) -> tuple[dict[str, dict], list[str], str]:
    """(distributions to draw, held keys, origin in words) for a scenario."""
    if scenario.uncertainty:
        source = {k: v.model_dump(exclude_none=True) for k, v in scenario.uncertainty.items()}
        origin = "the scenario's [uncertainty] table"
    else:
        source, name = bundled_distributions()
        origin = f"the distributions of the bundled {name}"
    dists, held = recentred(scenario, source)
    if any(not math.isclose(centre(dists[k]), centre(source[k]), rel_tol=1e-9, abs_tol=1e-12) for k in dists):
        origin += ", re-centred on this scenario's values"
    return dists, held, origin


# --------------------------------------------------------------------------
# The adapter
# --------------------------------------------------------------------------

def band_of(scenario, result=None, n: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED,
            sector_draws: int = 40, exact_timing: bool = True) -> Band:
    """Central values and 5–95 % bands for one scenario.

    Parameters
    ----------
    scenario : Scenario
    result : Result, optional
        ``simulator.run(scenario)`` if already computed.
    n, seed : int
        Monte Carlo draws (one vectorised batch) and seed.
    sector_draws : int
        Draws re-run one by one for the sector band (each a full run);
        0 skips the sector band (NaN columns).
    exact_timing : bool
        True: shortage starts of each draw to the engine's step (two batch runs).
        False: to the month, from one batch run (the explorer's choice).

    Returns
    -------
    Band
    """
    from simulator.core.runner import run

    if result is None:
        result = run(scenario)
    dists, held, origin = distributions_for(scenario)
    draws, monthly, dists = _sample(scenario, dists, held, n, seed, exact_timing)
    mats = list(scenario.materials)

    metrics = _mc_metrics(result, draws, mats)
    economy = _economy_band(result, monthly)
    materials = _material_band(result, monthly)
    sectors = sector_band(scenario, result, draws, sector_draws)
    source = "monte_carlo"
    label = f"5–95 % of {n} Monte Carlo draws"

    # posterior bands of the run take precedence where they exist
    s = result.summary
    posterior = [k for k in ("gdp_loss_pct", "gdp_loss_jpy_bn") if f"{k}_p05" in s and f"{k}_p95" in s]
    for k in posterior:
        metrics[k] = Interval(s[k], s[f"{k}_p05"], s[f"{k}_p95"])
    em = result.economy_monthly
    if {"gdp_loss_jpy_bn_p05", "gdp_loss_jpy_bn_p95"} <= set(em.columns):
        economy["gdp_loss_jpy_bn_p05"] = em["gdp_loss_jpy_bn_p05"].to_numpy()
        economy["gdp_loss_jpy_bn_p95"] = em["gdp_loss_jpy_bn_p95"].to_numpy()
    sec = result.sectors
    if {"gdp_loss_jpy_bn_p05", "gdp_loss_jpy_bn_p95"} <= set(sec.columns):
        sectors = sec[["code", "name", "gdp_loss_jpy_bn", "gdp_loss_jpy_bn_p05", "gdp_loss_jpy_bn_p95"]].copy()
    if posterior:
        source = "posterior+monte_carlo"
        label = (f"5–95 % posterior band for GDP loss; 5–95 % of {n} Monte Carlo draws for material timing "
                 "and stocks")
    return Band(source=source, label=label, origin=origin, n=n, seed=seed, metrics=metrics, economy=economy,
                materials=materials, sectors=sectors, draws=draws, distributions=dists, held=held, result=result)


def _sample(scenario, dists, held, n, seed, exact_timing: bool = True):
    """(per-draw summary frame, monthly frame, distributions used) of ``n`` draws.

    Keys whose draws break a rule of the schema are held at the scenario's
    value. With ``exact_timing=False`` the engine runs once (monthly frame) and
    the per-draw metrics are derived from it: shortage starts are then whole
    months instead of weeks, at half the cost.
    """
    from simulator.analysis.sweep import sample

    dists = dict(dists)
    for _ in range(len(dists) + 1):
        if not dists:
            return None, None, {}
        try:
            monthly = sample(scenario, n=n, seed=seed, distributions=dists, monthly=_MONTHLY_VARIABLES)
            if exact_timing:
                draws = sample(scenario, n=n, seed=seed, distributions=dists)
            else:
                draws = _draws_from_monthly(scenario, monthly, n)
            return draws, monthly, dists
        except ScenarioError as exc:
            key = (exc.key or "").removeprefix("uncertainty.")
            if key not in dists:
                raise
            dists.pop(key)
            held.append(f"{key} ({exc.message})")
    return None, None, {}


def _draws_from_monthly(scenario, monthly, n: int):
    """Per-draw summary metrics computed from the monthly frame (one engine run fewer)."""
    import pandas as pd

    keys = list(monthly.attrs.get("keys", []))
    H = scenario.horizon_months
    mats = list(scenario.materials)
    loss = _cube(monthly, "gdp_loss_jpy_bn", ["japan"], H)[:, 0, :]                  # (n, H)
    first_rows = monthly.drop_duplicates("scenario_id").sort_values("scenario_id")
    out = pd.DataFrame({"draw": np.arange(n)})
    for k in keys:
        out[k] = first_rows[k].to_numpy()
    gdp = out["economy.gdp_jpy_bn"].to_numpy(dtype=float) if "economy.gdp_jpy_bn" in out else \
        float(scenario.economy.gdp_jpy_bn)
    total = loss.sum(axis=1)
    peak = loss.max(axis=1)
    out["gdp_loss_pct"] = 100.0 * total / gdp
    out["gdp_loss_jpy_bn"] = total
    out["peak_monthly_gdp_loss_jpy_bn"] = peak
    out["peak_monthly_gdp_loss_pct_of_month"] = 100.0 * peak / (gdp / 12.0)
    out["peak_month"] = np.where(peak > 0, loss.argmax(axis=1).astype(float), np.nan)
    short = _cube(monthly, "shortage_share", mats, H) > 0                             # (n, M, H)
    first = np.where(short.any(axis=2), short.argmax(axis=2).astype(float), np.nan)  # (n, M)
    for j, m in enumerate(mats):
        out[f"{m}_first_shortage_month"] = first[:, j]
    out["first_shortage_month"] = np.nanmin(np.where(np.isnan(first), np.inf, first), axis=1)
    out.loc[~np.isfinite(out["first_shortage_month"]), "first_shortage_month"] = np.nan
    out.attrs.update(monthly.attrs)
    return out


def _pct(x: np.ndarray, q: float) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if len(x) else None


def _mc_metrics(result, draws, mats) -> dict[str, Interval]:
    s = result.summary
    keys = ["gdp_loss_pct", "gdp_loss_jpy_bn", "peak_monthly_gdp_loss_jpy_bn",
            "peak_monthly_gdp_loss_pct_of_month", "peak_month", "first_shortage_month"]
    keys += [f"{m}_first_shortage_month" for m in mats]
    out = {}
    for k in keys:
        central = s.get(k)
        if draws is None or k not in draws.columns:
            out[k] = Interval(central, None, None)
            continue
        x = draws[k].to_numpy(dtype=float)
        none = float(np.mean(~np.isfinite(x))) if len(x) else 0.0
        out[k] = Interval(central, _pct(x, LOW_Q), _pct(x, HIGH_Q), share_none=none)
    return out


def _cube(monthly, variable: str, items: list[str], horizon: int) -> np.ndarray:
    """One monthly variable as an array (draw, item, month), filled by index (no pivots)."""
    var = monthly["variable"].to_numpy()
    sel = var == variable
    sid = monthly["scenario_id"].to_numpy()[sel]
    month = monthly["month"].to_numpy()[sel]
    item = monthly["item"].to_numpy()[sel]
    pos = {m: j for j, m in enumerate(items)}
    j = np.fromiter((pos.get(x, -1) for x in item), dtype=int, count=len(item))
    out = np.full((int(sid.max()) + 1 if len(sid) else 0, len(items), horizon), np.nan)
    ok = j >= 0
    out[sid[ok], j[ok], month[ok]] = monthly["value"].to_numpy(dtype=float)[sel][ok]
    return out


def _economy_band(result, monthly):
    em = result.economy_monthly[["month", "date", "gdp_loss_jpy_bn"]].copy()
    if monthly is None:
        em["gdp_loss_jpy_bn_p05"] = em["gdp_loss_jpy_bn_p95"] = np.nan
        return em
    cube = _cube(monthly, "gdp_loss_jpy_bn", ["japan"], len(em))[:, 0, :]
    em["gdp_loss_jpy_bn_p05"] = np.percentile(cube, LOW_Q, axis=0)
    em["gdp_loss_jpy_bn_p95"] = np.percentile(cube, HIGH_Q, axis=0)
    return em


def _material_band(result, monthly):
    mm = result.materials_monthly
    out = mm[["month", "date", "material"]].copy()
    base = mm["demand_baseline_t"].to_numpy(dtype=float)
    out["stock_months"] = (mm["corporate_stock_t"] + mm["national_stock_t"]).to_numpy() / base
    out["shortage_pct"] = 100.0 * mm["shortage_share"].to_numpy(dtype=float)
    for c in ("stock_months", "shortage_pct"):
        out[f"{c}_p05"] = out[f"{c}_p95"] = np.nan
    if monthly is None:
        return out
    mats = list(dict.fromkeys(mm["material"]))
    H = int(mm["month"].max()) + 1
    stock = (_cube(monthly, "corporate_stock_t", mats, H) + _cube(monthly, "national_stock_t", mats, H)) \
        / _cube(monthly, "demand_baseline_t", mats, H)
    short = 100.0 * _cube(monthly, "shortage_share", mats, H)
    j = np.array([mats.index(m) for m in mm["material"]])
    k = mm["month"].to_numpy(dtype=int)
    for name, cube in (("stock_months", stock), ("shortage_pct", short)):
        q = np.percentile(cube, [LOW_Q, HIGH_Q], axis=0)          # (2, M, H)
        out[f"{name}_p05"], out[f"{name}_p95"] = q[0][j, k], q[1][j, k]
    return out


def sector_band(scenario, result, draws, k: int):
    """Per-sector band (``code, name, gdp_loss_jpy_bn`` and ``_p05``/``_p95``) from the first ``k``
    draws of a Monte Carlo frame (``Band.draws``), each re-run in full (~30 ms a run)."""
    from simulator.core.runner import run

    sec = result.sectors[["code", "name", "gdp_loss_jpy_bn"]].copy()
    sec["gdp_loss_jpy_bn_p05"] = sec["gdp_loss_jpy_bn_p95"] = np.nan
    if draws is None or k <= 0:
        return sec
    keys = list(draws.attrs.get("keys", []))
    losses = []
    for row in draws[keys].head(k).to_dict("records"):
        values = {key: float(v) for key, v in row.items()}
        try:
            r = run(scenario.with_overrides(values), keep_sector_paths=False)
        except ScenarioError:
            continue
        losses.append(r.sectors.set_index("code")["gdp_loss_jpy_bn"])
    if not losses:
        return sec
    import pandas as pd

    wide = pd.concat(losses, axis=1).reindex(sec["code"]).to_numpy(dtype=float)
    sec["gdp_loss_jpy_bn_p05"] = np.percentile(wide, LOW_Q, axis=1)
    sec["gdp_loss_jpy_bn_p95"] = np.percentile(wide, HIGH_Q, axis=1)
    return sec


def paired_change(band: Band, other: Band, metric: str = "gdp_loss_pct") -> Interval:
    """Change of a metric from ``band`` to ``other`` (other - band), with a band
    from the paired draws (same seed, same uniform numbers per key)."""
    a, b = band.metrics[metric], other.metrics[metric]
    central = None if a.central is None or b.central is None else b.central - a.central
    if band.draws is None or other.draws is None or len(band.draws) != len(other.draws):
        return Interval(central, None, None)
    d = other.draws[metric].to_numpy(dtype=float) - band.draws[metric].to_numpy(dtype=float)
    return Interval(central, _pct(d, LOW_Q), _pct(d, HIGH_Q))
