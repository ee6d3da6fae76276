"""Material supply layer: stocks and flows of rare earths, per material, per step.

Equations and parameter sources are in ``docs/model.md`` (section
"Material supply"). In one step, for every scenario and material:

1. :func:`land_arrivals`: scheduled arrivals land (Chinese and other
   shipments, national refill); at a restriction's start
   :func:`catch_pipeline` withholds or delays Chinese cargo not yet exported;
2. :func:`share_arrivals`: arrivals are shared among firm groups: first what
   each group lacks for this step's use, then what brings it back to its
   target stock, then the rest by demand share;
3. :func:`use_material`: each group uses ``min(demand, stock)``; what is
   missing is shortfall;
4. :func:`release_national`: the national stockpile releases to cover
   shortfall (release rule);
5. :func:`place_orders`: firms order demand plus a correction toward target
   stock and target pipeline; China ships up to its (restricted) capacity,
   other sources and allies up to theirs; shipments are scheduled to arrive
   after their lead time.

Material balance closes every step: opening stocks + arrivals = use +
closing stocks (corporate and national).

**One definition, two ways to run it.** The step functions are written once,
with numpy operations over arrays whose *last* axis is the scenario batch
and plain loops only over the small axes (firm groups, materials, ring
slots). :func:`run_steps` calls them step by step. Run by the Python
interpreter (``method="numpy"``), each operation is vectorised over the
whole batch; compiled by numba (:mod:`simulator.model.supply_numba`,
``method="numba"``), the very same functions run on lanes of a few dozen
scenarios at machine speed. The only kernel-specific code is
:func:`scatter_add` (fancy indexing here, a loop when compiled), which a
test checks on random inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from simulator.model.profiles import ramp_progress, restricted_fraction, severity_path, step_times

__all__ = ["STRATEGIES", "SupplyInputs", "SupplyPaths", "prepare", "run_steps", "to_paths", "ramp_progress",
           "restricted_fraction", "severity_path", "step_times"]

#: National stockpile release rules, in the order of their integer codes.
STRATEGIES = ("on_shortage", "immediate", "reserve_for_priority", "none")
ON_SHORTAGE, IMMEDIATE, RESERVE, NONE = range(4)
#: Channels of the arrival schedule: corporate from China, national refill,
#: corporate from other sources (incl. allies).
CHINA, NAT, OTHER = 0, 1, 2
#: Shortfall below this share of a step's baseline demand is round-off, not a shortage.
TINY = 1e-12


@dataclass(frozen=True)
class SupplyInputs:
    """Batched inputs of :func:`simulator.model.material.simulate_supply` (units in field names)."""

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
    initial_severity: np.ndarray            # (1, B) (B,) severity in the first restricted month
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
        """Step length, months."""
        return 1.0 / self.steps_per_month

    @property
    def n_steps(self) -> int:
        """Steps in the horizon."""
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
# The loop's records. Every array ends in (material, scenario) axes (M, B):
# an element (m, b) is one material of one scenario, and elements never
# interact, so a step can run for all of them at once or one at a time.
# --------------------------------------------------------------------------

class LoopParams(NamedTuple):
    """Inputs of the step loop (C-contiguous arrays).

    Shapes: per element (M, B); per step (S, M, B); per firm group (K, M, B).
    What does not depend on the material has a material axis of one,
    (1, B), (S, 1, B) or (K, 1, B), and is read at ``[0, b]``. Amounts in
    tonnes per month unless the name says per step.
    """

    spm: int                         # steps per month
    dt: float                        # step length, months
    mask: int                        # slots of the arrival ring - 1 (a power of two - 1)
    n_pos: int                       # schedule positions (later ones never arrive)
    n_groups: int                    # firm groups K
    strategy: int                    # index into STRATEGIES
    has_allied: bool
    D0: np.ndarray                   # baseline demand
    cs: np.ndarray                   # China share
    scope: np.ndarray                # share of the Chinese flow covered
    w: np.ndarray                    # (K, 1, B) demand share per firm group
    w_sum: np.ndarray                # (1, B) sum of the groups' shares
    target: np.ndarray               # (K, M, B) target stock, t
    target_sum: np.ndarray           # the firms' total target stock, t
    china_cap: np.ndarray            # China's ceiling, t/month
    cap_release: np.ndarray          # national release cap, t/step
    trigger_t: np.ndarray            # corporate stock that triggers a release, t
    tiny: np.ndarray                 # shortfall counted as none, t/step
    delay: np.ndarray                # (1, B) decision delay, months
    restock: np.ndarray              # (1, B) months to close gaps
    priority_share: np.ndarray       # reserve_for_priority: the priority sectors' share
    allied_cap: np.ndarray           # allied shipments per step, t
    in_book_o: np.ndarray            # (1, B) steady-state order book of other sources, months
    fo: np.ndarray                   # (1, B) whole steps of the other lead time (int)
    wo: np.ndarray                   # (1, B) fraction arriving one step later
    transit: np.ndarray              # (1, B) steps of the lead time after export (int)
    stretch_whole: np.ndarray        # (1, B) lead-time stretch, whole steps (int)
    stretch_frac: np.ndarray         # (1, B) and fraction
    initial_severity: np.ndarray     # (1, B) severity in the first restricted month
    subst: np.ndarray                # (S, M, B) demand reduction share
    alt: np.ndarray                  # (S, M, B) extra non-Chinese capacity / baseline demand
    severity: np.ndarray             # (S, 1, B) share of Chinese shipments withheld
    in_book_c: np.ndarray            # (S, 1, B) steady-state order book of Chinese orders, months
    fc: np.ndarray                   # (S, 1, B) whole steps of the Chinese lead time (int)
    wc: np.ndarray                   # (S, 1, B) fraction arriving one step later
    started: np.ndarray              # (S, 1, B) bool: restriction has started
    starting: np.ndarray             # (S, 1, B) bool: restriction starts in the step
    in_window: np.ndarray            # (S, 1, B) bool: inside the restriction
    refill_rate: np.ndarray          # (S, 1, B) share of the refill gap ordered per month
    allied_open: np.ndarray          # (S, 1, B) bool: partners accept orders


class Clock(NamedTuple):
    """Where the loop is: step ``k`` at ``t`` months, in ``month``, arrivals in ring ``slot``."""

    k: int
    t: float
    month: int
    slot: int
    month_end: bool


def clock(p: "LoopParams", k: int) -> Clock:
    """The :class:`Clock` of step ``k``."""
    return Clock(k, k * p.dt, k // p.spm, k & p.mask, (k + 1) % p.spm == 0)


class LoopState(NamedTuple):
    """Mutable state of the step loop (tonnes), per element (M, B)."""

    stock: np.ndarray                # (K, M, B) corporate stock per firm group
    short: np.ndarray                # (K, M, B) this step's shortfall per group
    demand: np.ndarray               # this step's demand after substitution, t/month
    arrived: np.ndarray              # this step's corporate arrivals, t
    used: np.ndarray                 # this step's use, t
    short_sum: np.ndarray            # this step's shortfall, t
    release: np.ndarray              # this step's national release, t
    national: np.ndarray             # national stockpile
    national_target: np.ndarray      # its size at t=0
    on_order: np.ndarray             # firms' order book (shipped, not arrived)
    on_order_nat: np.ndarray         # national refill in transit
    allied: np.ndarray               # allied stock still pledged
    trigger_time: np.ndarray         # when the release rule triggered, months (inf: not yet)
    sched: np.ndarray                # (R, 3, M, B) arrivals by slot and channel


class LoopRecord(NamedTuple):
    """Monthly outputs of the step loop (t per month; stocks at month end)."""

    demand: np.ndarray               # (H, M, B)
    arrivals: np.ndarray             # (H, 3, M, B) by channel
    use: np.ndarray                  # (H, M, B)
    shortfall: np.ndarray            # (H, M, B)
    release: np.ndarray              # (H, M, B)
    corporate_stock: np.ndarray      # (H, M, B)
    national_stock: np.ndarray       # (H, M, B)
    allied_shipped: np.ndarray       # (H, M, B)
    first_short: np.ndarray          # (M, B) months (inf: never)
    group_first: np.ndarray          # (K, M, B)
    opening_corporate: np.ndarray    # (M, B) at t=0
    opening_national: np.ndarray     # (M, B) at t=0


# --------------------------------------------------------------------------
# Primitives: the only functions with a second (compiled, scalar) body, in
# simulator/model/supply_numba.py. Here ``m, b`` are slices (all elements);
# there they are integers (one element), so values are arrays here, scalars there.
# --------------------------------------------------------------------------

ALL = slice(None)


def ratio(num, den):
    """``num / den`` where ``den > 0``, else 0: the share of an empty pool."""
    pos = den > 0
    return np.where(pos, num / np.where(pos, den, 1.0), 0.0)


def minimum(a, b):
    """The smaller of ``a`` and ``b``, elementwise."""
    return np.minimum(a, b)


def maximum(a, b):
    """The larger of ``a`` and ``b``, elementwise."""
    return np.maximum(a, b)


def select(cond, a, b):
    """``a`` where ``cond`` else ``b``."""
    return np.where(cond, a, b)


def any_(cond) -> bool:
    """Whether ``cond`` holds for any element."""
    return bool(np.any(cond))


def zeros_like(x):
    """Zeros shaped like ``x``."""
    return np.zeros_like(x)


def max_int(x) -> int:
    """The largest value of an integer array, as an int."""
    return int(np.max(x))


def scatter_add(sched, slot, channel, m, b, value):
    """``sched[slot, channel, m, b] += value``, each element at its own slot (lead times differ)."""
    _, C, M, B = sched.shape
    sched.reshape(-1)[(slot * C + channel) * (M * B) + _cells(M, B)] += value


@lru_cache(maxsize=16)
def _cells(M: int, B: int) -> np.ndarray:
    """Flat index of each element (m, b) within one slot and channel."""
    return np.arange(M * B).reshape(M, B)


def split_lead(lead_steps):
    """Whole steps and fraction of a lead time: a shipment arrives ``1 - frac``
    after ``whole`` steps and ``frac`` one step later; a lead under one step
    counts as one step."""
    lead = np.maximum(lead_steps, 1.0)
    whole = np.floor(lead).astype(np.intp)
    return whole, lead - whole


def sum_groups(x, m, b, n_groups: int):
    """``sum_g x[g, m, b]``, in group order."""
    total = zeros_like(x[0, m, b])
    for g in range(n_groups):
        total = total + x[g, m, b]
    return total


# --------------------------------------------------------------------------
# The steps (docs/model.md, section 4), for the elements (m, b)
# --------------------------------------------------------------------------

def land_arrivals(p: LoopParams, s: LoopState, rec: LoopRecord, c: Clock, m, b) -> None:
    """Step 1: this step's demand and arrivals.

    Demand after substitution; the arrivals scheduled for this step land (the
    order books shrink, national refill enters the stockpile); at a
    restriction's start, Chinese cargo not yet exported is caught.
    """
    s.demand[m, b] = p.D0[m, b] * (1.0 - p.subst[c.k, m, b])
    slot = c.slot
    arr = s.sched[slot, CHINA, m, b] + s.sched[slot, OTHER, m, b]
    s.arrived[m, b] = arr
    s.on_order[m, b] = s.on_order[m, b] - arr
    s.on_order_nat[m, b] = s.on_order_nat[m, b] - s.sched[slot, NAT, m, b]
    s.national[m, b] = s.national[m, b] + s.sched[slot, NAT, m, b]
    if any_(p.starting[c.k, 0, b]):
        catch_pipeline(p, s, c, m, b)


def catch_pipeline(p: LoopParams, s: LoopState, c: Clock, m, b) -> None:
    """Step 1b: at a restriction's start, Chinese cargo not yet exported is caught.

    Shipments due at step ``a >= k + transit`` were not yet exported. Of
    their covered share (``scope``), a share ``severity`` is withheld
    (dropped from the order book, so firms re-order) and the rest is
    delayed by the lead-time stretch; the uncovered share arrives as due.
    """
    k = c.k
    span = min(p.n_pos - k - 1, max_int(p.fo[0, b]) + 3)   # every Chinese shipment in transit is this close
    f, wfrac = p.stretch_whole[0, b], p.stretch_frac[0, b]
    for off in range(span, -1, -1):                      # latest first, so moves don't collide
        due = p.starting[k, 0, b] & (off >= p.transit[0, b])
        if not any_(due):
            continue
        a = k + off
        covered = s.sched[a & p.mask, CHINA, m, b] * p.scope[m, b] * due
        keep = covered * (1.0 - p.initial_severity[0, b])
        s.sched[a & p.mask, CHINA, m, b] = s.sched[a & p.mask, CHINA, m, b] - covered   # the rest arrives as due
        s.on_order[m, b] = s.on_order[m, b] - (covered - keep)
        scatter_add(s.sched, minimum(a + f, p.n_pos - 1) & p.mask, CHINA, m, b, keep * (1.0 - wfrac))
        scatter_add(s.sched, minimum(a + f + 1, p.n_pos - 1) & p.mask, CHINA, m, b, keep * wfrac)


def need_of(p: LoopParams, s: LoopState, g: int, m, b):
    """Firm group ``g``'s use this step at full supply, t."""
    return p.w[g, 0, b] * s.demand[m, b] * p.dt


def share_arrivals(p: LoopParams, s: LoopState, rec: LoopRecord, c: Clock, m, b) -> None:
    """Step 2: share corporate arrivals among firm groups.

    First what each group lacks for this step's use, then toward its
    target stock, then the rest by demand share.
    """
    K = p.n_groups
    arr = s.arrived[m, b]
    lack_sum = zeros_like(arr)
    for g in range(K):
        lack_sum = lack_sum + maximum(need_of(p, s, g, m, b) - s.stock[g, m, b], 0.0)
    first = minimum(arr, lack_sum)
    share = ratio(first, lack_sum)
    for g in range(K):
        lack = maximum(need_of(p, s, g, m, b) - s.stock[g, m, b], 0.0)
        s.stock[g, m, b] = s.stock[g, m, b] + lack * share
    left = arr - first
    gap_sum = zeros_like(arr)
    for g in range(K):
        gap_sum = gap_sum + maximum(p.target[g, m, b] + need_of(p, s, g, m, b) - s.stock[g, m, b], 0.0)
    second = minimum(left, gap_sum)
    share = ratio(second, gap_sum)
    for g in range(K):
        gap = maximum(p.target[g, m, b] + need_of(p, s, g, m, b) - s.stock[g, m, b], 0.0)
        s.stock[g, m, b] = s.stock[g, m, b] + gap * share
    share = ratio(left - second, p.w_sum[0, b])
    for g in range(K):
        s.stock[g, m, b] = s.stock[g, m, b] + p.w[g, 0, b] * share


def use_material(p: LoopParams, s: LoopState, rec: LoopRecord, c: Clock, m, b) -> None:
    """Step 3: each group uses ``min(need, stock)``; what is missing is its shortfall."""
    used_sum = zeros_like(s.demand[m, b])
    short_sum = zeros_like(used_sum)
    for g in range(p.n_groups):
        need_g = need_of(p, s, g, m, b)
        used = minimum(need_g, s.stock[g, m, b])
        s.stock[g, m, b] = s.stock[g, m, b] - used
        s.short[g, m, b] = need_g - used
        used_sum = used_sum + used
        short_sum = short_sum + s.short[g, m, b]
    s.used[m, b] = used_sum
    s.short_sum[m, b] = short_sum


def release_national(p: LoopParams, s: LoopState, rec: LoopRecord, c: Clock, m, b) -> None:
    """Step 4: the national stockpile releases to cover shortfall (release rule).

    ``on_shortage`` and ``reserve_for_priority`` trigger when corporate cover
    falls below the threshold or any firm group is short, and release after
    the decision delay; ``immediate`` releases from the restriction's start
    and tops up firms' stocks during it.
    """
    k, t = c.k, c.t
    short_sum = s.short_sum[m, b]
    s.release[m, b] = zeros_like(short_sum)
    started = p.started[k, 0, b]
    if p.strategy == NONE or not any_(started):
        return
    if p.strategy == IMMEDIATE:
        budget = minimum(p.cap_release[m, b], s.national[m, b])
        to_short = select(started, minimum(budget, short_sum), 0.0)
        extra = select(p.in_window[k, 0, b], budget - to_short, 0.0)
        share = ratio(extra, p.w_sum[0, b])
        for g in range(p.n_groups):
            s.stock[g, m, b] = s.stock[g, m, b] + p.w[g, 0, b] * share
        cover_shortfall(p, s, m, b, to_short + extra, ratio(to_short, short_sum))
        return
    stock_sum = sum_groups(s.stock, m, b, p.n_groups)
    newly = started & np.isinf(s.trigger_time[m, b]) & ((stock_sum < p.trigger_t[m, b]) | (short_sum > p.tiny[m, b]))
    s.trigger_time[m, b] = select(newly, t, s.trigger_time[m, b])
    active = t + 1e-9 >= s.trigger_time[m, b] + p.delay[0, b]
    if not any_(active):
        return
    covered = short_sum
    if p.strategy == RESERVE:
        covered = covered * p.priority_share[m, b]     # only the priority sectors' part
    release = select(active, minimum(minimum(p.cap_release[m, b], s.national[m, b]), covered), 0.0)
    cover_shortfall(p, s, m, b, release, ratio(release, short_sum))


def cover_shortfall(p: LoopParams, s: LoopState, m, b, release, covered) -> None:
    """Step 4b: the release leaves the stockpile and covers the share ``covered``
    of every group's shortfall."""
    s.release[m, b] = release
    s.national[m, b] = s.national[m, b] - release
    released = zeros_like(release)
    short_sum = zeros_like(release)
    for g in range(p.n_groups):
        to_group = s.short[g, m, b] * covered
        released = released + to_group
        s.short[g, m, b] = s.short[g, m, b] - to_group
        short_sum = short_sum + s.short[g, m, b]
    s.used[m, b] = s.used[m, b] + released
    s.short_sum[m, b] = short_sum


def place_orders(p: LoopParams, s: LoopState, rec: LoopRecord, c: Clock, m, b) -> None:
    """Step 5: orders, shipments and their arrival schedule.

    Firms order demand plus a correction toward their target stock and
    target order book; after the restriction the national stockpile orders
    its refill. China ships its share of the orders up to its ceiling, less
    the withheld share; other sources ship the rest up to their capacity;
    allies fill what is left open. Firms are served before the refill. The
    covered Chinese share arrives after the Chinese lead time, the rest
    after the normal one.
    """
    k = c.k
    demand = s.demand[m, b]
    cs, scope, D0 = p.cs[m, b], p.scope[m, b], p.D0[m, b]
    lead_cov = scope * p.in_book_c[k, 0, b] + (1.0 - scope) * p.in_book_o[0, b]
    pipeline_target = demand * (cs * lead_cov + (1.0 - cs) * p.in_book_o[0, b])
    position = sum_groups(s.stock, m, b, p.n_groups) + s.on_order[m, b]
    order = maximum(0.0, demand + (p.target_sum[m, b] + pipeline_target - position) / p.restock[0, b])
    refill = maximum(0.0, s.national_target[m, b] - s.national[m, b] - s.on_order_nat[m, b])
    total = select(p.refill_rate[k, 0, b] > 0, order + refill * p.refill_rate[k, 0, b], order)
    ship_c = minimum(cs * total, p.china_cap[m, b]) * (1.0 - scope * p.severity[k, 0, b])
    ship_o = minimum(total - ship_c, (1.0 - cs) * D0 + p.alt[k, m, b] * D0)
    ship_c = ship_c * p.dt                              # t this step
    ship_o = ship_o * p.dt
    order = order * p.dt
    corp_c = minimum(ship_c, order)                  # firms are served before the national refill
    order = order - corp_c
    corp_o = minimum(ship_o, order)
    nat_o = ship_o - corp_o
    if p.has_allied and any_(p.allied_open[k, 0, b]):
        ship_a = select(p.allied_open[k, 0, b],
                        minimum(minimum(maximum(0.0, order - corp_o), p.allied_cap[m, b]), s.allied[m, b]),
                        0.0)
        s.allied[m, b] = s.allied[m, b] - ship_a
        corp_o = corp_o + ship_a
        rec.allied_shipped[c.month, m, b] = rec.allied_shipped[c.month, m, b] + ship_a
    nat_c = ship_c - corp_c
    schedule(p, s, k, m, b, p.fc[k, 0, b], p.wc[k, 0, b], CHINA, corp_c * scope, NAT, nat_c * scope)
    schedule(p, s, k, m, b, p.fo[0, b], p.wo[0, b], CHINA, corp_c * (1.0 - scope), NAT, nat_c * (1.0 - scope))
    s.on_order[m, b] = s.on_order[m, b] + corp_c
    s.on_order_nat[m, b] = s.on_order_nat[m, b] + nat_c
    schedule(p, s, k, m, b, p.fo[0, b], p.wo[0, b], NAT, nat_o, OTHER, corp_o)
    s.on_order[m, b] = s.on_order[m, b] + corp_o
    s.on_order_nat[m, b] = s.on_order_nat[m, b] + nat_o


def schedule(p: LoopParams, s: LoopState, k: int, m, b, whole, frac, ch1, amount1, ch2, amount2) -> None:
    """Two shipments placed in step ``k`` arrive ``1 - frac`` after ``whole`` steps, ``frac`` a step later."""
    first, second = (k + whole) & p.mask, (k + whole + 1) & p.mask
    scatter_add(s.sched, first, ch1, m, b, amount1 * (1.0 - frac))
    scatter_add(s.sched, first, ch2, m, b, amount2 * (1.0 - frac))
    scatter_add(s.sched, second, ch1, m, b, amount1 * frac)
    scatter_add(s.sched, second, ch2, m, b, amount2 * frac)


def record_step(p: LoopParams, s: LoopState, rec: LoopRecord, c: Clock, m, b) -> None:
    """Add the step to its month and note first shortages; clear the step's arrival slot."""
    t, mon, slot = c.t, c.month, c.slot
    for ch in range(3):
        rec.arrivals[mon, ch, m, b] = rec.arrivals[mon, ch, m, b] + s.sched[slot, ch, m, b]
        s.sched[slot, ch, m, b] = 0.0
    short_sum = s.short_sum[m, b]
    rec.use[mon, m, b] = rec.use[mon, m, b] + s.used[m, b]
    rec.shortfall[mon, m, b] = rec.shortfall[mon, m, b] + short_sum
    rec.release[mon, m, b] = rec.release[mon, m, b] + s.release[m, b]
    rec.demand[mon, m, b] = rec.demand[mon, m, b] + s.demand[m, b] * p.dt
    is_short = short_sum > p.tiny[m, b]
    if any_(is_short):                                  # a group short by > tiny implies the sum is
        rec.first_short[m, b] = select(is_short & np.isinf(rec.first_short[m, b]), t, rec.first_short[m, b])
        for g in range(p.n_groups):
            new = (s.short[g, m, b] > p.tiny[m, b]) & np.isinf(rec.group_first[g, m, b])
            rec.group_first[g, m, b] = select(new, t, rec.group_first[g, m, b])
    if c.month_end:
        rec.corporate_stock[mon, m, b] = sum_groups(s.stock, m, b, p.n_groups)
        rec.national_stock[mon, m, b] = s.national[m, b]


#: One step of the material layer: these functions, in this order, for every element.
PHASES = (land_arrivals, share_arrivals, use_material, release_national, place_orders, record_step)


def run_steps(p: LoopParams, s: LoopState, rec: LoopRecord) -> None:
    """The step loop, each phase of a step vectorised over all elements (the interpreter's way)."""
    for k in range(p.subst.shape[0]):
        c = clock(p, k)
        for phase in PHASES:
            phase(p, s, rec, c, ALL, ALL)


# --------------------------------------------------------------------------
# Preparation and dispatch
# --------------------------------------------------------------------------

def ring_size(inp: SupplyInputs) -> tuple[int, int]:
    """(slots of the arrival ring, schedule positions).

    The ring holds every shipment in transit: it must exceed the furthest
    write ahead of the current step (``2 * max_lead - 1``, by a pipeline
    catch); a power of two, so a slot is a bit mask. Positions from
    ``n_pos`` on are past the horizon.
    """
    spm = inp.steps_per_month
    lead_c = inp.lead_china_months.max(initial=0.0) * spm
    lead_o = inp.lead_other_months.max(initial=0.0) * spm
    max_lead = int(np.ceil(max(lead_c, lead_o, 1.0))) + 2
    ring = 1
    while ring < 2 * max_lead + 1:
        ring *= 2
    return ring, inp.n_steps + max_lead + 1


def _rules(inp: SupplyInputs) -> dict[str, np.ndarray]:
    """The release, refill and allied rules as (S, B) masks and rates."""
    dt, S = inp.dt, inp.n_steps
    t_step = step_times(inp.horizon_months, inp.steps_per_month)[:, None]
    start = inp.restriction_start_month[None, :]
    end = inp.restriction_end_month[None, :]
    has = end > start
    started = has & (t_step + dt > start)
    refill_on = (inp.refill_months > 0)[None, :] & has & (t_step >= end)
    rate = 1.0 / np.where(inp.refill_months > 0, inp.refill_months, 1.0)[None, :]
    allied_open = np.zeros((S, len(inp.restriction_start_month)), bool)
    if inp.allied_t is not None:
        allied_open = started & (t_step + 1e-9 >= start + inp.allied_delay_months[None, :]) & (t_step < end)
    return {
        "started": started,
        "starting": has & (start >= t_step) & (start < t_step + dt),
        "in_window": started & (t_step < end),
        "refill_rate": np.where(refill_on, rate, 0.0),
        "allied_open": allied_open,
    }


def prepare(inp: SupplyInputs) -> tuple[LoopParams, LoopState, LoopRecord]:
    """The loop's inputs, initial state (steady state before t=0) and empty record."""
    if inp.strategy not in STRATEGIES:
        raise ValueError(f"unknown stockpile strategy {inp.strategy!r}")
    spm, H, dt, S = inp.steps_per_month, inp.horizon_months, inp.dt, inp.n_steps
    B, M = inp.demand_t_per_month.shape
    K = inp.group_share.shape[1]
    c = np.ascontiguousarray

    def el(x):                      # (B,) per scenario -> (1, B)
        return c(np.asarray(x)[None, :])

    def per_step(x):                # (B, S) per scenario -> (S, 1, B)
        return c(x.T)[:, None, :]

    D0 = c(inp.demand_t_per_month.T)                                        # (M, B) t/month
    cs = c(inp.china_share.T)
    w = c(inp.group_share.T)[:, None, :]                                     # (K, 1, B)
    target = c(inp.cover_months.transpose(2, 1, 0) * w * D0[None])           # (K, M, B) t
    R, n_pos = ring_size(inp)
    fc, wc = split_lead(inp.lead_china_months * spm)                          # (B, S)
    fo, wo = split_lead(inp.lead_other_months * spm)
    stretch = (inp.lead_china_months.max(axis=1) - inp.lead_other_months) * spm
    stretch_whole = np.floor(stretch).astype(np.intp)
    allied = inp.allied_t is not None
    zeros_mb = np.zeros((M, B))
    rules = _rules(inp)
    params = LoopParams(
        spm=spm, dt=dt, mask=R - 1, n_pos=n_pos, n_groups=K, strategy=STRATEGIES.index(inp.strategy),
        has_allied=allied, D0=D0, cs=cs, scope=c(inp.scope_share.T), w=w,
        w_sum=el(_group_total(inp.group_share.T)),
        target=target, target_sum=_group_total(target),
        china_cap=cs * D0 * c(inp.china_max_ratio.T),
        cap_release=inp.max_release_share_per_month[None, :] * D0 * dt,
        trigger_t=inp.trigger_cover_months[None, :] * D0,
        tiny=TINY * D0 * dt,
        delay=el(inp.decision_delay_months), restock=el(inp.restock_months),
        priority_share=zeros_mb if inp.priority_share is None else c(inp.priority_share.T),
        allied_cap=(inp.allied_max_share_per_month[None, :] * D0 * dt) if allied else zeros_mb,
        # the order book is read after the step's arrivals and before its orders, so in
        # steady state it holds demand x (lead - dt); a lead under a step counts as one
        in_book_o=el(np.maximum(inp.lead_other_months, dt) - dt),
        fo=el(fo), wo=el(wo),
        transit=el(np.maximum(1, np.round(inp.transit_months * spm).astype(np.intp))),
        stretch_whole=el(stretch_whole), stretch_frac=el(stretch - stretch_whole),
        initial_severity=el(np.asarray(inp.initial_severity, dtype=float)),
        subst=c(inp.substitution_share.transpose(2, 1, 0)),
        alt=c(inp.alternative_share.transpose(2, 1, 0)),
        severity=per_step(inp.severity),
        in_book_c=per_step(np.maximum(inp.lead_china_months, dt) - dt),
        fc=per_step(fc), wc=per_step(wc),
        **{name: per_step(rule.T) for name, rule in rules.items()},
    )
    state = LoopState(
        stock=target.copy(), short=np.zeros((K, M, B)), demand=np.zeros((M, B)), arrived=np.zeros((M, B)),
        used=np.zeros((M, B)), short_sum=np.zeros((M, B)), release=np.zeros((M, B)),
        national=c(inp.national_t.T, dtype=float).copy(), national_target=c(inp.national_t.T, dtype=float).copy(),
        on_order=np.zeros((M, B)), on_order_nat=np.zeros((M, B)),
        allied=c(inp.allied_t.T).copy() if allied else np.zeros((M, B)),
        trigger_time=np.full((M, B), np.inf), sched=np.zeros((R, 3, M, B)),
    )
    _steady_pipeline(state, cs * D0 * dt, (1.0 - cs) * D0 * dt, fo, wo, n_pos - S)
    record = LoopRecord(
        demand=np.zeros((H, M, B)), arrivals=np.zeros((H, 3, M, B)), use=np.zeros((H, M, B)),
        shortfall=np.zeros((H, M, B)), release=np.zeros((H, M, B)), corporate_stock=np.zeros((H, M, B)),
        national_stock=np.zeros((H, M, B)), allied_shipped=np.zeros((H, M, B)),
        first_short=np.full((M, B), np.inf), group_first=np.full((K, M, B), np.inf),
        opening_corporate=params.target_sum.copy(), opening_national=state.national.copy(),
    )
    return params, state, record


def _group_total(x: np.ndarray) -> np.ndarray:
    """Sum over the leading axis, in order."""
    total = np.zeros(x.shape[1:])
    for row in x:
        total = total + row
    return total


def _steady_pipeline(s: LoopState, base_c, base_o, fo, wo, max_lead: int) -> None:
    """Shipments in transit at t=0: orders of one step's baseline every step
    before t=0, at the normal lead time (before t=0 every source ran at it)."""
    b_all = np.arange(base_c.shape[-1])
    for k in range(-max_lead, 0):
        for shift, part in ((0, 1.0 - wo), (1, wo)):
            pos = k + fo + shift
            ok = pos >= 0
            s.sched[pos[ok], CHINA, :, b_all[ok]] += (base_c * part)[:, ok].T
            s.sched[pos[ok], OTHER, :, b_all[ok]] += (base_o * part)[:, ok].T
    s.on_order[:] = _group_total(s.sched[:, CHINA]) + _group_total(s.sched[:, OTHER])


def to_paths(inp: SupplyInputs, rec: LoopRecord) -> SupplyPaths:
    """The record as :class:`SupplyPaths` (B, M, H) views."""
    B, M = inp.demand_t_per_month.shape
    H = inp.horizon_months
    tr = (2, 1, 0)
    return SupplyPaths(
        demand_baseline_t=np.broadcast_to(inp.demand_t_per_month[:, :, None], (B, M, H)).copy(),
        demand_t=rec.demand.transpose(tr), use_t=rec.use.transpose(tr),
        arrivals_china_t=rec.arrivals[:, CHINA].transpose(tr),
        arrivals_other_t=rec.arrivals[:, OTHER].transpose(tr),
        arrivals_national_t=rec.arrivals[:, NAT].transpose(tr),
        shortfall_t=rec.shortfall.transpose(tr), release_t=rec.release.transpose(tr),
        corporate_stock_t=rec.corporate_stock.transpose(tr), national_stock_t=rec.national_stock.transpose(tr),
        opening_corporate_t=rec.opening_corporate.T, opening_national_t=rec.opening_national.T,
        first_shortage_month=rec.first_short.T,
        group_first_shortage_month=rec.group_first.transpose(2, 1, 0),
        allied_shipped_t=rec.allied_shipped.transpose(tr) if inp.allied_t is not None else None,
    )
