"""Material supply layer: stocks and flows of rare earths, per material, per step.

Equations and parameter sources are in ``docs/model.md`` (section
"Material supply"). Each material's buyers are split into *firm groups*, one
per application of the physical use table (traction-motor magnets, EPS
motors, autocatalysts, polishing powder, ...), each with its own share of
demand and its own inventory cover. In one step, for every scenario and
material:

1. :func:`land_arrivals`: scheduled arrivals land (Chinese and other
   shipments, national refill); at a restriction's start
   :func:`catch_pipeline` holds or delays Chinese cargo not yet exported, and
   at its end :func:`release_held` sends the held cargo on;
2-3. :func:`share_and_use`: arrivals are shared among firm groups: first
   what each group lacks for this step's use (by the allocation rule:
   :func:`allocate`), then what brings it back to its target stock, then
   the rest by demand share; each group then uses ``min(demand, stock)``
   (pooled stocks are shared by the rule first); what is missing is shortfall;
4. :func:`release_national`: the national stockpile releases to cover
   shortfall (release rule), shared by the allocation rule;
5. :func:`place_orders`: firms order demand plus a correction toward target
   stock and target pipeline; China ships up to its capacity (during a
   restriction a volume cap, ``(1 - severity) x`` its baseline share plus
   leakage), other sources and allies up to theirs; shipments are scheduled
   to arrive after their lead time.

Material balance closes every step: opening stocks + arrivals = use +
closing stocks (corporate and national).

**One definition, two ways to run it.** The step functions are written once,
with numpy operations over arrays whose *last* axis is the scenario batch
and plain loops only over the small axes (firm groups, materials, ring
slots). :func:`run_steps` calls them step by step. Run by the Python
interpreter (``method="numpy"``), each operation is vectorised over the
whole batch; compiled by numba (:mod:`simulator.model.supply_numba`,
``method="numba"``), the very same functions run one element at a time at
machine speed. Only the primitives below have a second, scalar body.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

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
    """Batched inputs of :func:`simulator.model.material.simulate_supply` (units in field names).

    ``B`` scenarios, ``M`` materials, ``K`` firm groups per material (the
    applications of the use table, highest bidder first; unused groups have
    a zero share), ``S`` steps.
    """

    steps_per_month: int
    horizon_months: int
    demand_t_per_month: np.ndarray          # (B, M) baseline
    china_share: np.ndarray                 # (B, M)
    china_max_ratio: np.ndarray             # (B, M) China's surge ceiling outside a restriction / baseline
    scope_share: np.ndarray                 # (B, M) share of the Chinese flow the restriction covers
    severity: np.ndarray                    # (B, S) share withheld while restricted (the profile's value)
    restricted: np.ndarray                  # (B, S) share of the step under restriction
    leakage: np.ndarray                     # (B, S) share of the withheld flow reaching Japan via third countries
    lead_china_months: np.ndarray           # (B, S) lead time of Chinese orders placed in the step
    lead_other_months: np.ndarray           # (B,) lead time of other sources
    transit_months: np.ndarray              # (B,) last part of the lead time, after export
    initial_severity: np.ndarray            # (B,) severity in the first restricted month
    held_share: np.ndarray                  # (B,) share of refused Chinese orders held at export until the end
    substitution_share: np.ndarray          # (B, M, S) demand reduction
    alternative_share: np.ndarray           # (B, M, S) extra non-Chinese capacity / baseline demand
    cover_months: np.ndarray                # (B, M, K) corporate cover per firm group
    group_share: np.ndarray                 # (B, M, K) demand share per firm group (sums to 1 per material)
    group_first: np.ndarray                 # (B, M, K) bool: served before the others (priority allocation)
    group_reserved: np.ndarray              # (B, M, K) bool: may get national releases under reserve_for_priority
    reallocation: np.ndarray                # (B,) 0 = pro-rata sharing, 1 = highest bidder first
    pooled: bool                            # the groups' stocks form one pool
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
    held_t: np.ndarray                 # (B, M, H) Chinese cargo held at export, month end
    group_share: np.ndarray            # (B, M, K) each firm group's share of demand
    group_shortfall_t: np.ndarray      # (B, M, K, H) shortfall per firm group
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

    @property
    def group_demand_t(self) -> np.ndarray:
        """Need per firm group, (B, M, K, H)."""
        return self.group_share[:, :, :, None] * self.demand_t[:, :, None, :]

    @property
    def group_shortage_share(self) -> np.ndarray:
        """Unmet share of each firm group's need, (B, M, K, H)."""
        need = self.group_demand_t
        out = np.zeros(need.shape)
        np.divide(self.group_shortfall_t, need, out=out, where=need > 0)
        return out


# --------------------------------------------------------------------------
# The loop's records. Every array ends in (material, scenario) axes (M, B):
# an element (m, b) is one material of one scenario, and elements never
# interact, so a step can run for all of them at once or one at a time.
# --------------------------------------------------------------------------

class LoopParams(NamedTuple):
    """Inputs of the step loop (C-contiguous arrays).

    Shapes: per element (M, B); per step (S, M, B); per firm group (K, M, B).
    What does not depend on the material has a material axis of one,
    (1, B) or (S, 1, B), and is read at ``[0, b]``. Amounts in tonnes per
    month unless the name says per step.
    """

    spm: int                         # steps per month
    dt: float                        # step length, months
    mask: int                        # slots of the arrival ring - 1 (a power of two - 1)
    n_pos: int                       # schedule positions (later ones never arrive)
    n_groups: int                    # firm groups K
    strategy: int                    # index into STRATEGIES
    has_allied: bool
    has_first: bool                  # some groups are served first (priority)
    pooled: bool
    D0: np.ndarray                   # baseline demand
    cs: np.ndarray                   # China share
    scope: np.ndarray                # share of the Chinese flow covered
    w: np.ndarray                    # (K, M, B) demand share per firm group
    w_sum: np.ndarray                # sum of the groups' shares
    first: np.ndarray                # (K, M, B) bool: served first (priority)
    reserved: np.ndarray             # (K, M, B) bool: eligible for reserve_for_priority releases
    target: np.ndarray               # (K, M, B) target stock, t
    target_sum: np.ndarray           # the firms' total target stock, t
    cap_free: np.ndarray             # China's ceiling outside a restriction (surge allowed), t/month
    cap_base: np.ndarray             # China's baseline flow, t/month
    cap_release: np.ndarray          # national release cap, t/step
    trigger_t: np.ndarray            # corporate stock that triggers a release, t
    tiny: np.ndarray                 # shortfall counted as none, t/step
    rho: np.ndarray                  # (1, B) reallocation: 0 pro-rata, 1 highest bidder first
    delay: np.ndarray                # (1, B) decision delay, months
    restock: np.ndarray              # (1, B) months to close gaps
    allied_cap: np.ndarray           # allied shipments per step, t
    in_book_o: np.ndarray            # (1, B) steady-state order book of other sources, months
    fo: np.ndarray                   # (1, B) whole steps of the other lead time (int)
    wo: np.ndarray                   # (1, B) fraction arriving one step later
    start: np.ndarray                # (1, B) restriction start, months
    end: np.ndarray                  # (1, B) restriction end, months
    transit: np.ndarray              # (1, B) months of the lead time after export
    stretch_whole: np.ndarray        # (1, B) lead-time stretch, whole steps (int)
    stretch_frac: np.ndarray         # (1, B) and fraction
    initial_severity: np.ndarray     # (1, B) severity in the first restricted month
    held_share: np.ndarray           # (1, B) share of refused orders held at export, shipped at the end
    subst: np.ndarray                # (S, M, B) demand reduction share
    alt: np.ndarray                  # (S, M, B) extra non-Chinese capacity / baseline demand
    restricted: np.ndarray           # (S, 1, B) share of the step under restriction
    severity: np.ndarray             # (S, 1, B) share withheld while restricted
    leakage: np.ndarray              # (S, 1, B) share of the withheld flow leaking through
    in_book_c: np.ndarray            # (S, 1, B) steady-state order book of Chinese orders, months
    fc: np.ndarray                   # (S, 1, B) whole steps of the Chinese lead time (int)
    wc: np.ndarray                   # (S, 1, B) fraction arriving one step later
    started: np.ndarray              # (S, 1, B) share of the step after the restriction's start
    starting: np.ndarray             # (S, 1, B) bool: restriction starts in the step
    ending: np.ndarray               # (S, 1, B) bool: restriction ends in the step
    refill_rate: np.ndarray          # (S, 1, B) share of the refill gap ordered per month
    allied_open: np.ndarray          # (S, 1, B) share of the step partners accept orders


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
    claim: np.ndarray                # (K, M, B) work space: what each group asks of an allocation
    grant: np.ndarray                # (K, M, B) work space: what each group gets
    gap: np.ndarray                  # (K, M, B) work space: each group's gap to its target stock
    demand: np.ndarray               # this step's demand after substitution, t/month
    arrived: np.ndarray              # this step's corporate arrivals, t
    used: np.ndarray                 # this step's use, t
    short_sum: np.ndarray            # this step's shortfall, t
    stock_sum: np.ndarray            # corporate stock after this step's use, t
    release: np.ndarray              # this step's national release, t
    national: np.ndarray             # national stockpile
    national_target: np.ndarray      # its size at t=0
    on_order: np.ndarray             # firms' order book (shipped, not arrived)
    on_order_nat: np.ndarray         # national refill in transit
    held: np.ndarray                 # Chinese cargo held at export until the restriction ends
    allied: np.ndarray               # allied stock still pledged
    trigger_time: np.ndarray         # when the release rule triggered, months (inf: not yet)
    margin: np.ndarray               # last step's distance to the trigger, months of demand
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
    held: np.ndarray                 # (H, M, B)
    allied_shipped: np.ndarray       # (H, M, B)
    group_short: np.ndarray          # (H, K, M, B)
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


def floor_int(x):
    """The largest integer not above ``x``, elementwise, as integers."""
    return np.floor(x).astype(np.intp)


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
    """Whole steps and fraction of a lead time.

    A shipment arrives ``1 - frac`` after ``whole`` steps and ``frac`` one
    step later; a lead under one step counts as one step.
    """
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

def allocate(p: LoopParams, s: LoopState, m, b, amount, claimed) -> None:
    """Share ``amount`` (t) among the groups' claims ``s.claim`` (summing to ``claimed``); grants in ``s.grant``.

    Groups marked ``first`` (priority) are served in full, in order, before
    the others. The rest is shared by the reallocation rule ``rho``: a mix of
    pro-rata (``rho = 0``: every claim gets the same share) and highest bidder
    first (``rho = 1``: claims are filled in group order, which is the order
    of the applications' bids). Both parts hand out the same total,
    ``min(amount, claims)``.
    """
    K = p.n_groups
    left = amount
    rest = claimed
    if p.has_first:
        rest = zeros_like(amount)
        for g in range(K):
            take = select(p.first[g, m, b], minimum(s.claim[g, m, b], left), 0.0)
            left = left - take
            rest = rest + select(p.first[g, m, b], 0.0, s.claim[g, m, b])
    avail = minimum(left, rest)
    share = ratio(avail, rest)
    rho = p.rho[0, b]
    left = amount
    greedy_left = avail
    for g in range(K):
        claim = s.claim[g, m, b]
        take = zeros_like(amount)
        if p.has_first:
            take = select(p.first[g, m, b], minimum(claim, left), 0.0)
            left = left - take
            claim = select(p.first[g, m, b], 0.0, claim)
        greedy = minimum(claim, greedy_left)
        greedy_left = greedy_left - greedy
        s.grant[g, m, b] = take + (1.0 - rho) * claim * share + rho * greedy


def land_arrivals(p: LoopParams, s: LoopState, rec: LoopRecord, c: Clock, m, b) -> None:
    """Step 1: this step's demand and arrivals.

    Demand after substitution; the arrivals scheduled for this step land (the
    order books shrink, national refill enters the stockpile); at a
    restriction's start, Chinese cargo not yet exported is caught; at its
    end, the cargo held at export is sent on.
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

    Cargo arriving in step ``a`` arrives spread over ``[a dt, (a + 1) dt)``
    and left China ``transit`` months earlier; the share that left after
    the start, ``clip(a + 1 - (start + transit) / dt, 0, 1)``, is caught
    (continuous in the start and in ``transit``). Of its covered share
    (``scope``) a share ``severity`` is held at export until the restriction
    ends (it leaves the order book, so firms re-order) and the rest is
    delayed by the lead-time stretch; the uncovered share arrives as due.
    """
    k = c.k
    span = min(p.n_pos - k - 1, max_int(p.fo[0, b]) + 3)   # every Chinese shipment in transit is this close
    f, wfrac = p.stretch_whole[0, b], p.stretch_frac[0, b]
    exported_by = (p.start[0, b] + p.transit[0, b]) / p.dt
    for off in range(span, 0, -1):                       # latest first, so moves don't collide
        a = k + off
        caught = select(p.starting[k, 0, b], minimum(maximum(a + 1.0 - exported_by, 0.0), 1.0), 0.0)
        if not any_(caught > 0):
            continue
        covered = s.sched[a & p.mask, CHINA, m, b] * p.scope[m, b] * caught
        held = covered * p.initial_severity[0, b]
        keep = covered - held
        s.sched[a & p.mask, CHINA, m, b] = s.sched[a & p.mask, CHINA, m, b] - covered   # the rest arrives as due
        s.on_order[m, b] = s.on_order[m, b] - held
        s.held[m, b] = s.held[m, b] + held
        scatter_add(s.sched, minimum(a + f, p.n_pos - 1) & p.mask, CHINA, m, b, keep * (1.0 - wfrac))
        scatter_add(s.sched, minimum(a + f + 1, p.n_pos - 1) & p.mask, CHINA, m, b, keep * wfrac)


def release_held(p: LoopParams, s: LoopState, c: Clock, m, b) -> None:
    """Step 5c: when the restriction ends, the cargo held at export is shipped.

    It arrives ``transit`` months after the end (split between the two nearest steps).
    """
    lead = maximum((p.end[0, b] + p.transit[0, b]) / p.dt - c.k, 1.0)
    whole = floor_int(lead)
    frac = lead - whole
    released = select(p.ending[c.k, 0, b], s.held[m, b], 0.0)
    scatter_add(s.sched, (c.k + whole) & p.mask, CHINA, m, b, released * (1.0 - frac))
    scatter_add(s.sched, (c.k + whole + 1) & p.mask, CHINA, m, b, released * frac)
    s.on_order[m, b] = s.on_order[m, b] + released
    s.held[m, b] = s.held[m, b] - released


def need_of(p: LoopParams, s: LoopState, g: int, m, b):
    """Firm group ``g``'s use this step at full supply, t."""
    return p.w[g, m, b] * s.demand[m, b] * p.dt


def share_and_use(p: LoopParams, s: LoopState, rec: LoopRecord, c: Clock, m, b) -> None:
    """Steps 2-3: share corporate arrivals among firm groups, then use.

    Arrivals go first to what each group lacks for this step's use, by the
    allocation rule (:func:`allocate`); then toward each group's target
    stock, in proportion to its gap; then the rest by demand share. Each
    group then uses ``min(need, stock)``; what is missing is its shortfall.
    With pooled stocks the groups' stocks form one pool, shared among the
    needs by the allocation rule, and what is left is spread back in
    proportion to the target stocks (by demand share when no group has a
    target stock).
    """
    K = p.n_groups
    arr = s.arrived[m, b]
    lacking = zeros_like(arr)
    gap_sum = zeros_like(arr)
    for g in range(K):
        need = need_of(p, s, g, m, b)
        lacking = lacking + maximum(need - s.stock[g, m, b], 0.0)
        s.gap[g, m, b] = maximum(p.target[g, m, b] + need - s.stock[g, m, b], 0.0)
        gap_sum = gap_sum + s.gap[g, m, b]
    first = zeros_like(arr)
    if any_(lacking > 0):                                # usually every group has stock for the step
        for g in range(K):
            s.claim[g, m, b] = maximum(need_of(p, s, g, m, b) - s.stock[g, m, b], 0.0)
        allocate(p, s, m, b, arr, lacking)
        gap_sum = zeros_like(arr)
        for g in range(K):
            s.stock[g, m, b] = s.stock[g, m, b] + s.grant[g, m, b]
            first = first + s.grant[g, m, b]
            s.gap[g, m, b] = maximum(p.target[g, m, b] + need_of(p, s, g, m, b) - s.stock[g, m, b], 0.0)
            gap_sum = gap_sum + s.gap[g, m, b]
    left = arr - first
    second = minimum(left, gap_sum)
    to_gap = ratio(second, gap_sum)
    by_share = ratio(left - second, p.w_sum[m, b])
    used_sum = zeros_like(arr)
    short_sum = zeros_like(arr)
    stock_sum = zeros_like(arr)
    if p.pooled:
        needed = zeros_like(arr)
        for g in range(K):
            stock_sum = stock_sum + s.stock[g, m, b] + s.gap[g, m, b] * to_gap + p.w[g, m, b] * by_share
            s.claim[g, m, b] = need_of(p, s, g, m, b)
            needed = needed + s.claim[g, m, b]
        allocate(p, s, m, b, stock_sum, needed)
        for g in range(K):
            used_sum = used_sum + s.grant[g, m, b]
        stock_sum = stock_sum - used_sum
        has_target = p.target_sum[m, b] > 0
        for g in range(K):                               # no target stock at all: by demand share
            s.stock[g, m, b] = stock_sum * select(has_target, ratio(p.target[g, m, b], p.target_sum[m, b]),
                                                  ratio(p.w[g, m, b], p.w_sum[m, b]))
            s.short[g, m, b] = s.claim[g, m, b] - s.grant[g, m, b]
            short_sum = short_sum + s.short[g, m, b]
    else:
        for g in range(K):
            stock = s.stock[g, m, b] + s.gap[g, m, b] * to_gap + p.w[g, m, b] * by_share
            need = need_of(p, s, g, m, b)
            used = minimum(need, stock)
            s.stock[g, m, b] = stock - used
            s.short[g, m, b] = need - used
            used_sum = used_sum + used
            short_sum = short_sum + s.short[g, m, b]
            stock_sum = stock_sum + s.stock[g, m, b]
    s.used[m, b] = used_sum
    s.short_sum[m, b] = short_sum
    s.stock_sum[m, b] = stock_sum


def release_national(p: LoopParams, s: LoopState, rec: LoopRecord, c: Clock, m, b) -> None:
    """Step 4: the national stockpile releases to cover shortfall (release rule).

    ``on_shortage`` and ``reserve_for_priority`` trigger when, after the
    restriction's start, corporate stock falls below the threshold or any
    firm group runs short (:func:`trigger`), and release from the decision
    delay on (``reserve_for_priority`` only for the priority groups'
    shortfall); ``immediate`` releases from the restriction's start and tops
    up firms' stocks during it. Each is limited to the share of the step it
    is active, and shared by the allocation rule.
    """
    k, t = c.k, c.t
    short_sum = s.short_sum[m, b]
    s.release[m, b] = zeros_like(short_sum)
    if p.strategy == NONE:
        return
    started = p.started[k, 0, b]
    if p.strategy == IMMEDIATE:
        if not any_(started > 0):
            return
        budget = minimum(p.cap_release[m, b] * started, s.national[m, b])
        to_short = minimum(budget, short_sum)
        extra = (budget - to_short) * ratio(p.restricted[k, 0, b], started)   # top-ups only while restricted
        share = ratio(extra, p.w_sum[m, b])
        for g in range(p.n_groups):
            s.stock[g, m, b] = s.stock[g, m, b] + p.w[g, m, b] * share
        s.stock_sum[m, b] = s.stock_sum[m, b] + extra
        cover_shortfall(p, s, m, b, to_short, extra, False)
        return
    trigger(p, s, c, m, b)
    active = minimum(maximum((t + p.dt - s.trigger_time[m, b] - p.delay[0, b]) / p.dt, 0.0), 1.0)
    if not any_(active > 0):
        return
    reserve = p.strategy == RESERVE
    eligible = short_sum                                 # the shortfall the rule may cover
    if reserve:
        eligible = zeros_like(short_sum)
        for g in range(p.n_groups):
            eligible = eligible + select(p.reserved[g, m, b], s.short[g, m, b], 0.0)
    release = minimum(minimum(p.cap_release[m, b] * active, s.national[m, b]), eligible)
    if any_(release > 0):
        cover_shortfall(p, s, m, b, release, zeros_like(release), reserve)


def trigger(p: LoopParams, s: LoopState, c: Clock, m, b) -> None:
    """When the release rule triggers, interpolated within the step.

    The margin is how far the trigger is, in months of demand: the smaller
    of corporate stock above the threshold and, for each firm group, stock
    left after this step's use (negative: its shortfall). It triggers where
    the margin, interpolated between the ends of the last and this step,
    crosses zero, but not before the restriction's start (so a release
    date moves smoothly with every parameter).
    """
    if not any_(np.isinf(s.trigger_time[m, b])):
        return                                           # triggered already: nothing to watch
    margin = (s.stock_sum[m, b] - p.trigger_t[m, b]) / p.D0[m, b]
    for g in range(p.n_groups):
        per_month = p.w[g, m, b] * p.D0[m, b]
        margin = minimum(margin, select(per_month > 0, (s.stock[g, m, b] - s.short[g, m, b])
                                        / maximum(per_month, 1e-300), margin))
    waiting = np.isinf(s.trigger_time[m, b]) & (p.started[c.k, 0, b] > 0) & (margin < 0)
    if any_(waiting):
        before = s.margin[m, b]
        crossed = c.t + p.dt * minimum(maximum(before, 0.0) / maximum(before - margin, 1e-300), 1.0)
        start = p.start[0, b]
        s.trigger_time[m, b] = select(waiting, maximum(crossed, start), s.trigger_time[m, b])
    s.margin[m, b] = margin


def cover_shortfall(p: LoopParams, s: LoopState, m, b, release, extra, only_first: bool) -> None:
    """Step 4b: ``release`` leaves the stockpile and covers shortfall.

    It is shared by the allocation rule (only priority groups when
    ``only_first``); ``extra`` (already added to firms' stocks) leaves the
    stockpile too.
    """
    s.release[m, b] = release + extra
    s.national[m, b] = s.national[m, b] - release - extra
    claimed = zeros_like(release)
    for g in range(p.n_groups):
        s.claim[g, m, b] = select(p.reserved[g, m, b] | (not only_first), s.short[g, m, b], 0.0)
        claimed = claimed + s.claim[g, m, b]
    allocate(p, s, m, b, release, claimed)
    released = zeros_like(release)
    short_sum = zeros_like(release)
    for g in range(p.n_groups):
        released = released + s.grant[g, m, b]
        s.short[g, m, b] = s.short[g, m, b] - s.grant[g, m, b]
        short_sum = short_sum + s.short[g, m, b]
    s.used[m, b] = s.used[m, b] + released
    s.short_sum[m, b] = short_sum


def china_capacity(p: LoopParams, c: Clock, m, b):
    """(covered, uncovered) Chinese capacity this step, t/month.

    Outside a restriction China ships up to ``china_max_ratio`` times its
    baseline (restocking surge). While restricted, the covered flow is capped
    at ``(1 - severity (1 - leakage))`` times its baseline, whatever firms order;
    a step partly restricted gets the weighted mix.
    """
    r, sev, leak = p.restricted[c.k, 0, b], p.severity[c.k, 0, b], p.leakage[c.k, 0, b]
    scope = p.scope[m, b]
    capped = p.cap_base[m, b] * (1.0 - sev * (1.0 - leak))
    covered = scope * (p.cap_free[m, b] * (1.0 - r) + capped * r)
    return covered, (1.0 - scope) * p.cap_free[m, b]


def place_orders(p: LoopParams, s: LoopState, rec: LoopRecord, c: Clock, m, b) -> None:
    """Step 5: orders, shipments and their arrival schedule.

    Firms order demand plus a correction toward their target stock and
    target order book; after the restriction the national stockpile orders
    its refill. China ships its share of the orders up to its capacity
    (:func:`china_capacity`); other sources ship the rest up to theirs;
    allies fill what is left open. Firms are served before the refill. The
    covered Chinese flow arrives after the Chinese lead time, the rest after
    the normal one.
    """
    k = c.k
    demand = s.demand[m, b]
    cs, scope, D0 = p.cs[m, b], p.scope[m, b], p.D0[m, b]
    lead_cov = scope * p.in_book_c[k, 0, b] + (1.0 - scope) * p.in_book_o[0, b]
    pipeline_target = demand * (cs * lead_cov + (1.0 - cs) * p.in_book_o[0, b])
    position = s.stock_sum[m, b] + s.on_order[m, b]
    order = maximum(0.0, demand + (p.target_sum[m, b] + pipeline_target - position) / p.restock[0, b])
    refill = maximum(0.0, s.national_target[m, b] - s.national[m, b] - s.on_order_nat[m, b])
    total = order + refill * p.refill_rate[k, 0, b]
    cap_covered, cap_uncovered = china_capacity(p, c, m, b)
    ship_cov = minimum(scope * cs * total, cap_covered)
    # orders the restriction refuses: held at export (shipped when it ends) or cancelled
    refused = maximum(minimum(scope * cs * total, scope * p.cap_free[m, b]) - ship_cov, 0.0)
    s.held[m, b] = s.held[m, b] + refused * p.held_share[0, b] * p.dt
    ship_c = ship_cov + minimum((1.0 - scope) * cs * total, cap_uncovered)
    ship_o = minimum(total - ship_c, (1.0 - cs) * D0 + p.alt[k, m, b] * D0)
    covered_share = ratio(ship_cov, ship_c)
    ship_c = ship_c * p.dt                              # t this step
    ship_o = ship_o * p.dt
    order = order * p.dt
    corp_c = minimum(ship_c, order)                     # firms are served before the national refill
    order = order - corp_c
    corp_o = minimum(ship_o, order)
    nat_o = ship_o - corp_o
    if p.has_allied and any_(p.allied_open[k, 0, b] > 0):
        ship_a = minimum(minimum(maximum(0.0, order - corp_o), p.allied_cap[m, b] * p.allied_open[k, 0, b]),
                         s.allied[m, b])
        s.allied[m, b] = s.allied[m, b] - ship_a
        corp_o = corp_o + ship_a
        rec.allied_shipped[c.month, m, b] = rec.allied_shipped[c.month, m, b] + ship_a
    nat_c = ship_c - corp_c
    if any_(p.starting[k, 0, b]):
        corp_c, nat_c, covered_share = catch_starting_step(p, s, c, m, b, corp_c, nat_c, covered_share)
    schedule(p, s, k, m, b, p.fc[k, 0, b], p.wc[k, 0, b], CHINA, corp_c * covered_share, NAT,
             nat_c * covered_share)
    schedule(p, s, k, m, b, p.fo[0, b], p.wo[0, b], CHINA, corp_c * (1.0 - covered_share), NAT,
             nat_c * (1.0 - covered_share))
    s.on_order[m, b] = s.on_order[m, b] + corp_c
    s.on_order_nat[m, b] = s.on_order_nat[m, b] + nat_c
    schedule(p, s, k, m, b, p.fo[0, b], p.wo[0, b], NAT, nat_o, OTHER, corp_o)
    s.on_order[m, b] = s.on_order[m, b] + corp_o
    s.on_order_nat[m, b] = s.on_order_nat[m, b] + nat_o
    if any_(p.ending[k, 0, b]):
        release_held(p, s, c, m, b)


def catch_starting_step(p: LoopParams, s: LoopState, c: Clock, m, b, corp_c, nat_c, covered_share):
    """Step 5b: the covered shipments of a restriction's first step placed before its start are caught.

    These shipments (the share ``1 - restricted`` of the step) are caught like
    cargo in the pipeline (:func:`catch_pipeline`): held, or delayed by the
    lead-time stretch.

    Returns the Chinese shipments (firms', national) left to schedule normally and their covered share.
    """
    pre = select(p.starting[c.k, 0, b], 1.0 - p.restricted[c.k, 0, b], 0.0) * covered_share
    caught = (corp_c + nat_c) * pre
    held = caught * p.initial_severity[0, b]
    keep = caught - held
    s.held[m, b] = s.held[m, b] + held
    lead = p.fo[0, b] + p.wo[0, b] + p.stretch_whole[0, b] + p.stretch_frac[0, b]
    whole = floor_int(lead)
    frac = lead - whole
    scatter_add(s.sched, minimum(c.k + whole, p.n_pos - 1) & p.mask, CHINA, m, b, keep * (1.0 - frac))
    scatter_add(s.sched, minimum(c.k + whole + 1, p.n_pos - 1) & p.mask, CHINA, m, b, keep * frac)
    s.on_order[m, b] = s.on_order[m, b] + keep
    left = 1.0 - pre
    return corp_c * left, nat_c * left, ratio(covered_share - pre, left)


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
            rec.group_short[mon, g, m, b] = rec.group_short[mon, g, m, b] + s.short[g, m, b]
            new = (s.short[g, m, b] > p.tiny[m, b]) & np.isinf(rec.group_first[g, m, b])
            rec.group_first[g, m, b] = select(new, t, rec.group_first[g, m, b])
    if c.month_end:
        rec.corporate_stock[mon, m, b] = s.stock_sum[m, b]
        rec.national_stock[mon, m, b] = s.national[m, b]
        rec.held[mon, m, b] = s.held[m, b]


#: One step of the material layer: these functions, in this order, for every element.
PHASES = (land_arrivals, share_and_use, release_national, place_orders, record_step)


def run_steps(p: LoopParams, s: LoopState, rec: LoopRecord) -> None:
    """The step loop, each phase of a step vectorised over all elements (the interpreter's way)."""
    for k in range(p.subst.shape[0]):
        c = clock(p, k)
        for phase in PHASES:
            phase(p, s, rec, c, ALL, ALL)


def minimal_inputs(months: int = 2, steps_per_month: int = 1, groups: int = 1, **over) -> SupplyInputs:
    """A one-scenario, one-material batch with simple round numbers (for checks and worked examples).

    Baseline demand 1 t/month, half from China (up to 1.5x), every lead time
    one month, one month of cover per group, a full restriction over the whole
    horizon, no national stockpile; ``over`` replaces any field.
    """
    B, M, K, S = 1, 1, groups, months * steps_per_month
    fields: dict[str, Any] = dict(
        steps_per_month=steps_per_month, horizon_months=months, demand_t_per_month=np.ones((B, M)),
        china_share=np.full((B, M), 0.5), china_max_ratio=np.full((B, M), 1.5), scope_share=np.ones((B, M)),
        severity=np.ones((B, S)), restricted=np.ones((B, S)), leakage=np.zeros((B, S)),
        lead_china_months=np.ones((B, S)), lead_other_months=np.ones(B), transit_months=np.zeros(B),
        initial_severity=np.ones(B), held_share=np.zeros(B), substitution_share=np.zeros((B, M, S)),
        alternative_share=np.zeros((B, M, S)),
        cover_months=np.ones((B, M, K)), group_share=np.full((B, M, K), 1.0 / K),
        group_first=np.zeros((B, M, K), bool), group_reserved=np.zeros((B, M, K), bool), reallocation=np.zeros(B),
        pooled=False, restock_months=np.ones(B),
        national_t=np.zeros((B, M)), strategy="on_shortage", trigger_cover_months=np.ones(B),
        decision_delay_months=np.zeros(B), max_release_share_per_month=np.ones(B),
        refill_months=np.zeros(B), restriction_start_month=np.zeros(B), restriction_end_month=np.full(B, months),
    )
    fields.update(over)
    return SupplyInputs(**fields)


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

    def after(time):            # share of each step after ``time``
        return np.clip((t_step + dt - time) / dt, 0.0, 1.0)

    rate = np.where(inp.refill_months > 0, 1.0 / np.where(inp.refill_months > 0, inp.refill_months, 1.0), 0.0)
    allied_open = np.zeros((S, len(inp.restriction_start_month)))
    if inp.allied_t is not None:
        assert inp.allied_delay_months is not None          # the allies' levers come together (core.engine)
        opens = start + inp.allied_delay_months[None, :]
        allied_open = np.where(has & (end > opens), np.maximum(after(opens) - after(end), 0.0), 0.0)
    return {
        "started": np.where(has, after(start), 0.0),
        "starting": has & (start >= t_step) & (start < t_step + dt),
        "ending": has & (end >= t_step) & (end < t_step + dt),
        "refill_rate": np.where(has, after(end), 0.0) * rate[None, :],
        "allied_open": allied_open,
    }


def prepare(inp: SupplyInputs) -> tuple[LoopParams, LoopState, LoopRecord]:
    """The loop's inputs, initial state (steady state before t=0) and empty record."""
    if inp.strategy not in STRATEGIES:
        raise ValueError(f"unknown stockpile strategy {inp.strategy!r}")
    spm, H, dt, S = inp.steps_per_month, inp.horizon_months, inp.dt, inp.n_steps
    B, M = inp.demand_t_per_month.shape
    K = inp.group_share.shape[2]
    c = np.ascontiguousarray

    def el(x):                      # (B,) per scenario -> (1, B)
        return c(np.asarray(x, dtype=float)[None, :])

    def per_step(x):                # (B, S) per scenario -> (S, 1, B)
        return c(x.T)[:, None, :]

    D0 = c(inp.demand_t_per_month.T)                                        # (M, B) t/month
    cs = c(inp.china_share.T)
    w = c(inp.group_share.transpose(2, 1, 0))                                # (K, M, B)
    target = c(inp.cover_months.transpose(2, 1, 0) * w * D0[None])           # (K, M, B) t
    R, n_pos = ring_size(inp)
    fc, wc = split_lead(inp.lead_china_months * spm)                          # (B, S)
    fo, wo = split_lead(inp.lead_other_months * spm)
    stretch = (inp.lead_china_months.max(axis=1) - inp.lead_other_months) * spm
    stretch_whole = np.floor(stretch).astype(np.intp)
    allied = inp.allied_t is not None
    zeros_mb = np.zeros((M, B))
    allied_cap = zeros_mb
    if inp.allied_t is not None:
        assert inp.allied_max_share_per_month is not None   # the allies' levers come together (core.engine)
        allied_cap = inp.allied_max_share_per_month[None, :] * D0 * dt
    rules = _rules(inp)
    params = LoopParams(
        spm=spm, dt=dt, mask=R - 1, n_pos=n_pos, n_groups=K, strategy=STRATEGIES.index(inp.strategy),
        has_allied=allied, has_first=bool(np.any(inp.group_first)), pooled=bool(inp.pooled), D0=D0, cs=cs,
        scope=c(inp.scope_share.T), w=w,
        w_sum=_group_total(w), first=c(inp.group_first.transpose(2, 1, 0)),
        reserved=c(inp.group_reserved.transpose(2, 1, 0)), target=target, target_sum=_group_total(target),
        cap_free=cs * D0 * c(inp.china_max_ratio.T), cap_base=cs * D0,
        cap_release=inp.max_release_share_per_month[None, :] * D0 * dt,
        trigger_t=inp.trigger_cover_months[None, :] * D0,
        tiny=TINY * D0 * dt,
        rho=el(inp.reallocation), delay=el(inp.decision_delay_months), restock=el(inp.restock_months),
        allied_cap=allied_cap,
        # the order book is read after the step's arrivals and before its orders, so in
        # steady state it holds demand x (lead - dt); a lead under a step counts as one
        in_book_o=el(np.maximum(inp.lead_other_months, dt) - dt),
        fo=c(fo[None, :]), wo=el(wo),
        start=el(inp.restriction_start_month), end=el(inp.restriction_end_month),
        transit=el(inp.transit_months),
        stretch_whole=c(stretch_whole[None, :]), stretch_frac=el(stretch - stretch_whole),
        initial_severity=el(inp.initial_severity), held_share=el(inp.held_share),
        subst=c(inp.substitution_share.transpose(2, 1, 0)),
        alt=c(inp.alternative_share.transpose(2, 1, 0)),
        restricted=per_step(inp.restricted), severity=per_step(inp.severity), leakage=per_step(inp.leakage),
        in_book_c=per_step(np.maximum(inp.lead_china_months, dt) - dt),
        fc=per_step(fc), wc=per_step(wc),
        **{name: per_step(rule.T) for name, rule in rules.items()},
    )
    national = c(inp.national_t.T, dtype=float)
    state = LoopState(
        stock=target.copy(), short=np.zeros((K, M, B)), claim=np.zeros((K, M, B)), grant=np.zeros((K, M, B)),
        gap=np.zeros((K, M, B)),
        demand=np.zeros((M, B)), arrived=np.zeros((M, B)), used=np.zeros((M, B)), short_sum=np.zeros((M, B)),
        stock_sum=np.zeros((M, B)),
        release=np.zeros((M, B)), national=national.copy(), national_target=national.copy(),
        on_order=np.zeros((M, B)), on_order_nat=np.zeros((M, B)), held=np.zeros((M, B)),
        allied=c(inp.allied_t.T).copy() if inp.allied_t is not None else np.zeros((M, B)),
        trigger_time=np.full((M, B), np.inf), margin=_initial_margin(target, w, D0, params.trigger_t),
        sched=np.zeros((R, 3, M, B)),
    )
    _steady_pipeline(state, cs * D0 * dt, (1.0 - cs) * D0 * dt, fo, wo, n_pos - S)
    record = LoopRecord(
        demand=np.zeros((H, M, B)), arrivals=np.zeros((H, 3, M, B)), use=np.zeros((H, M, B)),
        shortfall=np.zeros((H, M, B)), release=np.zeros((H, M, B)), corporate_stock=np.zeros((H, M, B)),
        national_stock=np.zeros((H, M, B)), held=np.zeros((H, M, B)), allied_shipped=np.zeros((H, M, B)),
        group_short=np.zeros((H, K, M, B)),
        first_short=np.full((M, B), np.inf), group_first=np.full((K, M, B), np.inf),
        opening_corporate=params.target_sum.copy(), opening_national=state.national.copy(),
    )
    return params, state, record


def _initial_margin(target: np.ndarray, w: np.ndarray, D0: np.ndarray, trigger_t: np.ndarray) -> np.ndarray:
    """The release trigger's margin at t=0 (stocks at target), months of demand (see :func:`trigger`)."""
    margin = (_group_total(target) - trigger_t) / D0
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(w > 0, target / (w * D0[None]), np.inf)
    return np.minimum(margin, cover.min(axis=0))


def _group_total(x: np.ndarray) -> np.ndarray:
    """Sum over the leading axis, in order."""
    total = np.zeros(x.shape[1:])
    for row in x:
        total = total + row
    return total


def _steady_pipeline(s: LoopState, base_c, base_o, fo, wo, max_lead: int) -> None:
    """Shipments in transit at t=0.

    Orders of one step's baseline every step before t=0, at the normal lead
    time (before t=0 every source ran at it).
    """
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
        held_t=rec.held.transpose(tr),
        group_share=inp.group_share, group_shortfall_t=rec.group_short.transpose(3, 2, 1, 0),
        opening_corporate_t=rec.opening_corporate.T, opening_national_t=rec.opening_national.T,
        first_shortage_month=rec.first_short.T,
        group_first_shortage_month=rec.group_first.transpose(2, 1, 0),
        allied_shipped_t=rec.allied_shipped.transpose(tr) if inp.allied_t is not None else None,
    )
