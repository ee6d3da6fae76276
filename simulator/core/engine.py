"""The batched engine: parameter arrays -> material paths -> output and GDP loss.

:func:`simulate` runs a whole batch (leading scenario axis) through the
material layer (:mod:`simulator.model.supply`, weekly-ish steps) and the economy
layer (:mod:`simulator.model.economy`, monthly), and returns arrays. Tables and
the CLI are built on top (:mod:`simulator.core.results`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from simulator.model import economy

from simulator.model import supply
from simulator.io.tables import dependence_matrix, load_table, resolve_table_dir
from simulator.errors import ScenarioError
from simulator.core.params import ParamTable, stack
from simulator.io.scenario import Scenario

DAYS_PER_MONTH = 365.25 / 12.0


@dataclass(frozen=True)
class Structure:
    """What a batch shares: the time grid, materials, the economy."""

    scenario: Scenario
    materials: tuple
    economy: economy.EconomyStructure
    sector_codes: tuple
    sector_names: tuple


@lru_cache(maxsize=32)
def _economy_structure(table_dir: str, dep_file: str | None, materials: tuple,
                       criticality: float, min_share: float) -> tuple:
    from simulator.io import cache as structure_cache
    from simulator.io.tables import _bundled_dir, bundled_dependence_path

    try:  # the files it is built from (the 185 table: dependence is aggregated from it)
        name = structure_cache.key((table_dir, dep_file, materials, criticality, min_share),
                                   [Path(table_dir), Path(dep_file or bundled_dependence_path()),
                                    _bundled_dir("mic2015_185")])
    except OSError:
        name = None                                    # a missing file: let load_table say which
    cached = name and structure_cache.load(name, economy.EconomyStructure)
    if cached:
        return cached
    table = load_table(table_dir)
    dep = dependence_matrix(table, materials, dep_file)
    st = economy.build_structure(table, dep, gdp_jpy_bn=1.0, criticality=criticality, min_share=min_share)
    if name:
        structure_cache.store(name, st, table.codes, table.names)
    return st, table.codes, table.names


def build_structure(s: Scenario) -> Structure:
    base = Path(s.source_file).parent if s.source_file else Path(".")
    table_dir = resolve_table_dir(s.economy.table, base)
    dep_file = None
    if s.economy.dependence_file:
        p = Path(s.economy.dependence_file)
        dep_file = str(p if p.is_absolute() else base / p)
    st, codes, names = _economy_structure(
        str(table_dir), dep_file, tuple(s.materials),
        s.economy.criticality, s.economy.critical_input_min_share,
    )
    if s.economy.allocation == "priority" or s.stockpile.national.strategy == "reserve_for_priority":
        unknown = [c for c in s.economy.priority_sectors if c not in codes]
        if unknown:
            raise ScenarioError(
                f"unknown sector codes {unknown} for table {s.economy.table!r}",
                file=s.source_file, key="economy.priority_sectors",
            )
    return Structure(scenario=s, materials=tuple(s.materials), economy=st,
                     sector_codes=codes, sector_names=names)


def supply_inputs(p: ParamTable) -> supply.SupplyInputs:
    """Translate a parameter table into the material layer's arrays."""
    s = p.structure
    mats = tuple(s.materials)
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
    if s.inventory.pooled:
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
        strategy=s.stockpile.national.strategy,
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


def _priority_order(st: Structure) -> np.ndarray:
    idx = {c: i for i, c in enumerate(st.sector_codes)}
    return np.array([idx[c] for c in st.scenario.economy.priority_sectors], dtype=int)


def _policy_inputs(p: ParamTable, mat, demand: np.ndarray) -> dict:
    """Material-layer inputs of the policy levers (earmarked release, allies); empty when off."""
    s = p.structure
    out = {}
    if s.stockpile.national.strategy == "reserve_for_priority":
        from simulator.model.allocation import priority_share

        st = build_structure(s)
        share = priority_share(st.economy.use_share, _priority_order(st))
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
    structure: Structure
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


def direct_loss(shortage: np.ndarray, dep: np.ndarray, st: Structure,
                earmark: np.ndarray | None = None) -> np.ndarray:
    """Direct output loss share per sector, (R, n), for rows of shortage (R, M).

    ``dep`` is (R, n, M), already scaled per scenario. ``earmark`` (R, M) is
    the share of demand released for the priority sectors only
    (``reserve_for_priority``); see :mod:`simulator.model.allocation`.
    """
    s = st.scenario
    if s.economy.allocation == "value_added" or earmark is not None:
        from simulator.model.allocation import direct_loss_policy

        return direct_loss_policy(s.economy.allocation, shortage, dep, st.economy,
                                  _priority_order(st), earmark)
    if s.economy.allocation == "priority":
        idx = {c: i for i, c in enumerate(st.sector_codes)}
        order = np.array([idx[c] for c in s.economy.priority_sectors], dtype=int)
        fill = economy.priority_fill(1.0 - shortage, st.economy.use_share, order)
        return np.minimum(1.0, (dep * (1.0 - fill)).max(axis=-1))
    return economy.direct_loss_proportional(shortage, dep)


def _earmark(paths: supply.SupplyPaths, st: Structure) -> np.ndarray | None:
    """Released share of demand earmarked for priority sectors, (B, H, M)."""
    if st.scenario.stockpile.national.strategy != "reserve_for_priority":
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(paths.demand_t > 0, paths.release_t / paths.demand_t, 0.0)
    return np.clip(e, 0.0, 1.0).transpose(0, 2, 1)


def simulate(p: ParamTable, keep_sector_paths: bool = False, structure: Structure | None = None) -> BatchResult:
    """Run a batch. Pure apart from reading (cached) data files.

    Parameters
    ----------
    p : ParamTable
        From :func:`simulator.core.params.stack` or a sweep.
    keep_sector_paths : bool
        Keep the (B, H, n) monthly output loss per sector (memory!).
    """
    st = structure or build_structure(p.structure)
    paths = supply.simulate_supply(supply_inputs(p))
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
        if st.scenario.economy.allocation == "proportional" and earmark is None:
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
        structure=st,
        supply=paths,
        gdp_loss_jpy_bn=gdp_loss,
        output_loss_jpy_bn=out_loss,
        sector_output_loss_jpy_bn=sector_out,
        sector_gdp_loss_jpy_bn=sector_out * est.va_ratio[None, :],
        sector_monthly_output_loss_jpy_bn=sector_paths,
        gdp_jpy_bn=gdp,
    )


def simulate_scenarios(scenarios: list[Scenario], keep_sector_paths: bool = False) -> BatchResult:
    """Stack scenarios that share a structure and run them as one batch."""
    return simulate(stack(scenarios), keep_sector_paths=keep_sector_paths)
