"""The batched engine: parameter arrays -> material paths -> output and GDP loss.

:func:`simulate` runs a whole batch (leading scenario axis) through the
material layer (:mod:`simulator.model.supply`, weekly-ish steps) and the economy
layer (:mod:`simulator.model.economy`, monthly), and returns arrays. Tables and
the CLI are built on top (:mod:`simulator.core.results`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.core.params import ParamTable
from simulator.core.spec import BatchSpec
from simulator.model import allocation, economy, material, supply

DAYS_PER_MONTH = 365.25 / 12.0


def supply_inputs(p: ParamTable) -> supply.SupplyInputs:
    """Translate a parameter table into the material layer's arrays."""
    s = p.spec
    mats = s.materials
    H, spm = s.horizon_months, s.steps_per_month
    B = p.size

    def mat(field):
        return np.stack([p[f"materials.{m}.{field}"] for m in mats], axis=1)

    start = p["restriction.start_month"]
    duration = p["restriction.duration_months"]
    restricted = supply.restricted_fraction(start, duration, H, spm)
    severity = supply.severity_path(np.atleast_2d(p["restriction.severity"].reshape(B, -1)), start, restricted, H, spm)
    lead_n = p["restriction.lead_time_normal_months"]
    lead_r = p["restriction.lead_time_restricted_months"]
    lead_china = lead_n[:, None] + (lead_r - lead_n)[:, None] * restricted
    sub_prog = supply.ramp_progress(start, duration, p["substitution.delay_months"], p["substitution.ramp_months"], H, spm)
    alt_prog = supply.ramp_progress(start, duration, p["alternative_supply.delay_months"], p["alternative_supply.ramp_months"], H, spm)
    demand = mat("demand_t_per_month")
    cover = p["inventory.cover_months"] * p["inventory.cover_scale"][:, None]          # (B, K)
    cover = cover[:, None, :] * mat("corporate_cover_scale")[:, :, None]                 # (B, M, K)
    share = p["inventory.demand_share"]
    if s.pooled:
        # One pool: firms lend to each other, so the groups' stocks add up.
        cover = (cover * share[:, None, :]).sum(axis=2, keepdims=True)
        share = np.ones((B, 1))
    days = mat("stockpile_cover_days")
    days = np.where(np.isnan(days), p["stockpile.national.cover_days"][:, None], days)
    policy = _policy_inputs(p, mat, demand)
    return supply.SupplyInputs(
        steps_per_month=spm,
        horizon_months=H,
        demand_t_per_month=demand,
        china_share=mat("china_share"),
        china_max_ratio=mat("china_max_ratio"),
        scope_share=mat("restriction_scope_share"),
        severity=severity,
        restricted=restricted,
        lead_china_months=lead_china,
        lead_other_months=lead_n,
        transit_months=p["restriction.transit_months"],
        initial_severity=np.atleast_2d(p["restriction.severity"].reshape(B, -1))[:, 0],
        substitution_share=mat("substitution_max_share")[:, :, None] * sub_prog[:, None, :],
        alternative_share=mat("alternative_capacity_share")[:, :, None] * alt_prog[:, None, :],
        cover_months=cover,
        group_share=share,
        restock_months=p["inventory.restock_months"],
        national_t=days / DAYS_PER_MONTH * demand,
        strategy=s.strategy,
        trigger_cover_months=p["stockpile.national.trigger_cover_months"],
        decision_delay_months=p["stockpile.national.decision_delay_months"],
        max_release_share_per_month=p["stockpile.national.max_release_share_per_month"],
        # a refill faster than one step takes one step (1 / 1e-310 months is inf, and 0 * inf = NaN)
        refill_months=np.where(p["stockpile.national.refill_months"] > 0,
                               np.maximum(p["stockpile.national.refill_months"], 1.0 / spm), 0.0),
        restriction_start_month=start,
        restriction_end_month=start + duration,
        **policy,
    )


def _policy_inputs(p: ParamTable, mat, demand: np.ndarray) -> dict:
    """Material-layer inputs of the policy levers (earmarked release, allies); empty when off."""
    s = p.spec
    out = {}
    if s.strategy == "reserve_for_priority":
        share = allocation.priority_share(s.economy.use_share, np.array(s.priority, dtype=int))
        out["priority_share"] = np.broadcast_to(share, demand.shape).copy()
    days = mat("allied_stock_days")
    days = np.where(np.isnan(days), p["allies.stock_days"][:, None], days)
    if (days > 0).any():
        out["allied_t"] = days / DAYS_PER_MONTH * demand
        out["allied_delay_months"] = p["allies.delay_months"]
        out["allied_max_share_per_month"] = p["allies.max_share_per_month"]
    return out


@dataclass(frozen=True)
class BatchResult:
    """Arrays for a batch of B scenarios, H months, M materials, n sectors.

    Units are in the names: ``_t`` tonnes, ``_jpy_bn`` billion yen,
    ``_pct`` percent of one year's GDP.
    """

    params: ParamTable
    spec: BatchSpec
    supply: supply.SupplyPaths
    gdp_loss_jpy_bn: np.ndarray            # (B, H) per month
    output_loss_jpy_bn: np.ndarray         # (B, H) gross output, per month
    sector_output_loss_jpy_bn: np.ndarray  # (B, n) cumulative over the horizon
    sector_gdp_loss_jpy_bn: np.ndarray     # (B, n) cumulative over the horizon
    sector_monthly_output_loss_jpy_bn: np.ndarray | None  # (B, H, n) if kept
    gdp_jpy_bn: np.ndarray                 # (B,) annual GDP

    @property
    def gdp_loss_pct(self) -> np.ndarray:
        """Cumulative GDP loss over the horizon, % of one year's GDP, (B,)."""
        return 100.0 * self.gdp_loss_jpy_bn.sum(axis=1) / self.gdp_jpy_bn


def direct_loss(shortage: np.ndarray, dep: np.ndarray, spec: BatchSpec,
                earmark: np.ndarray | None = None) -> np.ndarray:
    """Direct output loss share per sector, (R, n), for rows of shortage (R, M).

    ``dep`` is (R, n, M), already scaled per scenario. ``earmark`` (R, M) is
    the share of demand released for the priority sectors only
    (``reserve_for_priority``); see :mod:`simulator.model.allocation`.
    """
    order = np.array(spec.priority, dtype=int)
    if spec.allocation == "value_added" or earmark is not None:
        return allocation.direct_loss_policy(spec.allocation, shortage, dep, spec.economy, order, earmark)
    if spec.allocation == "priority":
        fill = economy.priority_fill(1.0 - shortage, spec.economy.use_share, order)
        return np.minimum(1.0, (dep * (1.0 - fill)).max(axis=-1))
    return economy.direct_loss_proportional(shortage, dep)


def _earmark(paths: supply.SupplyPaths, spec: BatchSpec) -> np.ndarray | None:
    """Released share of demand earmarked for priority sectors, (B, H, M)."""
    if spec.strategy != "reserve_for_priority":
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(paths.demand_t > 0, paths.release_t / paths.demand_t, 0.0)
    return np.clip(e, 0.0, 1.0).transpose(0, 2, 1)


def simulate(p: ParamTable, keep_sector_paths: bool = False) -> BatchResult:
    """Run a batch: arrays in, arrays out.

    Parameters
    ----------
    p : ParamTable
        From :func:`simulator.core.params.stack` or a sweep.
    keep_sector_paths : bool
        Keep the (B, H, n) monthly output loss per sector (memory!).
    """
    st = p.spec
    paths = material.simulate_supply(supply_inputs(p))
    B, M, H = paths.shortfall_t.shape
    est = st.economy
    n = len(st.sector_codes)
    gdp = p["economy.gdp_jpy_bn"]
    dep_scale = p["economy.dependence_scale"][:, None] * np.stack(
        [p[f"materials.{m}.dependence_scale"] for m in st.materials], axis=1)      # (B, M)
    shortage = np.clip(paths.shortage_share, 0.0, 1.0).transpose(0, 2, 1)           # (B, H, M)
    # Below 1e-12 it is round-off from sharing arrivals among firm groups, not a
    # shortage (else "months with a loss" counts phantom 1e-17 % months).
    shortage = np.where(shortage < 1e-12, 0.0, shortage)
    active = shortage.max(axis=2) > 0                                                # (B, H)
    rows_b, rows_h = np.nonzero(active)
    earmark = _earmark(paths, st)                                                     # (B, H, M) or None
    q_sum = np.zeros((B, n))
    out_month = est.output_jpy_bn_per_month                                           # per unit GDP
    gdp_loss = np.zeros((B, H))
    out_loss = np.zeros((B, H))
    sector_paths = np.zeros((B, H, n)) if keep_sector_paths else None
    chunk = max(1, 2_000_000 // max(1, n * M))
    for lo in range(0, len(rows_b), chunk):
        rb, rh = rows_b[lo:lo + chunk], rows_h[lo:lo + chunk]
        if st.allocation == "proportional" and earmark is None:
            # same numbers as direct_loss, without the (rows, n, M) array
            delta = economy.direct_loss_scaled(shortage[rb, rh], est.dependence, dep_scale[rb])
        else:
            dep = np.minimum(1.0, est.dependence[None, :, :] * dep_scale[rb][:, None, :])
            delta = direct_loss(shortage[rb, rh], dep, st, None if earmark is None else earmark[rb, rh])
        q = economy.output_loss(delta, est)
        scale = gdp[rb][:, None] * out_month[None, :]                                 # jpy_bn/month
        lost = q * scale
        first = np.flatnonzero(np.r_[True, rb[1:] != rb[:-1]])                         # rb is sorted
        q_sum[rb[first]] += np.add.reduceat(q * gdp[rb][:, None], first, axis=0)
        gdp_loss[rb, rh] = (lost * est.va_ratio).sum(axis=1)
        out_loss[rb, rh] = lost.sum(axis=1)
        if keep_sector_paths:
            sector_paths[rb, rh] = lost
    sector_out = q_sum * out_month[None, :]
    return BatchResult(
        params=p,
        spec=st,
        supply=paths,
        gdp_loss_jpy_bn=gdp_loss,
        output_loss_jpy_bn=out_loss,
        sector_output_loss_jpy_bn=sector_out,
        sector_gdp_loss_jpy_bn=sector_out * est.va_ratio[None, :],
        sector_monthly_output_loss_jpy_bn=sector_paths,
        gdp_jpy_bn=gdp,
    )
