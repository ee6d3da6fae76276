"""Material supply layer: stocks and flows of rare earths, per material, per step.

Pure functions over numpy arrays with a leading scenario axis ``B``;
materials ``M``; firm groups ``K``; internal steps ``S`` of ``dt`` months.
Equations and parameter sources are in ``docs/model.md`` (section
"Material supply"). In one step, for every scenario and material:

1. scheduled arrivals land (Chinese and other shipments, national refill);
2. arrivals are shared among firm groups: first what each group lacks
   for this step's use, then what brings it back to its target stock,
   then the rest by demand share;
3. each group uses ``min(demand, stock)``; what is missing is shortfall;
4. the national stockpile releases to cover shortfall (release rule);
5. firms order demand plus a correction toward target stock and target
   pipeline; China ships up to its (restricted) capacity, other sources
   up to theirs; shipments are scheduled to arrive after their lead time.

Material balance closes every step: opening stocks + arrivals = use +
closing stocks (corporate and national).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STRATEGIES = ("on_shortage", "immediate", "none")


@dataclass(frozen=True)
class SupplyInputs:
    """Batched inputs of :func:`simulate_supply` (units in field names)."""

    steps_per_month: int
    horizon_months: int
    demand_t_per_month: np.ndarray          # (B, M) baseline
    china_share: np.ndarray                 # (B, M)
    china_max_ratio: np.ndarray             # (B, M)
    scope_share: np.ndarray                 # (B, M) share of Chinese flow restricted
    severity: np.ndarray                    # (B, S) share withheld (already x restricted fraction)
    restricted: np.ndarray                  # (B, S) share of the step under restriction
    lead_china_months: np.ndarray           # (B, S) lead time of Chinese orders placed in the step
    lead_other_months: np.ndarray           # (B,) lead time of other sources
    transit_months: np.ndarray              # (B,) last part of the lead time, after export
    initial_severity: np.ndarray            # (B,) severity in the first restricted month
    substitution_share: np.ndarray          # (B, M, S) demand reduction
    alternative_share: np.ndarray           # (B, M, S) extra non-Chinese capacity / baseline demand
    cover_months: np.ndarray                # (B, M, K) corporate cover per firm group
    group_share: np.ndarray                 # (B, K) demand share per firm group
    restock_months: np.ndarray              # (B,)
    national_t: np.ndarray                  # (B, M) national stockpile at t=0
    strategy: str                           # one of STRATEGIES
    trigger_cover_months: np.ndarray        # (B,)
    decision_delay_months: np.ndarray       # (B,)
    max_release_share_per_month: np.ndarray  # (B,)
    refill_months: np.ndarray               # (B,) 0 = no refill
    restriction_start_month: np.ndarray     # (B,)
    restriction_end_month: np.ndarray       # (B,) = start for no restriction

    @property
    def dt(self) -> float:
        return 1.0 / self.steps_per_month

    @property
    def n_steps(self) -> int:
        return self.horizon_months * self.steps_per_month


@dataclass(frozen=True)
class SupplyPaths:
    """Monthly paths (B, M, H) in tonnes per month, stocks at month end."""

    demand_baseline_t: np.ndarray
    demand_t: np.ndarray
    arrivals_china_t: np.ndarray
    arrivals_other_t: np.ndarray
    arrivals_national_t: np.ndarray
    use_t: np.ndarray
    shortfall_t: np.ndarray
    release_t: np.ndarray
    corporate_stock_t: np.ndarray
    national_stock_t: np.ndarray
    opening_corporate_t: np.ndarray    # (B, M) at t=0
    opening_national_t: np.ndarray     # (B, M) at t=0
    first_shortage_month: np.ndarray   # (B, M) months from t=0, inf if none
    group_first_shortage_month: np.ndarray  # (B, M, K)

    @property
    def shortage_share(self) -> np.ndarray:
        """Unmet share of (substitution-reduced) demand, (B, M, H)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.demand_t > 0, self.shortfall_t / self.demand_t, 0.0)


# --------------------------------------------------------------------------
# Time profiles
# --------------------------------------------------------------------------

def step_times(horizon_months: int, steps_per_month: int) -> np.ndarray:
    """Start time of each step, months."""
    return np.arange(horizon_months * steps_per_month) / steps_per_month


def restricted_fraction(start, duration, horizon_months, steps_per_month) -> np.ndarray:
    """Share of each step inside ``[start, start + duration)``, (B, S).

    Fractional overlap keeps results continuous in start and duration,
    which calibration's root finding relies on.
    """
    dt = 1.0 / steps_per_month
    t0 = step_times(horizon_months, steps_per_month)[None, :]
    lo = np.asarray(start, float)[:, None]
    hi = lo + np.asarray(duration, float)[:, None]
    return np.clip((np.minimum(t0 + dt, hi) - np.maximum(t0, lo)) / dt, 0.0, 1.0)


def severity_path(profile, start, restricted, horizon_months, steps_per_month) -> np.ndarray:
    """Share of Chinese shipments withheld in each step, (B, S).

    ``profile`` (B, P) gives the severity in each month of the restriction;
    the last value holds after its end.
    """
    profile = np.asarray(profile, float)
    t_mid = step_times(horizon_months, steps_per_month)[None, :] + 0.5 / steps_per_month
    month = np.floor(t_mid - np.asarray(start, float)[:, None]).astype(int)
    month = np.clip(month, 0, profile.shape[1] - 1)
    return np.take_along_axis(profile, month, axis=1) * restricted


def ramp_progress(start, duration, delay, ramp, horizon_months, steps_per_month) -> np.ndarray:
    """Linear ramp from ``start + delay`` over ``ramp`` months, frozen when the
    restriction ends (effort stops), zero without a restriction; (B, S)."""
    t_mid = step_times(horizon_months, steps_per_month)[None, :] + 0.5 / steps_per_month
    start = np.asarray(start, float)[:, None]
    duration = np.asarray(duration, float)[:, None]
    elapsed = np.minimum(t_mid, start + duration) - start - np.asarray(delay, float)[:, None]
    ramp = np.asarray(ramp, float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        prog = np.where(ramp > 0, elapsed / ramp, np.where(elapsed >= 0, 1.0, 0.0))
    return np.where(duration > 0, np.clip(prog, 0.0, 1.0), 0.0)


# --------------------------------------------------------------------------
# The step loop
# --------------------------------------------------------------------------

def _schedule(sched, k, lead_steps, amount, pre=False):
    """Add ``amount`` (B, M) to arrive ``lead_steps`` (B,) after step k,
    split linearly between the two neighbouring steps for fractional leads
    (a lead shorter than one step counts as one step). With ``pre``, k < 0
    is an order placed before the horizon and only arrivals at t >= 0 count."""
    lead = np.maximum(lead_steps, 1.0)
    f = np.floor(lead).astype(int)
    w = (lead - f)[:, None]
    b = np.arange(sched.shape[0])
    for idx, part in ((k + f, 1.0 - w), (k + f + 1, w)):
        if pre:
            ok = idx >= 0
            sched[b[ok], :, idx[ok]] += (amount * part)[ok]
        else:
            sched[b, :, idx] += amount * part


def _catch_pipeline(sched, sched_c, on_order, k, mask, inp, spm):
    """Withhold or delay Chinese shipments in the pipeline at a restriction's start.

    Shipments due at step ``a >= k + transit`` were not yet exported: a share
    ``scope * severity`` of them is withheld (dropped from the order book, so
    firms re-order) and the rest is delayed by the lead-time stretch.
    """
    b = np.flatnonzero(mask)
    transit = np.maximum(1, np.round(inp.transit_months[b] * spm).astype(int))
    withhold = inp.scope_share[b] * inp.initial_severity[b][:, None]    # (b, M)
    stretch = (inp.lead_china_months[b].max(axis=1) - inp.lead_other_months[b]) * spm
    horizon = sched.shape[2]
    span = min(sched.shape[2] - k - 1, int(np.ceil(inp.lead_other_months[b].max() * spm)) + 2)
    for off in range(span, -1, -1):                                   # latest first, so moves don't collide
        a = k + off
        due = off >= transit
        if not due.any():
            continue
        bb = b[due]
        amount = sched_c[bb, :, a].copy()
        if not amount.any():
            continue
        keep = amount * (1.0 - withhold[due])
        sched[bb, :, a] -= amount
        sched_c[bb, :, a] -= amount
        on_order[bb] -= amount - keep
        shift = stretch[due]
        f = np.floor(shift).astype(int)
        wfrac = (shift - f)[:, None]
        for idx, part in ((a + f, 1.0 - wfrac), (a + f + 1, wfrac)):
            idx = np.minimum(idx, horizon - 1)
            sched[bb, :, idx] += keep * part
            sched_c[bb, :, idx] += keep * part


def _share(total, weights):
    """Split ``total`` (..., 1) in proportion to ``weights`` (..., K)."""
    wsum = weights.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(wsum > 0, total * weights / wsum, 0.0)


def simulate_supply(inp: SupplyInputs) -> SupplyPaths:
    """Run the material layer for every scenario of the batch.

    Returns monthly paths; see :class:`SupplyPaths`.
    """
    if inp.strategy not in STRATEGIES:
        raise ValueError(f"unknown stockpile strategy {inp.strategy!r}")
    spm, H = inp.steps_per_month, inp.horizon_months
    dt, S = inp.dt, inp.n_steps
    D0 = inp.demand_t_per_month
    B, M = D0.shape
    K = inp.group_share.shape[1]
    cs = inp.china_share
    w = inp.group_share[:, None, :]                         # (B, 1, K)
    target = inp.cover_months * w * D0[:, :, None]          # (B, M, K) tonnes
    stock = target.copy()
    lead_c_steps = inp.lead_china_months * spm              # (B, S)
    lead_o_steps = inp.lead_other_months * spm              # (B,)
    max_lead = int(np.ceil(max(lead_c_steps.max(initial=1.0), lead_o_steps.max(initial=1.0)))) + 2
    sched = np.zeros((B, M, S + max_lead + 1))              # corporate stream
    sched_nat = np.zeros_like(sched)                         # national refill stream
    # Steady state before t=0: orders of D0*dt every step, already in transit.
    base_c = cs * D0 * dt
    base_o = (1.0 - cs) * D0 * dt
    # (before t=0 every source ran at the normal lead time)
    for k in range(-max_lead - 1, 0):
        _schedule(sched, k, lead_o_steps, base_c + base_o, pre=True)
    on_order = sched.sum(axis=2)
    on_order_nat = np.zeros((B, M))
    national = inp.national_t.copy()
    national_target = inp.national_t.copy()
    opening_corp = stock.sum(axis=2).copy()
    opening_nat = national.copy()

    shape = (B, M, H)
    out = {name: np.zeros(shape) for name in (
        "demand_t", "arrivals_china_t", "arrivals_other_t", "arrivals_national_t",
        "use_t", "shortfall_t", "release_t", "corporate_stock_t", "national_stock_t")}
    first_short = np.full((B, M), np.inf)
    group_first = np.full((B, M, K), np.inf)
    trigger_time = np.full((B, M), np.inf)
    # China/other split of what is in the corporate pipeline, for reporting arrivals by source.
    sched_src_c = np.zeros_like(sched)
    for k in range(-max_lead - 1, 0):
        _schedule(sched_src_c, k, lead_o_steps, base_c, pre=True)

    start = inp.restriction_start_month[:, None]
    end = inp.restriction_end_month[:, None]
    has_restriction = (inp.restriction_end_month > inp.restriction_start_month)[:, None]
    cap_release = inp.max_release_share_per_month[:, None] * D0 * dt
    trigger_t = inp.trigger_cover_months[:, None] * D0
    restock = inp.restock_months[:, None]
    refill = inp.refill_months[:, None]
    tiny = 1e-12 * D0 * dt

    for k in range(S):
        t = k * dt
        mon = k // spm
        demand = D0 * (1.0 - inp.substitution_share[:, :, k])      # t/month
        use_need = demand[:, :, None] * w * dt                       # (B, M, K) this step

        # 1. arrivals
        arr = sched[:, :, k]
        arr_c = sched_src_c[:, :, k]
        arr_nat = sched_nat[:, :, k]
        on_order -= arr
        on_order_nat -= arr_nat
        national += arr_nat

        # 1b. at the start of a restriction, Chinese orders not yet exported
        # are caught: the withheld share never arrives, the rest waits for
        # the restricted lead time like new orders.
        starting = has_restriction[:, 0] & (inp.restriction_start_month >= t) & (inp.restriction_start_month < t + dt)
        if starting.any():
            _catch_pipeline(sched, sched_src_c, on_order, k, starting, inp, spm)

        # 2. share arrivals among firm groups
        lack = np.maximum(0.0, use_need - stock)
        first = np.minimum(arr, lack.sum(axis=2))
        alloc = _share(first[:, :, None], lack)
        left = arr - first
        gap = np.maximum(0.0, target + use_need - stock - alloc)
        second = np.minimum(left, gap.sum(axis=2))
        alloc += _share(second[:, :, None], gap)
        alloc += _share((left - second)[:, :, None], np.broadcast_to(w, alloc.shape))

        # 3. use
        avail = stock + alloc
        use = np.minimum(use_need, avail)
        stock = avail - use
        short = np.maximum(0.0, use_need - use)

        # 4. national release
        started = has_restriction & (t + dt > start)
        if inp.strategy == "on_shortage":
            newly = started & np.isinf(trigger_time) & (stock.sum(axis=2) < trigger_t)
            trigger_time = np.where(newly, t, trigger_time)
            active = t + 1e-9 >= trigger_time + inp.decision_delay_months[:, None]
            release = np.where(active, np.minimum(np.minimum(cap_release, national), short.sum(axis=2)), 0.0)
            rel = _share(release[:, :, None], short)
        elif inp.strategy == "immediate":
            in_window = started & (t < end)
            after = started & (t >= end)
            budget = np.minimum(cap_release, national)
            to_short = np.where(in_window | after, np.minimum(budget, short.sum(axis=2)), 0.0)
            rel = _share(to_short[:, :, None], short)
            extra = np.where(in_window, budget - to_short, 0.0)
            stock = stock + _share(extra[:, :, None], np.broadcast_to(w, stock.shape))
            release = to_short + extra
        else:
            release = np.zeros((B, M))
            rel = np.zeros_like(short)
        national = national - release
        use = use + rel
        short = short - rel

        # 5. orders and shipments
        lc = inp.lead_china_months[:, k][:, None]
        lo = inp.lead_other_months[:, None]
        pipeline_target = demand * (cs * lc + (1.0 - cs) * lo)
        position = stock.sum(axis=2) + on_order
        order = np.maximum(0.0, demand + (target.sum(axis=2) + pipeline_target - position) / restock)
        refill_order = np.where(
            (refill > 0) & has_restriction & (t >= end),
            np.maximum(0.0, national_target - national - on_order_nat) / np.where(refill > 0, refill, 1.0),
            0.0,
        )
        total = order + refill_order
        china_cap = cs * D0 * inp.china_max_ratio * (1.0 - inp.scope_share * inp.severity[:, k][:, None])
        ship_c = np.minimum(cs * total, china_cap)
        other_cap = (1.0 - cs) * D0 + inp.alternative_share[:, :, k] * D0
        ship_o = np.minimum(total - ship_c, other_cap)
        # firms are served before the national refill
        corp_c = np.minimum(ship_c * dt, order * dt)
        corp_o = np.minimum(ship_o * dt, order * dt - corp_c)
        nat_c = ship_c * dt - corp_c
        nat_o = ship_o * dt - corp_o
        _schedule(sched, k, lead_c_steps[:, k], corp_c)
        _schedule(sched_src_c, k, lead_c_steps[:, k], corp_c)
        _schedule(sched, k, lead_o_steps, corp_o)
        _schedule(sched_nat, k, lead_c_steps[:, k], nat_c)
        _schedule(sched_nat, k, lead_o_steps, nat_o)
        on_order += corp_c + corp_o
        on_order_nat += nat_c + nat_o

        # record
        out["demand_t"][:, :, mon] += demand * dt
        out["arrivals_china_t"][:, :, mon] += arr_c
        out["arrivals_other_t"][:, :, mon] += arr - arr_c
        out["arrivals_national_t"][:, :, mon] += arr_nat
        out["use_t"][:, :, mon] += use.sum(axis=2)
        out["shortfall_t"][:, :, mon] += short.sum(axis=2)
        out["release_t"][:, :, mon] += release
        is_short = short.sum(axis=2) > tiny
        first_short = np.where(is_short & np.isinf(first_short), t, first_short)
        group_first = np.where((short > tiny[:, :, None]) & np.isinf(group_first), t, group_first)
        if (k + 1) % spm == 0:
            out["corporate_stock_t"][:, :, mon] = stock.sum(axis=2)
            out["national_stock_t"][:, :, mon] = national

    return SupplyPaths(
        demand_baseline_t=np.broadcast_to(D0[:, :, None], shape).copy(),
        opening_corporate_t=opening_corp,
        opening_national_t=opening_nat,
        first_shortage_month=first_short,
        group_first_shortage_month=group_first,
        **out,
    )
