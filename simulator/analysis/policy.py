"""Sizing the national stockpile: how big it must be, and what it costs.

- :func:`stockpile_curve`: cumulative GDP loss against national stockpile
  size (days of baseline demand), one curve per case of ``over`` (e.g.
  restriction lengths), with the cost-benefit columns: stock value,
  yearly holding cost, GDP loss avoided and the break-even yearly
  probability of such a restriction.
- :func:`optimize_stockpile`: the smallest stockpile that keeps the loss
  at or under a cap, per case, by root finding (scipy ``brentq``) on the
  loss curve, which is monotone non-increasing in the stockpile.
- The charts are :func:`simulator.plots.plot_stockpile_curve` and
  :func:`simulator.plots.plot_cost_benefit` (plots sit above analysis in
  the layers, so they are not re-exported here).

Equations in ``docs/model.md`` (section "Policy levers"). Every curve is
one engine batch per structure (all stockpile sizes and cases at once);
root finding then runs single scenarios inside the bracketing grid step.
"""

from __future__ import annotations

import itertools
import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from simulator.core.params import ParamTable, check_values, stack
from simulator.core.spec import batch_key
from simulator.errors import ScenarioError
from simulator.io.scenario import Scenario

DAYS_PER_MONTH = 365.25 / 12.0
#: Cases of the default sizing question: restriction lengths in months.
DEFAULT_OVER = {"restriction.duration_months": [3, 6, 12]}
#: Largest stockpile searched, days of baseline demand.
DEFAULT_MAX_DAYS = 730.0
#: Grid points of the curve between 0 and ``max_days``.
DEFAULT_GRID_POINTS = 49

_STOCK_KEYS = ("stockpile.national.cover_days",)


# --------------------------------------------------------------------------
# Cases and batches
# --------------------------------------------------------------------------

def _check_args(scenario: Scenario, over: Mapping | None, materials,
                max_days: float) -> tuple[dict[str, Sequence], tuple[str, ...]]:
    if not isinstance(scenario, Scenario):
        raise TypeError("scenario must be a Scenario (simulator.load_scenario(...))")
    over = dict(DEFAULT_OVER if over is None else over)
    for key, values in over.items():
        if key in _STOCK_KEYS or key.endswith(".stockpile_cover_days"):
            raise ScenarioError("is what the optimiser sets; do not sweep it in `over`", file="over", key=key)
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ScenarioError("needs a non-empty list of values", file="over", key=key)
    if materials is None:
        mats = tuple(scenario.materials)
    else:
        mats = (materials,) if isinstance(materials, str) else tuple(materials)
        unknown = [m for m in mats if m not in scenario.materials]
        if unknown or not mats:
            raise ScenarioError(
                f"unknown material ids {unknown}; allowed: {', '.join(scenario.materials)}",
                file="materials", key="materials",
            )
    if not (isinstance(max_days, (int, float)) and 0 < max_days <= 3650):
        raise ScenarioError(f"must be in (0, 3650] days (got {max_days!r})", file="max_days", key="max_days")
    return over, mats


def _cases(scenario: Scenario, over: Mapping[str, Sequence]) -> list[tuple[dict, Scenario]]:
    """Every combination of ``over`` (first key slowest) as a validated scenario."""
    keys = list(over)
    out = []
    for combo in itertools.product(*(over[k] for k in keys)):
        values = dict(zip(keys, combo, strict=True))
        out.append((values, scenario.with_overrides(values) if values else scenario))
    return out


def _table(cases: list[Scenario], days: np.ndarray, materials: tuple) -> ParamTable:
    """One batch: every case x every stockpile size (case slowest)."""
    base = stack(cases)
    nd = len(days)
    values = {k: np.repeat(v, nd, axis=0) for k, v in base.values.items()}
    d = np.tile(np.asarray(days, float), len(cases))
    check_values("stockpile.national.cover_days", d)
    if set(materials) == set(base.spec.materials):
        values["stockpile.national.cover_days"] = d
    for m in materials:
        values[f"materials.{m}.stockpile_cover_days"] = d
    return ParamTable(spec=base.spec, values=values)


def _losses(cases: list[Scenario], days: np.ndarray, materials: tuple) -> tuple[np.ndarray, np.ndarray]:
    """GDP loss (% of annual GDP, jpy_bn) for each case and size, (C, D) each."""
    from simulator.core.engine import simulate

    pct = np.empty((len(cases), len(days)))
    bn = np.empty_like(pct)
    groups: dict = {}
    for i, sc in enumerate(cases):
        groups.setdefault(batch_key(sc), []).append(i)
    for idx in groups.values():
        members = [cases[i] for i in idx]
        res = simulate(_table(members, days, materials))
        pct[idx] = res.gdp_loss_pct.reshape(len(idx), len(days))
        bn[idx] = res.gdp_loss_jpy_bn.sum(axis=1).reshape(len(idx), len(days))
    return pct, bn


def _band_losses(sc: Scenario, days: np.ndarray, materials: tuple, draws: int, seed: int) -> np.ndarray | None:
    """GDP loss (% of annual GDP) for ``draws`` posterior draws x stockpile sizes, (draws, D); None without a band."""
    from simulator.core.bands import band_values
    from simulator.core.engine import simulate
    from simulator.core.params import with_values

    sized = {f"materials.{m}.stockpile_cover_days" for m in materials} | set(_STOCK_KEYS)
    band = {k: v for k, v in band_values(sc, draws, seed).items() if k not in sized}
    if not band:
        return None
    nd = len(days)
    values = {k: np.repeat(v, nd) for k, v in band.items()}
    d = np.tile(np.asarray(days, float), draws)
    check_values("stockpile.national.cover_days", d)
    if set(materials) == set(sc.materials):
        values["stockpile.national.cover_days"] = d
    for m in materials:
        values[f"materials.{m}.stockpile_cover_days"] = d
    return simulate(with_values(sc, draws * nd, values)).gdp_loss_pct.reshape(draws, nd)


def _days_needed(days: np.ndarray, loss: np.ndarray, cap: float) -> np.ndarray:
    """Least stockpile (days) with loss <= cap on each row's curve, by linear interpolation; inf if none."""
    out = np.full(loss.shape[0], np.inf)
    for i, row in enumerate(loss):
        ok = np.flatnonzero(row <= cap)
        if len(ok) == 0:
            continue
        j = ok[0]
        if j == 0:
            out[i] = 0.0
            continue
        x0, x1, y0, y1 = days[j - 1], days[j], row[j - 1], row[j]
        out[i] = x1 if y0 == y1 else x0 + (x1 - x0) * (y0 - cap) / (y0 - y1)
    return out


# --------------------------------------------------------------------------
# Cost
# --------------------------------------------------------------------------

def stockpile_tonnes(scenario: Scenario, days, materials: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Stock held per material for ``days`` of baseline demand, tonnes.

    ``S_m = days / 30.44 * D0_m`` (the same conversion as the engine).
    """
    mats = tuple(scenario.materials) if materials is None else tuple(materials)
    d = np.asarray(days, float)
    return {m: d / DAYS_PER_MONTH * scenario.materials[m].demand_t_per_month for m in mats}


def holding_cost(scenario: Scenario, days,
                 materials: Sequence[str] | None = None) -> dict[str, np.ndarray | float]:
    """Value and yearly holding cost of a stockpile of ``days`` of demand.

    ``value_jpy_bn = sum_m price_m * 1000 * S_m / 1e9`` and
    ``holding_cost_jpy_bn_per_year = carrying_rate * value``. NaN when a
    sized material has no ``price_jpy_per_kg``.

    Returns
    -------
    dict with ``stockpile_t``, ``stock_value_jpy_bn``,
    ``holding_cost_jpy_bn_per_year`` (arrays shaped like ``days``; floats
    for a scalar ``days``).
    """
    tonnes = stockpile_tonnes(scenario, days, materials)
    value = np.zeros_like(np.asarray(days, float))
    for m, t in tonnes.items():
        price = scenario.materials[m].price_jpy_per_kg
        value = value + (np.nan if price is None else price * 1000.0 * t / 1e9)
    rate = scenario.stockpile.cost.carrying_rate_per_year
    return {
        "stockpile_t": sum(tonnes.values()),
        "stock_value_jpy_bn": value,
        "holding_cost_jpy_bn_per_year": rate * value,
    }


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

def stockpile_curve(scenario: Scenario, over: Mapping[str, Sequence] | None = None,
                    materials: Sequence[str] | str | None = None, days=None,
                    max_days: float = DEFAULT_MAX_DAYS, *, draws: int = 0, seed: int = 0) -> pd.DataFrame:
    """GDP loss against national stockpile size, with costs and benefits.

    Parameters
    ----------
    scenario : Scenario
    over : dict, optional
        Dotted key -> list of values; one curve per combination (first key
        slowest). Default ``{"restriction.duration_months": [3, 6, 12]}``;
        ``{}`` for the scenario alone. Any scenario key is allowed.
    materials : list of str, optional
        Materials whose stockpile is sized (all by default; the others
        keep the scenario's stockpile).
    days : array, optional
        Stockpile sizes, days of baseline demand. Default: 49 points from
        0 to ``max_days``.
    draws, seed : int
        Posterior draws for ``gdp_loss_pct_p05``/``_p95`` columns (0: none).

    Returns
    -------
    pandas.DataFrame
        One row per case and size: the ``over`` keys, ``case`` (a label),
        ``stockpile_days``, ``gdp_loss_pct`` (% of one year's GDP; with
        ``draws``, also ``gdp_loss_pct_p05`` and ``_p95``),
        ``gdp_loss_jpy_bn``, ``stockpile_t``, ``stock_value_jpy_bn``,
        ``holding_cost_jpy_bn_per_year``, ``gdp_loss_avoided_jpy_bn``
        (against no stockpile of the sized materials) and
        ``breakeven_probability_per_year`` (holding cost / loss avoided:
        the yearly chance of such a restriction above which holding the
        stock pays; NaN when nothing is avoided).
    """
    over, mats = _check_args(scenario, over, materials, max_days)
    days = np.linspace(0.0, max_days, DEFAULT_GRID_POINTS) if days is None else np.asarray(days, float)
    if days.ndim != 1 or len(days) == 0:
        raise ScenarioError("needs a 1-d list of stockpile sizes", file="days", key="days")
    with_zero = np.unique(np.r_[0.0, days])
    cases = _cases(scenario, over)
    pct, bn = _losses([sc for _, sc in cases], with_zero, mats)
    pos = np.searchsorted(with_zero, days)
    frames = []
    for c, (values, sc) in enumerate(cases):
        cost = holding_cost(sc, days, mats)
        avoided = bn[c, 0] - bn[c, pos]
        with np.errstate(divide="ignore", invalid="ignore"):
            breakeven = np.where(avoided > 0, cost["holding_cost_jpy_bn_per_year"] / avoided, np.nan)
        frame = {k: v for k, v in values.items()}
        frame.update({
            "case": _label(values),
            "materials": ",".join(mats),
            "stockpile_days": days,
            "gdp_loss_pct": pct[c, pos],
            **_curve_band(sc, days, mats, draws, seed),
            "gdp_loss_jpy_bn": bn[c, pos],
            **cost,
            "gdp_loss_avoided_jpy_bn": avoided,
            "breakeven_probability_per_year": breakeven,
        })
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


def _curve_band(sc: Scenario, days: np.ndarray, mats: tuple, draws: int, seed: int) -> dict:
    if not draws:
        return {}
    loss = _band_losses(sc, days, mats, draws, seed)
    if loss is None:
        return {}
    return {"gdp_loss_pct_p05": np.percentile(loss, 5, axis=0), "gdp_loss_pct_p95": np.percentile(loss, 95, axis=0)}


def optimize_stockpile(scenario: Scenario, max_gdp_loss_pct: float = 0.1,
                       over: Mapping[str, Sequence] | None = None,
                       materials: Sequence[str] | str | None = None,
                       max_days: float = DEFAULT_MAX_DAYS, xtol_days: float = 0.01,
                       return_curve: bool = False, *, draws: int = 0, seed: int = 0):
    """The smallest national stockpile that keeps the GDP loss under a cap.

    For each case of ``over`` (default: restrictions of 3, 6 and 12
    months) find the least ``x`` (days of baseline demand of the sized
    materials) with ``loss(x) <= max_gdp_loss_pct``. The loss curve is
    evaluated on a grid (one batch); the first grid step where it crosses
    the cap brackets the root, which scipy's ``brentq`` refines to
    ``xtol_days``; the answer is then nudged up until the cap holds.

    Parameters
    ----------
    scenario : Scenario
    max_gdp_loss_pct : float
        Cap on the cumulative GDP loss over the horizon, % of one year's GDP.
    over, materials, max_days :
        As in :func:`stockpile_curve`.
    xtol_days : float
        Precision of the answer, days.
    return_curve : bool
        Also return the curve (from :func:`stockpile_curve`).
    draws, seed : int
        Posterior draws (:mod:`simulator.core.bands`) for the band of the
        answer: each draw's loss curve on the grid (linear interpolation at
        the cap) gives its own stockpile; ``stockpile_days_p05``, ``_p50``,
        ``_p95`` are their percentiles (``inf``: more than ``max_days``, or
        not reachable) and ``share_of_draws_unreachable`` the share of draws
        no stockpile up to ``max_days`` satisfies. 0: no band.

    Returns
    -------
    pandas.DataFrame (or (answers, curve))
        One row per case: the ``over`` keys, ``case``, ``materials``,
        ``max_gdp_loss_pct``, ``stockpile_days`` (NaN when no stockpile up
        to ``max_days`` meets the cap), ``status`` (``"ok"``, ``"no
        stockpile needed"`` or ``"cap not reachable"``: typically the
        release rule's monthly cap or decision delay binds, so more stock
        does not help), ``gdp_loss_pct`` at the answer,
        ``gdp_loss_pct_no_stockpile``, ``gdp_loss_pct_floor`` (at
        ``max_days``), ``<material>_t`` held at the answer,
        ``stockpile_t``, ``stock_value_jpy_bn``,
        ``holding_cost_jpy_bn_per_year``, ``gdp_loss_avoided_jpy_bn``
        and ``breakeven_probability_per_year``.

    Examples
    --------
    >>> import simulator
    >>> sc = simulator.load_scenario(overrides={"stockpile.national.max_release_share_per_month": 1.0})
    >>> simulator.optimize_stockpile(sc, max_gdp_loss_pct=0.1,
    ...     over={"restriction.duration_months": [3, 6, 12]})  # doctest: +SKIP
    """
    from scipy.optimize import brentq

    if not (isinstance(max_gdp_loss_pct, (int, float)) and math.isfinite(max_gdp_loss_pct)
            and max_gdp_loss_pct > 0):
        raise ScenarioError(f"must be a positive number (got {max_gdp_loss_pct!r})",
                            file="max_gdp_loss_pct", key="max_gdp_loss_pct")
    if not (isinstance(xtol_days, (int, float)) and 0 < xtol_days <= 10):
        raise ScenarioError("must be in (0, 10] days", file="xtol_days", key="xtol_days")
    curve = stockpile_curve(scenario, over, materials, max_days=max_days)
    over, mats = _check_args(scenario, over, materials, max_days)
    cap = float(max_gdp_loss_pct)
    rows = []
    for values, sc in _cases(scenario, over):
        label = _label(values)
        g = curve[curve["case"] == label]
        days = g["stockpile_days"].to_numpy()
        loss = g["gdp_loss_pct"].to_numpy()

        def excess(x: float, sc: Scenario = sc) -> float:
            return float(_losses([sc], np.array([x]), mats)[0][0, 0]) - cap

        ok = np.flatnonzero(loss <= cap)
        if loss[0] <= cap:
            x, status = 0.0, "no stockpile needed"
        elif len(ok) == 0:
            x, status = math.nan, "cap not reachable"
        else:
            lo, hi = float(days[ok[0] - 1]), float(days[ok[0]])
            x = brentq(excess, lo, hi, xtol=xtol_days) if excess(hi) < 0 else hi
            # brentq's root may sit a hair below the crossing: step up until the cap holds
            while x < hi and excess(x) > 0:
                x = min(hi, x + xtol_days)
            status = "ok"
        pct, bn = _losses([sc], np.array([0.0 if math.isnan(x) else x, 0.0]), mats)
        row = dict(values)
        row.update({
            "case": label, "materials": ",".join(mats), "max_gdp_loss_pct": cap,
            "stockpile_days": x, "status": status,
            "gdp_loss_pct": float(pct[0, 0]) if math.isfinite(x) else math.nan,
            "gdp_loss_pct_no_stockpile": float(pct[0, 1]),
            "gdp_loss_pct_floor": float(loss[-1]),
        })
        for m, t in stockpile_tonnes(sc, x, mats).items():
            row[f"{m}_t"] = float(t)
        cost = holding_cost(sc, x, mats)
        row.update({k: float(v) for k, v in cost.items()})
        avoided = float(bn[0, 1] - bn[0, 0]) if math.isfinite(x) else math.nan
        row["gdp_loss_avoided_jpy_bn"] = avoided
        row["breakeven_probability_per_year"] = (
            cost["holding_cost_jpy_bn_per_year"] / avoided if math.isfinite(x) and avoided > 0 else math.nan)
        if draws:
            band = _band_losses(sc, days, mats, draws, seed)       # one batch per case: curve band and answer band
            if band is not None:
                at = curve.index[curve["case"] == label]
                curve.loc[at, "gdp_loss_pct_p05"] = np.percentile(band, 5, axis=0)
                curve.loc[at, "gdp_loss_pct_p95"] = np.percentile(band, 95, axis=0)
                need = _days_needed(days, band, cap)
                q = np.percentile(need, [5, 50, 95], method="nearest")
                row.update({"stockpile_days_p05": float(q[0]), "stockpile_days_p50": float(q[1]),
                            "stockpile_days_p95": float(q[2]),
                            "share_of_draws_unreachable": float(np.mean(~np.isfinite(need)))})
        rows.append(row)
    answers = pd.DataFrame(rows)
    return (answers, curve) if return_curve else answers


def _label(values: dict) -> str:
    if not values:
        return "scenario"
    return ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in values.items())
