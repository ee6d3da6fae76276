"""Compiled material layer: the step loop of :mod:`simulator.supply` in numba.

The numpy loop in :func:`simulator.supply.simulate_supply` is the reference;
this module computes the same equations one scenario at a time, with the
whole state of a scenario (stocks per firm group, the ring of shipments in
transit) in a few hundred bytes, so a step costs ~1 microsecond instead of
~150 numpy calls over the batch. Results equal the numpy loop to round-off
(``tests/test_fast_paths.py`` checks 1e-12 relative on every output).

It is used by :func:`simulator.supply.simulate_supply` for batches of at
least :data:`MIN_BATCH` scenarios when numba is installed (so a single
``resim run`` never pays for importing numba), and only for inputs it knows:
a :class:`~simulator.supply.SupplyInputs` field that is not listed in
:data:`KNOWN_FIELDS` and is set (not ``None``) sends the batch to the numpy
loop, so a new model feature can never be silently ignored here. Set
``RESIM_ENGINE=numpy`` to force the reference loop.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Smallest batch worth the compiled path (import and call overhead).
MIN_BATCH = 32

#: SupplyInputs fields this kernel implements.
KNOWN_FIELDS = frozenset({
    "steps_per_month", "horizon_months", "demand_t_per_month", "china_share", "china_max_ratio",
    "scope_share", "severity", "restricted", "lead_china_months", "lead_other_months",
    "transit_months", "initial_severity", "substitution_share", "alternative_share", "cover_months",
    "group_share", "restock_months", "national_t", "strategy", "trigger_cover_months",
    "decision_delay_months", "max_release_share_per_month", "refill_months",
    "restriction_start_month", "restriction_end_month", "priority_share", "allied_t",
    "allied_delay_months", "allied_max_share_per_month",
})

_STRATEGY_CODE = {"on_shortage": 0, "immediate": 1, "reserve_for_priority": 2, "none": 3}


def simulate_supply(inp):
    """Same as :func:`simulator.supply.simulate_supply`, compiled."""
    from .supply import SupplyPaths

    spm, H = inp.steps_per_month, inp.horizon_months
    S = inp.n_steps
    B, M = inp.demand_t_per_month.shape
    K = inp.group_share.shape[1]
    lead_c_steps = inp.lead_china_months * spm
    lead_o_steps = inp.lead_other_months * spm
    max_lead = int(np.ceil(max(lead_c_steps.max(initial=1.0), lead_o_steps.max(initial=1.0)))) + 2
    f64 = np.float64
    c = np.ascontiguousarray
    has_allied = inp.allied_t is not None
    zeros_bm = np.zeros((B, M))
    zeros_b = np.zeros(B)
    out = np.zeros((10, B, M, H))
    first_short = np.full((B, M), np.inf)
    group_first = np.full((B, M, K), np.inf)
    opening = np.zeros((2, B, M))
    _kernel(
        spm, H, max_lead, _STRATEGY_CODE[inp.strategy], has_allied,
        c(inp.demand_t_per_month, f64), c(inp.china_share, f64), c(inp.china_max_ratio, f64),
        c(inp.scope_share, f64), c(inp.severity, f64), c(inp.lead_china_months, f64),
        c(inp.lead_other_months, f64), c(inp.transit_months, f64), c(inp.initial_severity, f64),
        c(inp.substitution_share, f64), c(inp.alternative_share, f64), c(inp.cover_months, f64),
        c(inp.group_share, f64), c(inp.restock_months, f64), c(inp.national_t, f64),
        c(inp.trigger_cover_months, f64), c(inp.decision_delay_months, f64),
        c(inp.max_release_share_per_month, f64), c(inp.refill_months, f64),
        c(inp.restriction_start_month, f64), c(inp.restriction_end_month, f64),
        zeros_bm if inp.priority_share is None else c(inp.priority_share, f64),
        zeros_bm if not has_allied else c(inp.allied_t, f64),
        zeros_b if not has_allied else c(inp.allied_delay_months, f64),
        zeros_b if not has_allied else c(inp.allied_max_share_per_month, f64),
        out, first_short, group_first, opening,
    )
    del S
    return SupplyPaths(
        demand_baseline_t=np.broadcast_to(inp.demand_t_per_month[:, :, None], (B, M, H)).copy(),
        demand_t=out[0],
        arrivals_china_t=out[1],
        arrivals_other_t=out[2],
        arrivals_national_t=out[3],
        use_t=out[4],
        shortfall_t=out[5],
        release_t=out[6],
        corporate_stock_t=out[7],
        national_stock_t=out[8],
        opening_corporate_t=opening[0],
        opening_national_t=opening[1],
        first_shortage_month=first_short,
        group_first_shortage_month=group_first,
        allied_shipped_t=out[9] if has_allied else None,
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _kernel(spm, H, max_lead, strategy, has_allied,
            D0_all, cs_all, cmr_all, scope_all, severity, lead_china, lead_other, transit_months,
            initial_severity, subst, alt, cover, group_share, restock_months, national_t,
            trigger_months, delay_months, max_release, refill_months, start_all, end_all,
            priority_share, allied_t, allied_delay, allied_max,
            out, first_short, group_first, opening):
    # Variable names and the order of floating-point operations follow
    # simulator.supply.simulate_supply step by step; see the comments there.
    B, M = D0_all.shape
    K = group_share.shape[1]
    S = H * spm
    dt = 1.0 / spm
    n_pos = S + max_lead + 1
    R = 1                                  # ring size: a power of two > 2 * max_lead (see supply.py)
    while R < 2 * max_lead + 1:
        R *= 2
    mask = R - 1
    ring = np.zeros((R, 3, M))            # channels: corporate China, national, corporate other
    stock = np.zeros((M, K))
    target = np.zeros((M, K))
    use_need = np.zeros(K)
    lack = np.zeros(K)
    short = np.zeros(K)
    target_sum = np.zeros(M)
    on_order = np.zeros(M)
    on_order_nat = np.zeros(M)
    national = np.zeros(M)
    national_target = np.zeros(M)
    allied = np.zeros(M)
    trigger_time = np.zeros(M)
    demand = np.zeros(M)
    stock_sum = np.zeros(M)
    short_sum = np.zeros(M)
    use_sum = np.zeros(M)
    release = np.zeros(M)
    rel_ratio = np.zeros(M)
    arr_c = np.zeros(M)
    arr_o = np.zeros(M)
    arr_nat = np.zeros(M)
    amount = np.zeros(M)

    for b in range(B):
        w_sum = 0.0
        for g in range(K):
            w_sum += group_share[b, g]
        start = start_all[b]
        end = end_all[b]
        has_restriction = end > start
        lo = lead_other[b]
        lo_steps = max(lo * spm, 1.0)
        fo = int(math.floor(lo_steps))
        wo = lo_steps - fo
        restock = restock_months[b]
        refill = refill_months[b]
        refill_rate = 1.0 / refill if refill > 0 else 0.0
        cap_rel_share = max_release[b]
        ring[:] = 0.0
        for m in range(M):
            D0 = D0_all[b, m]
            ts = 0.0
            for g in range(K):
                target[m, g] = cover[b, m, g] * group_share[b, g] * D0
                stock[m, g] = target[m, g]
                ts += target[m, g]
            target_sum[m] = ts
            opening[0, b, m] = ts
            national[m] = national_t[b, m]
            national_target[m] = national_t[b, m]
            opening[1, b, m] = national_t[b, m]
            allied[m] = allied_t[b, m]
            trigger_time[m] = np.inf
            on_order_nat[m] = 0.0
            # steady state before t=0 (normal lead time)
            cs = cs_all[b, m]
            base_c = cs * D0 * dt
            base_o = (1.0 - cs) * D0 * dt
            for kk in range(-max_lead - 1, 0):
                pos = kk + fo
                if pos >= 0:
                    ring[pos, 0, m] += base_c * (1.0 - wo)
                    ring[pos, 2, m] += base_o * (1.0 - wo)
                if pos + 1 >= 0:
                    ring[pos + 1, 0, m] += base_c * wo
                    ring[pos + 1, 2, m] += base_o * wo
            sc = 0.0
            so = 0.0
            for r in range(R):
                sc += ring[r, 0, m]
                so += ring[r, 2, m]
            on_order[m] = sc + so

        mon = 0
        sub = 0                           # step within the month
        for k in range(S):
            t = k * dt
            slot = k & mask
            started = has_restriction and (t + dt > start)
            # 1. arrivals
            for m in range(M):
                demand[m] = D0_all[b, m] * (1.0 - subst[b, m, k])
                arr_c[m] = ring[slot, 0, m]
                arr_nat[m] = ring[slot, 1, m]
                arr_o[m] = ring[slot, 2, m]
                on_order[m] -= arr_c[m] + arr_o[m]
                on_order_nat[m] -= arr_nat[m]
                national[m] += arr_nat[m]
            # 1b. pipeline catch at the restriction's start
            if has_restriction and start >= t and start < t + dt:
                transit = max(1, int(np.round(transit_months[b] * spm)))
                lc_max = lead_china[b, 0]
                for s in range(1, S):
                    lc_max = max(lc_max, lead_china[b, s])
                stretch = (lc_max - lo) * spm
                f = int(math.floor(stretch))
                wfrac = stretch - f
                span = min(n_pos - k - 1, int(math.ceil(lo * spm)) + 2)
                for off in range(span, -1, -1):
                    if off < transit:
                        continue
                    a = k + off
                    sa = a & mask
                    anything = False
                    for m in range(M):
                        amount[m] = ring[sa, 0, m]
                        if amount[m] != 0.0:
                            anything = True
                    if not anything:
                        continue
                    p1 = min(a + f, n_pos - 1) & mask
                    p2 = min(a + f + 1, n_pos - 1) & mask
                    for m in range(M):
                        keep = amount[m] * (1.0 - scope_all[b, m] * initial_severity[b])
                        ring[sa, 0, m] = 0.0
                        on_order[m] -= amount[m] - keep
                        ring[p1, 0, m] += keep * (1.0 - wfrac)
                        ring[p2, 0, m] += keep * wfrac

            for m in range(M):
                arr = arr_c[m] + arr_o[m]
                # 2. share arrivals among firm groups
                lack_sum = 0.0
                for g in range(K):
                    use_need[g] = group_share[b, g] * demand[m] * dt
                    x = use_need[g] - stock[m, g]
                    lack[g] = x if x > 0.0 else 0.0
                    lack_sum += lack[g]
                first = min(arr, lack_sum)
                r1 = first / lack_sum if lack_sum > 0 else 0.0
                for g in range(K):
                    stock[m, g] += lack[g] * r1
                left = arr - first
                gap_sum = 0.0
                for g in range(K):
                    x = target[m, g] + use_need[g] - stock[m, g]
                    lack[g] = x if x > 0.0 else 0.0          # gap to target
                    gap_sum += lack[g]
                second = min(left, gap_sum)
                r2 = second / gap_sum if gap_sum > 0 else 0.0
                r3 = (left - second) / w_sum if w_sum > 0 else 0.0
                for g in range(K):
                    stock[m, g] += lack[g] * r2
                for g in range(K):
                    stock[m, g] += group_share[b, g] * r3
                # 3. use
                us = 0.0
                ss = 0.0
                for g in range(K):
                    use = min(use_need[g], stock[m, g])
                    stock[m, g] -= use
                    us += use
                    short[g] = use_need[g] - use
                    ss += short[g]
                use_sum[m] = us
                short_sum[m] = ss
                # 4. national release
                rel = 0.0
                ratio = 0.0
                st_sum = 0.0
                if strategy == 0 or strategy == 2:
                    for g in range(K):
                        st_sum += stock[m, g]
                    trigger = trigger_months[b] * D0_all[b, m]
                    if started and math.isinf(trigger_time[m]) and st_sum < trigger:
                        trigger_time[m] = t
                    if t + 1e-9 >= trigger_time[m] + delay_months[b]:
                        covered = ss
                        if strategy == 2:
                            covered = covered * priority_share[b, m]
                        rel = min(min(cap_rel_share * D0_all[b, m] * dt, national[m]), covered)
                        ratio = rel / ss if ss > 0 else 0.0
                elif strategy == 1:
                    if started:
                        budget = min(cap_rel_share * D0_all[b, m] * dt, national[m])
                        to_short = min(budget, ss)
                        ratio = to_short / ss if ss > 0 else 0.0
                        extra = budget - to_short if t < end else 0.0
                        r = extra / w_sum if w_sum > 0 else 0.0
                        for g in range(K):
                            stock[m, g] += group_share[b, g] * r
                        rel = to_short + extra
                    for g in range(K):
                        st_sum += stock[m, g]
                else:
                    for g in range(K):
                        st_sum += stock[m, g]
                stock_sum[m] = st_sum
                if rel != 0.0 or ratio != 0.0:
                    national[m] -= rel
                    rs = 0.0
                    ss = 0.0
                    for g in range(K):
                        x = short[g] * ratio
                        rs += x
                        short[g] -= x
                        ss += short[g]
                    use_sum[m] += rs
                    short_sum[m] = ss
                release[m] = rel
                tiny = 1e-12 * D0_all[b, m] * dt
                if short_sum[m] > tiny:
                    if math.isinf(first_short[b, m]):
                        first_short[b, m] = t
                    for g in range(K):
                        if short[g] > tiny and math.isinf(group_first[b, m, g]):
                            group_first[b, m, g] = t

            # 5. orders and shipments
            lc = lead_china[b, k]
            lc_steps = max(lc * spm, 1.0)
            fc = int(math.floor(lc_steps))
            wc = lc_steps - fc
            refill_on = refill > 0 and has_restriction and t >= end
            allied_open = has_allied and started and (t + 1e-9 >= start + allied_delay[b]) and t < end
            c0 = (k + fc) & mask
            c1 = (k + fc + 1) & mask
            o0 = (k + fo) & mask
            o1 = (k + fo + 1) & mask
            for m in range(M):
                D0 = D0_all[b, m]
                cs = cs_all[b, m]
                dem = demand[m]
                pipeline_target = dem * (cs * lc + (1.0 - cs) * lo)
                position = stock_sum[m] + on_order[m]
                order = max(0.0, dem + (target_sum[m] + pipeline_target - position) / restock)
                total = order
                if refill_on:
                    total = order + max(0.0, national_target[m] - national[m] - on_order_nat[m]) * refill_rate
                china_cap = cs * D0 * cmr_all[b, m] * (1.0 - scope_all[b, m] * severity[b, k])
                ship_c = min(cs * total, china_cap)
                other_cap = (1.0 - cs) * D0 + alt[b, m, k] * D0
                ship_o = min(total - ship_c, other_cap)
                ship_c *= dt
                ship_o *= dt
                order *= dt
                corp_c = min(ship_c, order)
                order -= corp_c
                corp_o = min(ship_o, order)
                nat_o = ship_o - corp_o
                if allied_open:
                    ship_a = min(min(max(0.0, order - corp_o), allied_max[b] * D0 * dt), allied[m])
                    allied[m] -= ship_a
                    corp_o = corp_o + ship_a
                    out[9, b, m, mon] += ship_a
                nat_c = ship_c - corp_c
                ring[c0, 0, m] += corp_c * (1.0 - wc)
                ring[c0, 1, m] += nat_c * (1.0 - wc)
                ring[c1, 0, m] += corp_c * wc
                ring[c1, 1, m] += nat_c * wc
                on_order[m] += corp_c
                on_order_nat[m] += nat_c
                ring[o0, 1, m] += nat_o * (1.0 - wo)
                ring[o0, 2, m] += corp_o * (1.0 - wo)
                ring[o1, 1, m] += nat_o * wo
                ring[o1, 2, m] += corp_o * wo
                on_order[m] += corp_o
                on_order_nat[m] += nat_o

                # record
                out[0, b, m, mon] += dem * dt
                out[1, b, m, mon] += arr_c[m]
                out[2, b, m, mon] += arr_o[m]
                out[3, b, m, mon] += arr_nat[m]
                out[4, b, m, mon] += use_sum[m]
                out[5, b, m, mon] += short_sum[m]
                out[6, b, m, mon] += release[m]
                if sub == spm - 1:
                    out[7, b, m, mon] = stock_sum[m]
                    out[8, b, m, mon] = national[m]
                ring[slot, 0, m] = 0.0
                ring[slot, 1, m] = 0.0
                ring[slot, 2, m] = 0.0
            sub += 1
            if sub == spm:
                sub = 0
                mon += 1
