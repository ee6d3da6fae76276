"""One adapter for uncertainty bands: :func:`band_of`.

Every number the report and the explorer show is an estimate with a band.
The band is the run's own (:func:`simulator.run` with ``draws``): the
scenario's central run and ``n`` draws of the calibrated parameters'
posterior (``data/posterior.csv``; keys the scenario sets itself keep its
value), paired row by row with draws of the scenario's own ``[uncertainty]``
table when it has one, all in one engine batch (:mod:`simulator.core.bands`).
This module only reshapes that batch for pages: intervals of the headline
metrics and event times, monthly bands of GDP loss, stocks and shortfalls, and
per-sector bands.

Two scenarios banded with the same ``n`` and seed use the same posterior
rows, so the difference of a metric between them has a paired band
(:func:`paired_change`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Default number of draws and seed (the band is reproducible).
DEFAULT_DRAWS = 200
DEFAULT_SEED = 0
#: Percentiles of the band.
LOW_Q, HIGH_Q = 5.0, 95.0


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
        """Whether there is a band (both percentiles), not only a central value."""
        return self.low is not None and self.high is not None


@dataclass
class Band:
    """Bands for one scenario (see the module docstring).

    Attributes
    ----------
    source : str
        ``"posterior"`` or ``"posterior+uncertainty"`` (the scenario's own
        ``[uncertainty]`` drawn too), or ``"none"``.
    label : str
        Plain words for a caption, e.g. "5–95 % of 200 draws of the calibrated parameters".
    origin : str
        Where the distributions came from.
    metrics : dict
        ``gdp_loss_pct`` (% of annual GDP), ``gdp_loss_jpy_bn`` (billion yen),
        ``peak_monthly_gdp_loss_jpy_bn``, ``peak_month`` (month index),
        ``first_shortage_month``, ``<material>_first_shortage_month`` -> :class:`Interval`.
    economy : pandas.DataFrame
        ``month, date, gdp_loss_jpy_bn, gdp_loss_jpy_bn_p05, gdp_loss_jpy_bn_p95``.
    materials : pandas.DataFrame
        ``month, date, material, stock_months(_p05, _p95), shortage_pct(_p05, _p95)``:
        corporate + national stock in months of baseline demand, shortfall in % of demand.
    sectors : pandas.DataFrame
        ``code, name, gdp_loss_jpy_bn, gdp_loss_jpy_bn_p05, gdp_loss_jpy_bn_p95``, largest first.
    draws : pandas.DataFrame or None
        One row per draw: the varied parameters and the summary metrics.
    distributions : dict
        Dotted key -> what was drawn: ``{"dist": "posterior", "low", "median", "high"}`` (5/50/95 %
        of the draws) or the scenario's own distribution.
    held : list of str
        Calibrated keys held at the scenario's value, with why.
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


def band_of(scenario, result=None, n: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED,
            sector_draws: int | None = None, exact_timing: bool = True) -> Band:
    """Central values and 5–95 % bands for one scenario.

    Parameters
    ----------
    scenario : Scenario
    result : Result, optional
        ``simulator.run(scenario, draws=n, seed=seed)`` if already computed
        (one without a band is re-run with one).
    n, seed : int
        Draws and seed of the band.
    sector_draws, exact_timing :
        Ignored (kept for callers of the first version): sectors and event
        times are banded from the same batch, to the engine's step.

    Returns
    -------
    Band
    """
    from simulator.core.runner import run

    if result is None or not result.has_band or len(result.band_rows) != n:
        result = run(scenario, draws=n, seed=seed)
    mats = list(scenario.materials)
    metrics = _metrics(result, mats)
    economy = result.economy_monthly[["month", "date", "gdp_loss_jpy_bn"]].copy()
    sec = result.sectors
    if result.has_band:
        em = result.economy_monthly
        economy["gdp_loss_jpy_bn_p05"] = em["gdp_loss_jpy_bn_p05"].to_numpy()
        economy["gdp_loss_jpy_bn_p95"] = em["gdp_loss_jpy_bn_p95"].to_numpy()
        sectors = sec[["code", "name", "gdp_loss_jpy_bn", "gdp_loss_jpy_bn_p05", "gdp_loss_jpy_bn_p95"]].copy()
    else:
        economy["gdp_loss_jpy_bn_p05"] = economy["gdp_loss_jpy_bn_p95"] = np.nan
        sectors = sec[["code", "name", "gdp_loss_jpy_bn"]].copy()
        sectors["gdp_loss_jpy_bn_p05"] = sectors["gdp_loss_jpy_bn_p95"] = np.nan
    dists, held = _described(scenario, result)
    own = bool(scenario.uncertainty)
    source = "none" if not result.has_band else "posterior+uncertainty" if own else "posterior"
    label = (f"5–95 % of {n} draws of the calibrated parameters"
             + (" and of the scenario's [uncertainty]" if own else "")
             if result.has_band else "no band: the scenario sets every calibrated parameter itself")
    origin = ("the calibrated posterior (data/posterior.csv, docs/validation.md)"
              + (" and the scenario's [uncertainty] table" if own else ""))
    return Band(source=source, label=label, origin=origin, n=n, seed=seed, metrics=metrics, economy=economy,
                materials=_material_band(result), sectors=sectors, draws=result.draws, distributions=dists,
                held=held, result=result)


def sector_band(scenario, result, draws=None, k: int = 0):
    """Per-sector band (``code, name, gdp_loss_jpy_bn`` and ``_p05``/``_p95``) of a run with its band."""
    sec = result.sectors
    cols = ["code", "name", "gdp_loss_jpy_bn", "gdp_loss_jpy_bn_p05", "gdp_loss_jpy_bn_p95"]
    if "gdp_loss_jpy_bn_p05" in sec.columns:
        return sec[cols].copy()
    out = sec[cols[:3]].copy()
    out["gdp_loss_jpy_bn_p05"] = out["gdp_loss_jpy_bn_p95"] = np.nan
    return out


def _described(scenario, result) -> tuple[dict[str, dict], list[str]]:
    """What the band drew (posterior ranges or the scenario's distributions), and what it held."""
    dists: dict[str, dict] = {}
    held: list[str] = []
    own = {k: v.model_dump(exclude_none=True) for k, v in scenario.uncertainty.items()}
    if result.has_band:
        d = result.draws
        for key in result.band_keys:
            if key in own:
                dists[key] = own[key]
                continue
            q = np.percentile(d[key].to_numpy(float), [LOW_Q, 50.0, HIGH_Q])
            dists[key] = {"dist": "posterior", "low": float(q[0]), "median": float(q[1]), "high": float(q[2])}
    try:
        from simulator.io.posterior import load_posterior

        calibrated = load_posterior()[0]
    except Exception:  # noqa: BLE001 - a missing posterior only means nothing was held
        calibrated = {}
    for key in calibrated:
        if key in scenario.explicit_keys:
            held.append(f"{key} (set by the scenario to {_num(scenario.get(key))})")
    return dists, held


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


def _interval(x: np.ndarray, central) -> Interval:
    x = np.asarray(x, float)
    ok = x[np.isfinite(x)]
    none = float(np.mean(~np.isfinite(x))) if len(x) else 0.0
    if not len(ok):
        return Interval(central, None, None, share_none=none)
    return Interval(central, float(np.percentile(ok, LOW_Q)), float(np.percentile(ok, HIGH_Q)), share_none=none)


def _metrics(result, mats) -> dict[str, Interval]:
    from simulator.core.results import summary_arrays

    s = result.summary
    keys = ["gdp_loss_pct", "gdp_loss_jpy_bn", "peak_monthly_gdp_loss_jpy_bn",
            "peak_monthly_gdp_loss_pct_of_month", "peak_month", "first_shortage_month"]
    keys += [f"{m}_first_shortage_month" for m in mats]
    arrays = summary_arrays(result.batch) if result.has_band else {}
    out = {}
    for k in keys:
        central = s.get(k)
        if k not in arrays:
            out[k] = Interval(central, None, None)
            continue
        x = np.asarray(arrays[k], float)[result.band_rows]
        if k in ("gdp_loss_pct", "gdp_loss_jpy_bn", "peak_monthly_gdp_loss_jpy_bn"):
            # the summary's own percentiles (the same draws)
            out[k] = Interval(central, s.get(f"{k}_p05", _interval(x, central).low),
                              s.get(f"{k}_p95", _interval(x, central).high))
        else:
            out[k] = _interval(x, central)
    return out


def _material_band(result):
    mm = result.materials_monthly
    out = mm[["month", "date", "material"]].copy()
    base = mm["demand_baseline_t"].to_numpy(dtype=float)
    out["stock_months"] = (mm["corporate_stock_t"] + mm["national_stock_t"]).to_numpy() / base
    out["shortage_pct"] = 100.0 * mm["shortage_share"].to_numpy(dtype=float)
    for c in ("stock_months", "shortage_pct"):
        out[f"{c}_p05"] = out[f"{c}_p95"] = np.nan
    if not result.has_band:
        return out
    sp = result.batch.supply
    rows = result.band_rows
    with np.errstate(divide="ignore", invalid="ignore"):
        stock = (sp.corporate_stock_t[rows] + sp.national_stock_t[rows]) / sp.demand_baseline_t[rows]   # (n, M, H)
    short = 100.0 * sp.shortage_share[rows]
    mats = list(result.batch.spec.materials)
    j = np.array([mats.index(m) for m in mm["material"]])
    k = mm["month"].to_numpy(dtype=int)
    for name, cube in (("stock_months", stock), ("shortage_pct", short)):
        q = np.percentile(cube, [LOW_Q, HIGH_Q], axis=0)          # (2, M, H)
        out[f"{name}_p05"], out[f"{name}_p95"] = q[0][j, k], q[1][j, k]
    return out


def _pct(x: np.ndarray, q: float) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if len(x) else None


def paired_change(band: Band, other: Band, metric: str = "gdp_loss_pct") -> Interval:
    """Change of a metric from ``band`` to ``other`` (other - band), with a band.

    The band comes from the paired draws (same seed, same uniform numbers per key).
    """
    a, b = band.metrics[metric], other.metrics[metric]
    central = None if a.central is None or b.central is None else b.central - a.central
    if band.draws is None or other.draws is None or len(band.draws) != len(other.draws):
        return Interval(central, None, None)
    d = other.draws[metric].to_numpy(dtype=float) - band.draws[metric].to_numpy(dtype=float)
    return Interval(central, _pct(d, LOW_Q), _pct(d, HIGH_Q))
