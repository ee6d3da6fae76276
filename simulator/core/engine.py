"""The batched engine: parameter arrays -> material paths -> output and GDP loss.

:func:`simulate` runs a whole batch (leading scenario axis) through the
material layer (:mod:`simulator.model.supply`, weekly-ish steps) and the
economy layer (:mod:`simulator.model.economy`, monthly), and returns arrays.
It reads a :class:`~simulator.core.spec.BatchSpec` and parameter arrays
only: never the scenario schema, never a file. Tables and the CLI are built
on top (:mod:`simulator.core.results`).

Month by month, for every scenario:

1. the material layer gives each firm group's (application's) shortage share;
2. each application's output loss ``L_a`` (:func:`~simulator.model.economy.line_losses`);
3. the direct loss of the use table's sectors (:func:`~simulator.model.economy.direct_loss`),
   softened by imported components and overseas plants;
4. restart lag (:func:`~simulator.model.economy.restart_lag`), then the
   table's sectors and the input-output propagation (gross loss);
5. deferred orders made up later (:func:`~simulator.model.economy.catch_up`):
   the net loss is the gross loss less the value added of the catch-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.core.params import ParamTable
from simulator.core.spec import BatchSpec
from simulator.model import economy, material, supply
from simulator.model.profiles import ramp_progress, restricted_fraction, severity_path

DAYS_PER_MONTH = 365.25 / 12.0
#: Shortage shares below this are round-off from sharing arrivals, not a shortage.
ROUND_OFF = 1e-12


def _mat(p: ParamTable, field: str) -> np.ndarray:
    """A per-material key as (B, M)."""
    return np.stack([p[f"materials.{m}.{field}"] for m in p.spec.materials], axis=1)


def reallocation(p: ParamTable) -> np.ndarray:
    """Share of scarce material that goes to the highest bidders first, (B,)."""
    rule = p.spec.allocation
    if rule == "proportional":
        return np.zeros(p.size)
    if rule == "value_added":
        return np.ones(p.size)
    return p["economy.reallocation"]


def supply_inputs(p: ParamTable) -> supply.SupplyInputs:
    """Translate a parameter table into the material layer's arrays."""
    s = p.spec
    H, spm = s.horizon_months, s.steps_per_month
    B = p.size
    start = p["restriction.start_month"]
    duration = p["restriction.duration_months"]
    restricted = restricted_fraction(start, duration, H, spm)
    profile = np.atleast_2d(p["restriction.severity"].reshape(B, -1))
    lead_n = p["restriction.lead_time_normal_months"]
    lead_r = p["restriction.lead_time_restricted_months"]
    sub_prog = ramp_progress(start, duration, p["substitution.delay_months"], p["substitution.ramp_months"], H, spm)
    alt_prog = ramp_progress(start, duration, p["alternative_supply.delay_months"],
                             p["alternative_supply.ramp_months"], H, spm)
    leak_prog = ramp_progress(start, duration, np.zeros(B), p["softening.leakage_months"], H, spm)
    demand = _mat(p, "demand_t_per_month")
    g = s.groups
    cover = g.cover_months[None] * (p["inventory.cover_scale"][:, None] * _mat(p, "corporate_cover_scale"))[:, :, None]
    days = _mat(p, "stockpile_cover_days")
    days = np.where(np.isnan(days), p["stockpile.national.cover_days"][:, None], days)
    return supply.SupplyInputs(
        steps_per_month=spm,
        horizon_months=H,
        demand_t_per_month=demand,
        china_share=_mat(p, "china_share"),
        china_max_ratio=_mat(p, "china_max_ratio"),
        scope_share=_mat(p, "restriction_scope_share"),
        severity=severity_path(profile, start, np.ones_like(restricted), H, spm),
        restricted=restricted,
        leakage=p["softening.leakage_share"][:, None] * leak_prog,
        lead_china_months=lead_n[:, None] + (lead_r - lead_n)[:, None] * restricted,
        lead_other_months=lead_n,
        transit_months=p["restriction.transit_months"],
        initial_severity=profile[:, 0],
        held_share=p["restriction.held_share"],
        substitution_share=_mat(p, "substitution_max_share")[:, :, None] * sub_prog[:, None, :],
        alternative_share=_mat(p, "alternative_capacity_share")[:, :, None] * alt_prog[:, None, :],
        cover_months=cover,
        group_share=np.broadcast_to(g.share, cover.shape).copy(),
        group_first=np.broadcast_to(g.first, cover.shape).copy(),
        group_reserved=np.broadcast_to(g.reserved, cover.shape).copy(),
        reallocation=reallocation(p),
        pooled=s.pooled,
        # closing the gap faster than one step overshoots: each step's order would correct more
        # than the whole gap, and the order rule amplifies round-off into swings (docs/model.md §5)
        restock_months=np.maximum(p["inventory.restock_months"], 1.0 / spm),
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
        **_allied_inputs(p, demand),
    )


def _allied_inputs(p: ParamTable, demand: np.ndarray) -> dict:
    """Material-layer inputs of allied sharing; empty when off."""
    days = _mat(p, "allied_stock_days")
    days = np.where(np.isnan(days), p["allies.stock_days"][:, None], days)
    if not (days > 0).any():
        return {}
    return {"allied_t": days / DAYS_PER_MONTH * demand, "allied_delay_months": p["allies.delay_months"],
            "allied_max_share_per_month": p["allies.max_share_per_month"]}


@dataclass(frozen=True)
class BatchResult:
    """Arrays for a batch of B scenarios, H months, M materials, A applications, n sectors.

    Units are in the names: ``_t`` tonnes, ``_jpy_bn`` billion yen,
    ``_pct`` percent of one year's GDP. *Net* losses (the headline) are
    gross losses less the value added of deferred orders made up later.
    """

    params: ParamTable
    spec: BatchSpec
    supply: supply.SupplyPaths
    gdp_loss_jpy_bn: np.ndarray                  # (B, H) net, per month (negative while catching up)
    gdp_loss_gross_jpy_bn: np.ndarray            # (B, H) before catch-up
    output_loss_jpy_bn: np.ndarray               # (B, H) net gross output
    output_loss_gross_jpy_bn: np.ndarray         # (B, H)
    sector_output_loss_jpy_bn: np.ndarray        # (B, n) net, cumulative over the horizon
    sector_gdp_loss_jpy_bn: np.ndarray           # (B, n) net, cumulative
    sector_gdp_loss_gross_jpy_bn: np.ndarray     # (B, n) cumulative
    sector_monthly_output_loss_jpy_bn: np.ndarray | None  # (B, H, n) net, if kept
    application_loss_share: np.ndarray           # (B, H, A) output loss share of each application
    gdp_jpy_bn: np.ndarray                       # (B,) annual GDP

    @property
    def gdp_loss_pct(self) -> np.ndarray:
        """Cumulative net GDP loss over the horizon, % of one year's GDP, (B,)."""
        return 100.0 * self.gdp_loss_jpy_bn.sum(axis=1) / self.gdp_jpy_bn

    @property
    def gdp_loss_gross_pct(self) -> np.ndarray:
        """Cumulative GDP loss before catch-up, % of one year's GDP, (B,)."""
        return 100.0 * self.gdp_loss_gross_jpy_bn.sum(axis=1) / self.gdp_jpy_bn


def application_losses(p: ParamTable, paths: supply.SupplyPaths) -> np.ndarray:
    """Output loss share of every application per month, (B, H, A)."""
    g = p.spec.groups
    share = paths.group_shortage_share                                     # (B, M, K, H)
    share[share < ROUND_OFF] = 0.0
    np.minimum(share, 1.0, out=share)
    scale = p["economy.criticality_scale"][:, None] * _mat(p, "criticality_scale")     # (B, M)
    crit = np.minimum(1.0, g.criticality[None] * scale[:, :, None])                    # (B, M, K)
    return economy.line_losses(share, crit, g.app, len(p.spec.applications))


def link_weights(p: ParamTable) -> np.ndarray:
    """Weight of every final link per scenario and month, (B, H, L): ``f (1 - z iota)(1 - o u(t))``.

    ``iota`` (``softening.imported_components``) switches imported components
    on; ``o u(t)`` is the assemblers' overseas plants ramping up to
    ``softening.overseas_share`` over ``softening.overseas_months``.
    """
    st, s = p.spec.economy, p.spec
    H = s.horizon_months
    t_mid = np.arange(H)[None, :] + 0.5
    start = p["restriction.start_month"][:, None]
    months = p["softening.overseas_months"][:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):    # tiny months: a step, clipped
        ramp = np.where(months > 0, np.clip((t_mid - start) / np.where(months > 0, months, 1.0), 0.0, 1.0),
                        (t_mid >= start).astype(float))
    overseas = 1.0 - p["softening.overseas_share"][:, None] * ramp                       # (B, H)
    imported = 1.0 - st.link_import[None, :] * p["softening.imported_components"][:, None]  # (B, L)
    return st.link_share[None, None, :] * imported[:, None, :] * overseas[:, :, None]


def simulate(p: ParamTable, keep_sector_paths: bool = False) -> BatchResult:
    """Run a batch: arrays in, arrays out.

    Parameters
    ----------
    p : ParamTable
        From :func:`simulator.core.params.stack` or a sweep.
    keep_sector_paths : bool
        Keep the (B, H, n) monthly output loss per sector (memory!).
    """
    st = p.spec.economy
    paths = material.simulate_supply(supply_inputs(p))
    lines = application_losses(p, paths)                                   # (B, H, A)
    B, H, A = lines.shape
    direct = np.zeros((B, H, st.line_buyer.shape[1]))
    rows = lines.max(axis=2) > 0
    if rows.any():
        direct[rows] = economy.direct_loss(lines[rows], st, link_weights(p)[rows])
    direct = economy.restart_lag(direct, p["recovery.ramp_months"])
    gross = _gross_losses(p, direct, keep_sector_paths)
    made_va, made_out, sector_made_va, sector_made_out, made_paths = _catch_up(p, direct, keep_sector_paths)
    paths_net = None
    if keep_sector_paths:
        paths_net = gross["sector_paths"] - made_paths
    return BatchResult(
        params=p, spec=p.spec, supply=paths,
        gdp_loss_jpy_bn=gross["gdp"] - made_va,
        gdp_loss_gross_jpy_bn=gross["gdp"],
        output_loss_jpy_bn=gross["output"] - made_out,
        output_loss_gross_jpy_bn=gross["output"],
        sector_output_loss_jpy_bn=gross["sector_output"] - sector_made_out,
        sector_gdp_loss_jpy_bn=(gross["sector_output"] - sector_made_out) * st.va_ratio[None, :],
        sector_gdp_loss_gross_jpy_bn=gross["sector_output"] * st.va_ratio[None, :],
        sector_monthly_output_loss_jpy_bn=paths_net,
        application_loss_share=lines,
        gdp_jpy_bn=p["economy.gdp_jpy_bn"],
    )


def _gross_losses(p: ParamTable, direct: np.ndarray, keep_sector_paths: bool) -> dict[str, np.ndarray]:
    """Input-output propagation of direct losses (B, H, F), month by month, before catch-up.

    The ``sector_paths`` entry (B, H, n) is there only with ``keep_sector_paths``.
    """
    st = p.spec.economy
    B, H, _ = direct.shape
    n = len(st.va_ratio)
    gdp = p["economy.gdp_jpy_bn"]
    rows_b, rows_h = np.nonzero(direct.max(axis=2) > ROUND_OFF)
    out_month = st.output_jpy_bn_per_month
    res = {"gdp": np.zeros((B, H)), "output": np.zeros((B, H)), "sector_output": np.zeros((B, n))}
    if keep_sector_paths:
        res["sector_paths"] = np.zeros((B, H, n))
    chunk = max(1, 2_000_000 // max(1, n))
    for lo in range(0, len(rows_b), chunk):
        rb, rh = rows_b[lo:lo + chunk], rows_h[lo:lo + chunk]
        q = economy.output_loss(np.minimum(direct[rb, rh] @ st.to_table, 1.0), st)
        lost = q * (gdp[rb][:, None] * out_month[None, :])                 # jpy_bn/month
        first = np.flatnonzero(np.r_[True, rb[1:] != rb[:-1]])             # rb is sorted
        res["sector_output"][rb[first]] += np.add.reduceat(lost, first, axis=0)
        res["gdp"][rb, rh] = lost @ st.va_ratio
        res["output"][rb, rh] = lost.sum(axis=1)
        if keep_sector_paths:
            res["sector_paths"][rb, rh] = lost
    return res


def _catch_up(p: ParamTable, direct: np.ndarray, keep_sector_paths: bool) -> tuple:
    """Deferred orders made up later: value added and output recovered, monthly and per sector.

    The made-to-order sectors' catch-up output goes to final demand; the
    output it takes from every sector is the domestic Leontief inverse's
    column of its table sector.
    """
    st = p.spec.economy
    B, H, _ = direct.shape
    n = len(st.va_ratio)
    if len(st.deferred_col) == 0:
        return (np.zeros((B, H)), np.zeros((B, H)), np.zeros((B, n)), np.zeros((B, n)),
                np.zeros((B, H, n)) if keep_sector_paths else None)
    deferred = np.minimum(1.0, st.deferred_share[None, :] * p["recovery.deferred_scale"][:, None])
    share = economy.catch_up(direct[:, :, st.deferred_col], deferred, st.deferred_final,
                             p["recovery.capacity_ceiling"])                # (B, H, D) of own output
    size = p["economy.gdp_jpy_bn"][:, None] * (st.deferred_weight * st.output_jpy_bn_per_month[st.deferred_table])
    made = share * size[:, None, :]                                         # jpy_bn/month of final output
    chain = st.chain_output[:, st.deferred_table]                          # (n, D) output per unit
    made_out = made @ chain.sum(axis=0)
    made_va = made @ (st.va_ratio @ chain)
    sector_out = made.sum(axis=1) @ chain.T
    paths = (made @ chain.T) if keep_sector_paths else None
    return made_va, made_out, sector_out * st.va_ratio[None, :], sector_out, paths
