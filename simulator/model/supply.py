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

import os
import sys
from dataclasses import dataclass, fields

import numpy as np

STRATEGIES = ("on_shortage", "immediate", "reserve_for_priority", "none")


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
    # Policy levers (docs/model.md, "Policy levers"); None = off.
    priority_share: np.ndarray | None = None          # (B, M) reserve_for_priority: priority sectors' share of demand
    allied_t: np.ndarray | None = None                # (B, M) allied stocks pledged to Japan
    allied_delay_months: np.ndarray | None = None     # (B,) restriction start -> partners accept orders
    allied_max_share_per_month: np.ndarray | None = None  # (B,) monthly cap / baseline demand

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
    allied_shipped_t: np.ndarray | None = None  # (B, M, H) allied shipments by month shipped; None = no allies

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
    frac = np.minimum(t0 + dt, hi)                       # in place from here: (B, S) arrays are large
    frac -= np.maximum(t0, lo)
    frac /= dt
    return np.clip(frac, 0.0, 1.0, out=frac)


def severity_path(profile, start, restricted, horizon_months, steps_per_month) -> np.ndarray:
    """Share of Chinese shipments withheld in each step, (B, S).

    ``profile`` (B, P) gives the severity in each month of the restriction;
    the last value holds after its end.
    """
    profile = np.asarray(profile, float)
    if profile.shape[1] == 1:                            # one severity: no month lookup needed
        return profile * restricted
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
    elapsed = np.minimum(t_mid, start + duration)
    elapsed -= start
    elapsed -= np.asarray(delay, float)[:, None]
    ramp = np.asarray(ramp, float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # ramp 1e-310: inf, clipped to 1
        if (ramp > 0).all():                             # the usual case, in place
            elapsed /= ramp
            prog = elapsed
        else:
            prog = np.where(ramp > 0, elapsed / ramp, np.where(elapsed >= 0, 1.0, 0.0))
    np.clip(prog, 0.0, 1.0, out=prog)
    return prog if (duration > 0).all() else np.where(duration > 0, prog, 0.0)


# --------------------------------------------------------------------------
# The step loop
# --------------------------------------------------------------------------
#
# Layout (for speed; results equal the plain formulation to round-off): inside
# the loop the scenario axis is last and contiguous, firm groups first:
# (M, B) per material, (K, M, B) per firm group, and per-step inputs are
# precomputed as (S, M, B) so that step k is one contiguous slice. Sums over
# firm groups are then sums of K contiguous slabs. Shipments in transit sit in
# a ring buffer (slot, channel, M, B): step k's arrivals are slot k % R, which
# is cleared once read, and a shipment is scattered to its two arrival slots
# with one flat fancy-index add per channel pair. The public arrays stay
# (B, M, ...): the results are transposed views.
#
# simulator/supply_numba.py is the same loop compiled, used for batches of 32+
# scenarios. Changing an equation here? Change it there too (tests/test_fast_paths.py
# compares the two). A new SupplyInputs field is safe meanwhile: batches that set
# it run here until the field is added to supply_numba.KNOWN_FIELDS.

# Channels of the arrival schedule: corporate from China, national refill,
# corporate from other sources.
_CHINA, _NAT, _OTHER = 0, 1, 2


def _ratio(num, den):
    """``num / den`` where ``den > 0``, else 0: the share of an empty pool."""
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _split_lead(lead_steps):
    """Whole steps and fraction of a lead time (a lead under one step counts as
    one step): a shipment arrives ``1 - frac`` after ``whole`` steps, ``frac``
    one step later."""
    lead = np.maximum(lead_steps, 1.0)
    whole = np.floor(lead).astype(np.intp)
    return whole, lead - whole


def _catch_pipeline(sched, on_order, k, b, inp, spm, n_pos):
    """Withhold or delay Chinese shipments in the pipeline at a restriction's start.

    Shipments due at step ``a >= k + transit`` were not yet exported. Of their
    covered share (``scope``), a share ``severity`` is withheld (dropped from
    the order book, so firms re-order) and the rest is delayed by the
    lead-time stretch; the uncovered share arrives as due. ``b``
    are the scenarios whose restriction starts in step ``k``; ``n_pos`` is the
    number of schedule positions (later ones never arrive).
    """
    R = sched.shape[0]
    transit = np.maximum(1, np.round(inp.transit_months[b] * spm).astype(int))
    scope_b = inp.scope_share[b].T                                          # (M, b)
    stretch = (inp.lead_china_months[b].max(axis=1) - inp.lead_other_months[b]) * spm
    span = min(n_pos - k - 1, int(np.ceil(inp.lead_other_months[b].max() * spm)) + 2)
    for off in range(span, -1, -1):                                   # latest first, so moves don't collide
        a = k + off
        due = off >= transit
        if not due.any():
            continue
        bb = b[due]
        china = sched[a % R, _CHINA]
        amount = china[:, bb]                                          # (M, nb), a copy
        if not amount.any():
            continue
        covered = amount * scope_b[:, due]
        keep = covered * (1.0 - inp.initial_severity[bb][None, :])
        china[:, bb] = amount - covered                                # the uncovered share arrives as due
        on_order[:, bb] -= covered - keep
        shift = stretch[due]
        f = np.floor(shift).astype(int)
        wfrac = (shift - f)[None, :]
        for pos, part in ((a + f, 1.0 - wfrac), (a + f + 1, wfrac)):
            sched[np.minimum(pos, n_pos - 1) % R, _CHINA, :, bb] += (keep * part).T


def _compiled(inp: SupplyInputs, method: str):
    """The compiled loop's module if it should run this batch, else None."""
    if method == "numpy" or (method == "auto" and (
            os.environ.get("RESIM_ENGINE", "auto") == "numpy"
            # small batches: not worth importing numba (~0.5 s), but use it once loaded
            or (inp.demand_t_per_month.shape[0] < 32 and "simulator.model.supply_numba" not in sys.modules))):
        return None
    try:
        from simulator.model import supply_numba
    except ImportError:
        if method == "numba":
            raise
        return None
    unknown = [f.name for f in fields(inp)
               if f.name not in supply_numba.KNOWN_FIELDS and getattr(inp, f.name) is not None]
    if unknown:
        if method == "numba":
            raise ValueError(f"the compiled loop does not implement {unknown}")
        return None
    return supply_numba


def simulate_supply(inp: SupplyInputs, method: str = "auto") -> SupplyPaths:
    """Run the material layer for every scenario of the batch.

    Returns monthly paths; see :class:`SupplyPaths`.

    Parameters
    ----------
    inp : SupplyInputs
    method : {"auto", "numpy", "numba"}
        ``numpy`` is this function's loop, the reference. ``numba`` is the
        same equations compiled (:mod:`simulator.model.supply_numba`), equal to
        round-off. ``auto`` uses the compiled loop when numba is installed,
        the environment variable ``RESIM_ENGINE`` is not ``numpy``, and the
        batch has 32 or more scenarios or the compiled loop is already loaded.
    """
    if inp.strategy not in STRATEGIES:
        raise ValueError(f"unknown stockpile strategy {inp.strategy!r}")
    fast = _compiled(inp, method)
    if fast is not None:
        return fast.simulate_supply(inp)
    spm, H = inp.steps_per_month, inp.horizon_months
    dt, S = inp.dt, inp.n_steps
    B, M = inp.demand_t_per_month.shape
    K = inp.group_share.shape[1]
    strategy = inp.strategy

    D0 = np.ascontiguousarray(inp.demand_t_per_month.T)                     # (M, B) t/month
    cs = np.ascontiguousarray(inp.china_share.T)
    w = np.ascontiguousarray(inp.group_share.T)[:, None, :]                  # (K, 1, B)
    w_sum = w.sum(axis=0)                                                     # (1, B)
    w_full = np.ascontiguousarray(np.broadcast_to(w, (K, M, B)))
    target = np.ascontiguousarray(inp.cover_months.transpose(2, 1, 0) * w * D0[None])   # (K, M, B) t
    target_sum = target.sum(axis=0)
    stock = target.copy()

    # Per-step inputs (S, M, B), t/month.
    demand_all = D0[None] * (1.0 - np.ascontiguousarray(inp.substitution_share.transpose(2, 1, 0)))
    lead_c_months = np.ascontiguousarray(inp.lead_china_months.T)                 # (S, B)
    lead_o_months = inp.lead_other_months                                         # (B,)
    scope = np.ascontiguousarray(inp.scope_share.T)                                # (M, B)
    # Only the covered share of the Chinese flow waits the restricted lead time.
    # The order book is read after the step's arrivals and before its orders, so
    # in steady state it holds demand x (lead - dt); a lead under a step counts as one.
    in_book_c = np.maximum(lead_c_months, dt) - dt                                  # (S, B)
    in_book_o = np.maximum(lead_o_months, dt) - dt                                  # (B,)
    lead_cov = scope[None] * in_book_c[:, None, :] + (1.0 - scope[None]) * in_book_o[None, None, :]
    pipeline_target_all = demand_all * (cs[None] * lead_cov + ((1.0 - cs) * in_book_o[None, :])[None])
    severity = np.ascontiguousarray(inp.severity.T)[:, None, :]                   # (S, 1, B)
    # China ships what firms order up to its ceiling, less the withheld share.
    china_cap_all = np.broadcast_to((cs * D0 * inp.china_max_ratio.T)[None], (S, M, B))
    china_pass_all = 1.0 - scope[None] * severity                                  # (S, M, B)
    other_cap_all = ((1.0 - cs) * D0)[None] + np.ascontiguousarray(inp.alternative_share.transpose(2, 1, 0)) * D0[None]

    # Arrival schedule: positions 0 .. n_pos-1 (those >= S never arrive) in a
    # ring of R slots; R exceeds the furthest write ahead of the current step
    # (2 * max_lead - 1, by a pipeline catch).
    lead_c_steps = inp.lead_china_months * spm
    lead_o_steps = inp.lead_other_months * spm
    max_lead = int(np.ceil(max(lead_c_steps.max(initial=1.0), lead_o_steps.max(initial=1.0)))) + 2
    n_pos = S + max_lead + 1
    R = 2 * max_lead + 1
    sched = np.zeros((R, 3, M, B))
    flat = sched.reshape(-1)
    row = 3 * M * B
    fc, wc = _split_lead(np.ascontiguousarray(lead_c_steps.T))    # (S, B) Chinese orders of step k
    wc1 = 1.0 - wc
    fo, wo = _split_lead(lead_o_steps)                              # (B,) other sources
    wo1 = 1.0 - wo
    cell = np.arange(M * B).reshape(M, B)
    # Chinese-lead shipments fill channels CHINA and NAT, other-lead ones NAT and OTHER.
    cells_c = np.stack([cell + _CHINA * M * B, cell + _NAT * M * B])         # (2, M, B)
    cells_o = np.stack([cell + _NAT * M * B, cell + _OTHER * M * B])

    # Steady state before t=0: orders of D0*dt every step, already in transit
    # (before t=0 every source ran at the normal lead time).
    base_c = cs * D0 * dt
    base_o = (1.0 - cs) * D0 * dt
    b_all = np.arange(B)
    for k in range(-max_lead - 1, 0):
        for shift, part in ((0, wo1), (1, wo)):
            pos = k + fo + shift
            ok = pos >= 0
            sched[pos[ok], _CHINA, :, b_all[ok]] += (base_c * part)[:, ok].T
            sched[pos[ok], _OTHER, :, b_all[ok]] += (base_o * part)[:, ok].T
    on_order = sched[:, _CHINA].sum(axis=0) + sched[:, _OTHER].sum(axis=0)   # (M, B)
    on_order_nat = np.zeros((M, B))
    national = np.array(inp.national_t.T)
    national_target = national.copy()
    opening_corp = stock.sum(axis=0)
    opening_nat = national.copy()

    # Rules as (S, B) masks and rates.
    t_step = np.arange(S) * dt
    start = inp.restriction_start_month
    end = inp.restriction_end_month
    has_restriction = end > start
    started_all = has_restriction[None, :] & (t_step[:, None] + dt > start[None, :])
    starting_all = has_restriction[None, :] & (start[None, :] >= t_step[:, None]) & (start[None, :] < t_step[:, None] + dt)
    in_window_all = started_all & (t_step[:, None] < end[None, :])
    refill_on_all = (inp.refill_months > 0)[None, :] & has_restriction[None, :] & (t_step[:, None] >= end[None, :])
    refill_rate = np.where(refill_on_all, 1.0 / np.where(inp.refill_months > 0, inp.refill_months, 1.0)[None, :], 0.0)
    any_started = started_all.any(axis=1)
    any_starting = starting_all.any(axis=1)
    any_refill = refill_on_all.any(axis=1)
    cap_release = inp.max_release_share_per_month[None, :] * D0 * dt
    trigger_t = inp.trigger_cover_months[None, :] * D0
    delay = inp.decision_delay_months[None, :]
    restock = inp.restock_months[None, :]
    tiny = 1e-12 * D0 * dt
    priority_share = None if inp.priority_share is None else inp.priority_share.T

    rec_arr = np.zeros((H, 3, M, B))                       # arrivals by channel
    rec = {name: np.zeros((H, M, B)) for name in (
        "use_t", "shortfall_t", "release_t", "corporate_stock_t", "national_stock_t")}
    allied = None if inp.allied_t is None else np.array(inp.allied_t.T)
    if allied is not None:
        allied_cap = inp.allied_max_share_per_month[None, :] * D0 * dt
        allied_open = (started_all & (t_step[:, None] + 1e-9 >= (start + inp.allied_delay_months)[None, :])
                       & (t_step[:, None] < end[None, :]))
        any_allied = allied_open.any(axis=1)
        rec["allied_shipped_t"] = np.zeros((H, M, B))
    first_short = np.full((M, B), np.inf)
    group_first = np.full((K, M, B), np.inf)
    trigger_time = np.full((M, B), np.inf)

    use_need = np.empty((K, M, B))
    buf = np.empty((K, M, B))
    short = np.empty((K, M, B))
    vals = np.empty((2, M, B))
    parts = np.empty((2, M, B))
    idx = np.empty((2, M, B), dtype=np.intp)
    slot_of = np.empty(B, dtype=np.intp)

    def schedule(k, whole, frac, frac1, cells):
        """Scatter ``vals`` (two channels) to arrive ``whole`` (+1) steps after k."""
        np.add(whole, k, out=slot_of)
        np.remainder(slot_of, R, out=slot_of)
        np.multiply(slot_of, row, out=slot_of)
        np.add(slot_of, cells, out=idx)
        np.multiply(vals, frac1, out=parts)
        flat[idx] += parts
        np.add(idx, row, out=idx)
        np.remainder(idx, R * row, out=idx)
        np.multiply(vals, frac, out=parts)
        flat[idx] += parts

    for k in range(S):
        t = k * dt
        mon = k // spm
        demand = demand_all[k]
        np.multiply(w_full, demand, out=use_need)
        use_need *= dt                                            # (K, M, B) this step

        # 1. arrivals
        slot = sched[k % R]
        arr_c, arr_nat, arr_o = slot[_CHINA], slot[_NAT], slot[_OTHER]
        arr = arr_c + arr_o
        on_order -= arr
        on_order_nat -= arr_nat
        national += arr_nat

        # 1b. at the start of a restriction, Chinese orders not yet exported
        # are caught: the withheld share never arrives, the rest waits for
        # the restricted lead time like new orders.
        if any_starting[k]:
            _catch_pipeline(sched, on_order, k, np.flatnonzero(starting_all[k]), inp, spm, n_pos)

        # 2. share arrivals among firm groups: first what each group lacks
        # for this step's use, then toward its target stock, then by demand share
        np.subtract(use_need, stock, out=buf)
        np.maximum(buf, 0.0, out=buf)                             # lack
        lack_sum = buf.sum(axis=0)
        first = np.minimum(arr, lack_sum)
        buf *= _ratio(first, lack_sum)
        stock += buf
        left = arr - first
        np.add(target, use_need, out=buf)
        buf -= stock
        np.maximum(buf, 0.0, out=buf)                             # gap to target
        gap_sum = buf.sum(axis=0)
        second = np.minimum(left, gap_sum)
        buf *= _ratio(second, gap_sum)
        stock += buf
        np.multiply(w_full, _ratio(left - second, w_sum), out=buf)
        stock += buf                                              # available

        # 3. use
        np.minimum(use_need, stock, out=buf)                      # use
        stock -= buf
        use_sum = buf.sum(axis=0)
        np.subtract(use_need, buf, out=short)                     # >= 0: use = min(need, available)
        short_sum = short.sum(axis=0)

        # 4. national release
        release = None
        if strategy in ("on_shortage", "reserve_for_priority"):
            stock_sum = stock.sum(axis=0)
            if any_started[k]:
                # trigger: corporate cover below the threshold, or any firm group short
                newly = started_all[k] & np.isinf(trigger_time) & ((stock_sum < trigger_t) | (short_sum > tiny))
                trigger_time = np.where(newly, t, trigger_time)
                active = t + 1e-9 >= trigger_time + delay
                if active.any():
                    covered = short_sum
                    if strategy == "reserve_for_priority":
                        # only the priority sectors' part of the shortfall (users short alike)
                        covered = covered * priority_share
                    release = np.where(active, np.minimum(np.minimum(cap_release, national), covered), 0.0)
                    rel_ratio = _ratio(release, short_sum)
        elif strategy == "immediate":
            if any_started[k]:
                budget = np.minimum(cap_release, national)
                to_short = np.where(started_all[k], np.minimum(budget, short_sum), 0.0)
                rel_ratio = _ratio(to_short, short_sum)
                extra = np.where(in_window_all[k], budget - to_short, 0.0)
                np.multiply(w_full, _ratio(extra, w_sum), out=buf)
                stock += buf
                release = to_short + extra
            stock_sum = stock.sum(axis=0)
        else:
            stock_sum = stock.sum(axis=0)
        if release is not None:
            national -= release
            np.multiply(short, rel_ratio, out=buf)               # released to each group
            use_sum += buf.sum(axis=0)
            short -= buf
            short_sum = short.sum(axis=0)

        # 5. orders and shipments
        position = stock_sum + on_order
        order = np.maximum(0.0, demand + (target_sum + pipeline_target_all[k] - position) / restock)
        if any_refill[k]:
            total = order + np.maximum(0.0, national_target - national - on_order_nat) * refill_rate[k]
        else:
            total = order
        ship_c = np.minimum(cs * total, china_cap_all[k]) * china_pass_all[k]
        ship_o = np.minimum(total - ship_c, other_cap_all[k])
        ship_c *= dt                                              # t this step
        ship_o *= dt
        order *= dt
        # firms are served before the national refill
        corp_c = np.minimum(ship_c, order)
        order -= corp_c                                           # firms' open orders
        corp_o = np.minimum(ship_o, order)
        nat_o = ship_o - corp_o
        if allied is not None and any_allied[k]:
            # Allies fill firms' orders that China and other sources leave open.
            ship_a = np.where(allied_open[k], np.minimum(np.minimum(np.maximum(0.0, order - corp_o), allied_cap), allied), 0.0)
            allied -= ship_a
            corp_o = corp_o + ship_a
            rec["allied_shipped_t"][mon] += ship_a
        # covered share at the Chinese lead time, the rest at the normal one
        nat_c = ship_c - corp_c
        np.multiply(corp_c, scope, out=vals[0])
        np.multiply(nat_c, scope, out=vals[1])
        schedule(k, fc[k], wc[k], wc1[k], cells_c)
        np.multiply(corp_c, 1.0 - scope, out=vals[0])
        np.multiply(nat_c, 1.0 - scope, out=vals[1])
        schedule(k, fo, wo, wo1, cells_c)
        on_order += corp_c
        on_order_nat += nat_c
        vals[0] = nat_o
        vals[1] = corp_o
        schedule(k, fo, wo, wo1, cells_o)
        on_order += corp_o
        on_order_nat += nat_o

        # record
        rec_arr[mon] += slot
        rec["use_t"][mon] += use_sum
        rec["shortfall_t"][mon] += short_sum
        if release is not None:
            rec["release_t"][mon] += release
        is_short = short_sum > tiny
        if is_short.any():              # a group short by > tiny implies the sum is
            first_short = np.where(is_short & np.isinf(first_short), t, first_short)
            group_first = np.where((short > tiny) & np.isinf(group_first), t, group_first)
        if (k + 1) % spm == 0:
            rec["corporate_stock_t"][mon] = stock_sum
            rec["national_stock_t"][mon] = national
        slot[...] = 0.0

    rec["demand_t"] = (demand_all * dt).reshape(H, spm, M, B).sum(axis=1)
    rec["arrivals_china_t"] = rec_arr[:, _CHINA]
    rec["arrivals_other_t"] = rec_arr[:, _OTHER]
    rec["arrivals_national_t"] = rec_arr[:, _NAT]
    out = {name: v.transpose(2, 1, 0) for name, v in rec.items()}        # (B, M, H) views
    return SupplyPaths(
        demand_baseline_t=np.broadcast_to(inp.demand_t_per_month[:, :, None], (B, M, H)).copy(),
        opening_corporate_t=opening_corp.T,
        opening_national_t=opening_nat.T,
        first_shortage_month=first_short.T,
        group_first_shortage_month=group_first.transpose(2, 1, 0),
        **out,
    )
