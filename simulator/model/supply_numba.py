"""Compiled material layer: the step loop of :mod:`simulator.model.supply` in numba.

The numpy loop in :func:`simulator.model.supply.simulate_supply` is the reference;
this module computes the same equations one scenario at a time, with the
whole state of a scenario (stocks per firm group, the ring of shipments in
transit) in a few hundred bytes, so a step costs ~1 microsecond instead of
~150 numpy calls over the batch. Results equal the numpy loop to round-off
(``tests/test_fast_paths.py`` checks 1e-12 relative on every output).

It is used by :func:`simulator.model.supply.simulate_supply` for batches of at
least :data:`MIN_BATCH` scenarios when numba is installed (so a single
``resim run`` never pays for importing numba), and only for inputs it knows:
a :class:`~simulator.model.supply.SupplyInputs` field that is not listed in
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
    """Same as :func:`simulator.model.supply.simulate_supply`, compiled."""
    from simulator.model.supply import SupplyPaths

    spm, H = inp.steps_per_month, inp.horizon_months
    B, M = inp.demand_t_per_month.shape
    K = inp.group_share.shape[1]
    # the same ring-buffer horizon as the numpy loop (see supply.simulate_supply)
    lead_c_steps = inp.lead_china_months * spm
    lead_o_steps = inp.lead_other_months * spm
    max_lead = int(np.ceil(max(lead_c_steps.max(initial=1.0), lead_o_steps.max(initial=1.0)))) + 2
    f64 = np.float64
    c = np.ascontiguousarray
    has_allied = inp.allied_t is not None
    zeros_bm = np.zeros((B, M))
    zeros_b = np.zeros(B)
    out = np.zeros((10, B, M, H))          # monthly paths, in SupplyPaths order; [9] = allied
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


#: Scenarios advanced together: every per-scenario operation of a step is a
#: loop over this many lanes, which LLVM turns into SIMD instructions and
#: which hides the latency of the step's long chain of dependent operations
#: (one scenario at a time took 1.5x as long).
LANES = 32


@njit(cache=True, nogil=True, error_model="numpy")
def _kernel(spm, H, max_lead, strategy, has_allied,
            D0_all, cs_all, cmr_all, scope_all, severity, lead_china, lead_other, transit_months,
            initial_severity, subst, alt, cover, group_share, restock_months, national_t,
            trigger_months, delay_months, max_release, refill_months, start_all, end_all,
            priority_share, allied_t, allied_delay, allied_max,
            out, first_short, group_first, opening):
    # Variable names and the order of floating-point operations follow
    # simulator.model.supply.simulate_supply step by step (see the comments there),
    # so results are equal to the last bit. Arrays are (..., lane).
    B, M = D0_all.shape
    K = group_share.shape[1]
    L = LANES
    S = H * spm
    dt = 1.0 / spm
    n_pos = S + max_lead + 1
    R = 1                                  # ring size: a power of two > 2 * max_lead (see supply.py)
    while R < 2 * max_lead + 1:
        R *= 2
    mask = R - 1
    ring = np.zeros((R, 3, M, L))          # channels: corporate China, national, corporate other
    bl = np.zeros(L, np.int64)             # scenario of each lane
    gs = np.zeros((K, L))
    w_sum = np.zeros(L)
    start = np.zeros(L)
    end = np.zeros(L)
    has_r = np.zeros(L, np.bool_)
    lo = np.zeros(L)
    fo = np.zeros(L, np.int64)
    wo = np.zeros(L)
    restock = np.zeros(L)
    refill = np.zeros(L)
    refill_rate = np.zeros(L)
    cap_share = np.zeros(L)
    trig_m = np.zeros(L)
    delay = np.zeros(L)
    al_delay = np.zeros(L)
    al_max = np.zeros(L)
    started = np.zeros(L, np.bool_)
    refill_on = np.zeros(L, np.bool_)
    a_open = np.zeros(L, np.bool_)
    in_window = np.zeros(L, np.bool_)
    lc = np.zeros(L)
    fc = np.zeros(L, np.int64)
    wc = np.zeros(L)
    sev = np.zeros(L)
    D0 = np.zeros((M, L))
    cs = np.zeros((M, L))
    cmr = np.zeros((M, L))
    scope = np.zeros((M, L))
    prio = np.zeros((M, L))
    dem = np.zeros((M, L))
    altk = np.zeros((M, L))
    stock = np.zeros((M, K, L))
    target = np.zeros((M, K, L))
    target_sum = np.zeros((M, L))
    on_order = np.zeros((M, L))
    on_order_nat = np.zeros((M, L))
    national = np.zeros((M, L))
    national_target = np.zeros((M, L))
    allied = np.zeros((M, L))
    trigger_time = np.zeros((M, L))
    fshort = np.zeros((M, L))
    gfirst = np.zeros((M, K, L))
    arr_c = np.zeros((M, L))
    arr_o = np.zeros((M, L))
    arr_nat = np.zeros((M, L))
    st_sum = np.zeros((M, L))
    use_need = np.zeros((K, L))
    lack = np.zeros((K, L))
    short = np.zeros((K, L))
    sums = np.zeros(L)
    sums2 = np.zeros(L)
    r1 = np.zeros(L)
    left = np.zeros(L)
    rel = np.zeros(L)
    ratio = np.zeros(L)
    corp_c = np.zeros((M, L))
    nat_c = np.zeros((M, L))
    corp_o = np.zeros((M, L))
    nat_o = np.zeros((M, L))
    acc = np.zeros((9, M, L))              # monthly sums: out[0..6] and allied (8)
    amount = np.zeros(M)

    for b0 in range(0, B, L):
        nl = min(L, B - b0)
        # -- per-lane constants (lanes past the batch repeat its last scenario)
        ring[:] = 0.0
        acc[:] = 0.0
        for l in range(L):
            b = b0 + min(l, nl - 1)
            bl[l] = b
            ws = 0.0
            for g in range(K):
                gs[g, l] = group_share[b, g]
                ws += group_share[b, g]
            w_sum[l] = ws
            start[l] = start_all[b]
            end[l] = end_all[b]
            has_r[l] = end[l] > start[l]
            lo[l] = lead_other[b]
            lo_steps = max(lo[l] * spm, 1.0)
            fo[l] = int(math.floor(lo_steps))
            wo[l] = lo_steps - fo[l]
            restock[l] = restock_months[b]
            refill[l] = refill_months[b]
            refill_rate[l] = 1.0 / refill[l] if refill[l] > 0 else 0.0
            cap_share[l] = max_release[b]
            trig_m[l] = trigger_months[b]
            delay[l] = delay_months[b]
            al_delay[l] = allied_delay[b]
            al_max[l] = allied_max[b]
            for m in range(M):
                d = D0_all[b, m]
                D0[m, l] = d
                cs[m, l] = cs_all[b, m]
                cmr[m, l] = cmr_all[b, m]
                scope[m, l] = scope_all[b, m]
                prio[m, l] = priority_share[b, m]
                ts = 0.0
                for g in range(K):
                    target[m, g, l] = cover[b, m, g] * group_share[b, g] * d
                    stock[m, g, l] = target[m, g, l]
                    ts += target[m, g, l]
                    gfirst[m, g, l] = np.inf
                target_sum[m, l] = ts
                national[m, l] = national_t[b, m]
                national_target[m, l] = national_t[b, m]
                allied[m, l] = allied_t[b, m]
                trigger_time[m, l] = np.inf
                fshort[m, l] = np.inf
                on_order_nat[m, l] = 0.0
                if l < nl:
                    opening[0, b, m] = ts
                    opening[1, b, m] = national_t[b, m]
                # steady state before t=0 (normal lead time)
                base_c = cs[m, l] * d * dt
                base_o = (1.0 - cs[m, l]) * d * dt
                for kk in range(-max_lead - 1, 0):
                    pos = kk + fo[l]
                    if pos >= 0:
                        ring[pos, 0, m, l] += base_c * (1.0 - wo[l])
                        ring[pos, 2, m, l] += base_o * (1.0 - wo[l])
                    if pos + 1 >= 0:
                        ring[pos + 1, 0, m, l] += base_c * wo[l]
                        ring[pos + 1, 2, m, l] += base_o * wo[l]
                sc = 0.0
                so = 0.0
                for r in range(R):
                    sc += ring[r, 0, m, l]
                    so += ring[r, 2, m, l]
                on_order[m, l] = sc + so

        mon = 0
        sub = 0                            # step within the month
        for k in range(S):
            t = k * dt
            slot = k & mask
            # -- this step's inputs
            for l in range(L):
                b = bl[l]
                started[l] = has_r[l] and (t + dt > start[l])
                refill_on[l] = refill[l] > 0 and has_r[l] and t >= end[l]
                a_open[l] = has_allied and started[l] and (t + 1e-9 >= start[l] + al_delay[l]) and t < end[l]
                in_window[l] = t < end[l]
                lc[l] = lead_china[b, k]
                lc_steps = max(lc[l] * spm, 1.0)
                fc[l] = int(math.floor(lc_steps))
                wc[l] = lc_steps - fc[l]
                sev[l] = severity[b, k]
                for m in range(M):
                    dem[m, l] = D0_all[b, m] * (1.0 - subst[b, m, k])
                    altk[m, l] = alt[b, m, k]
            # 1. arrivals
            for m in range(M):
                for l in range(L):
                    arr_c[m, l] = ring[slot, 0, m, l]
                    arr_nat[m, l] = ring[slot, 1, m, l]
                    arr_o[m, l] = ring[slot, 2, m, l]
                    on_order[m, l] -= arr_c[m, l] + arr_o[m, l]
                    on_order_nat[m, l] -= arr_nat[m, l]
                    national[m, l] += arr_nat[m, l]
            # 1b. pipeline catch at the restriction's start
            for l in range(L):
                if not (has_r[l] and start[l] >= t and start[l] < t + dt):
                    continue
                b = bl[l]
                transit = max(1, int(np.round(transit_months[b] * spm)))
                lc_max = lead_china[b, 0]
                for s in range(1, S):
                    lc_max = max(lc_max, lead_china[b, s])
                stretch = (lc_max - lo[l]) * spm
                f = int(math.floor(stretch))
                wfrac = stretch - f
                span = min(n_pos - k - 1, int(math.ceil(lo[l] * spm)) + 2)
                for off in range(span, -1, -1):
                    if off < transit:
                        continue
                    a = k + off
                    sa = a & mask
                    anything = False
                    for m in range(M):
                        amount[m] = ring[sa, 0, m, l]
                        if amount[m] != 0.0:
                            anything = True
                    if not anything:
                        continue
                    p1 = min(a + f, n_pos - 1) & mask
                    p2 = min(a + f + 1, n_pos - 1) & mask
                    for m in range(M):
                        covered = amount[m] * scope[m, l]
                        keep = covered * (1.0 - initial_severity[b])
                        ring[sa, 0, m, l] = amount[m] - covered   # the uncovered share arrives as due
                        on_order[m, l] -= covered - keep
                        ring[p1, 0, m, l] += keep * (1.0 - wfrac)
                        ring[p2, 0, m, l] += keep * wfrac

            for m in range(M):
                # 2. share arrivals among firm groups
                for l in range(L):
                    sums[l] = 0.0
                for g in range(K):
                    for l in range(L):
                        use_need[g, l] = gs[g, l] * dem[m, l] * dt
                        x = use_need[g, l] - stock[m, g, l]
                        lack[g, l] = x if x > 0.0 else 0.0
                        sums[l] += lack[g, l]
                for l in range(L):
                    arr = arr_c[m, l] + arr_o[m, l]
                    first = min(arr, sums[l])
                    r1[l] = first / sums[l] if sums[l] > 0 else 0.0
                    left[l] = arr - first
                    sums[l] = 0.0
                for g in range(K):
                    for l in range(L):
                        stock[m, g, l] += lack[g, l] * r1[l]
                        x = target[m, g, l] + use_need[g, l] - stock[m, g, l]
                        lack[g, l] = x if x > 0.0 else 0.0          # gap to target
                        sums[l] += lack[g, l]
                for l in range(L):
                    second = min(left[l], sums[l])
                    r1[l] = second / sums[l] if sums[l] > 0 else 0.0                       # r2
                    left[l] = (left[l] - second) / w_sum[l] if w_sum[l] > 0 else 0.0      # r3
                    sums[l] = 0.0
                    sums2[l] = 0.0
                # 3. use
                for g in range(K):
                    for l in range(L):
                        st = stock[m, g, l] + lack[g, l] * r1[l]
                        st = st + gs[g, l] * left[l]
                        use = min(use_need[g, l], st)
                        stock[m, g, l] = st - use
                        sums[l] += use
                        short[g, l] = use_need[g, l] - use
                        sums2[l] += short[g, l]
                # 4. national release (use_sum in sums, short_sum in sums2)
                for l in range(L):
                    st_sum[m, l] = 0.0
                if strategy == 1:
                    for l in range(L):
                        budget = min(cap_share[l] * D0[m, l] * dt, national[m, l])
                        to_short = min(budget, sums2[l])
                        rat = to_short / sums2[l] if sums2[l] > 0 else 0.0
                        extra = budget - to_short if in_window[l] else 0.0
                        rw = extra / w_sum[l] if w_sum[l] > 0 else 0.0
                        ratio[l] = rat if started[l] else 0.0
                        rel[l] = to_short + extra if started[l] else 0.0
                        r1[l] = rw if started[l] else 0.0
                    for g in range(K):
                        for l in range(L):
                            stock[m, g, l] += gs[g, l] * r1[l]
                for g in range(K):
                    for l in range(L):
                        st_sum[m, l] += stock[m, g, l]
                if strategy == 0 or strategy == 2:
                    for l in range(L):
                        trigger = trig_m[l] * D0[m, l]
                        tt = trigger_time[m, l]
                        # trigger: corporate cover below the threshold, or any firm group short
                        low = (st_sum[m, l] < trigger) | (sums2[l] > 1e-12 * D0[m, l] * dt)
                        tt = t if (started[l] & (tt == np.inf) & low) else tt
                        trigger_time[m, l] = tt
                        covered = sums2[l]
                        if strategy == 2:
                            covered = covered * prio[m, l]
                        rr = min(min(cap_share[l] * D0[m, l] * dt, national[m, l]), covered)
                        rat = rr / sums2[l] if sums2[l] > 0 else 0.0
                        active = t + 1e-9 >= tt + delay[l]
                        rel[l] = rr if active else 0.0
                        ratio[l] = rat if active else 0.0
                elif strategy == 3:
                    for l in range(L):
                        rel[l] = 0.0
                        ratio[l] = 0.0
                # released to each group (a no-op where nothing is released)
                for l in range(L):
                    national[m, l] -= rel[l]
                    r1[l] = 0.0
                    sums2[l] = 0.0
                for g in range(K):
                    for l in range(L):
                        x = short[g, l] * ratio[l]
                        r1[l] += x
                        short[g, l] -= x
                        sums2[l] += short[g, l]
                for l in range(L):
                    sums[l] += r1[l]
                    acc[4, m, l] += sums[l]
                    acc[5, m, l] += sums2[l]
                    acc[6, m, l] += rel[l]
                    tiny = 1e-12 * D0[m, l] * dt
                    fs = fshort[m, l]
                    fshort[m, l] = t if ((sums2[l] > tiny) & (fs == np.inf)) else fs
                for g in range(K):
                    for l in range(L):
                        gf = gfirst[m, g, l]
                        gfirst[m, g, l] = t if ((short[g, l] > 1e-12 * D0[m, l] * dt) & (gf == np.inf)) else gf

            # 5. orders and shipments
            for m in range(M):
                for l in range(L):
                    d0 = D0[m, l]
                    c = cs[m, l]
                    dm = dem[m, l]
                    # only the covered share of the Chinese flow waits the restricted lead time
                    # (the order book holds demand x (lead - dt) in steady state)
                    book_c = max(lc[l], dt) - dt
                    book_o = max(lo[l], dt) - dt
                    lcov = scope[m, l] * book_c + (1.0 - scope[m, l]) * book_o
                    pipeline_target = dm * (c * lcov + (1.0 - c) * book_o)
                    position = st_sum[m, l] + on_order[m, l]
                    order = max(0.0, dm + (target_sum[m, l] + pipeline_target - position) / restock[l])
                    with_refill = order + max(0.0, national_target[m, l] - national[m, l] - on_order_nat[m, l]) * refill_rate[l]
                    total = with_refill if refill_on[l] else order
                    # China ships what firms order up to its ceiling, less the withheld share
                    china_cap = c * d0 * cmr[m, l]
                    ship_c = min(c * total, china_cap) * (1.0 - scope[m, l] * sev[l])
                    other_cap = (1.0 - c) * d0 + altk[m, l] * d0
                    ship_o = min(total - ship_c, other_cap)
                    ship_c *= dt
                    ship_o *= dt
                    order *= dt
                    cc = min(ship_c, order)
                    order -= cc
                    co = min(ship_o, order)
                    nat_o[m, l] = ship_o - co
                    # allies fill firms' orders that China and other sources leave open
                    # (a no-op, exactly, where they do not ship)
                    ship_a = min(min(max(0.0, order - co), al_max[l] * d0 * dt), allied[m, l])
                    ship_a = ship_a if a_open[l] else 0.0
                    allied[m, l] -= ship_a
                    co = co + ship_a
                    acc[8, m, l] += ship_a
                    corp_c[m, l] = cc
                    corp_o[m, l] = co
                    nat_c[m, l] = ship_c - cc
                    on_order[m, l] += cc
                    on_order_nat[m, l] += nat_c[m, l]
                    on_order[m, l] += co
                    on_order_nat[m, l] += nat_o[m, l]
                    acc[0, m, l] += dm * dt
                    acc[1, m, l] += arr_c[m, l]
                    acc[2, m, l] += arr_o[m, l]
                    acc[3, m, l] += arr_nat[m, l]
            for l in range(L):
                c0 = (k + fc[l]) & mask
                c1 = (k + fc[l] + 1) & mask
                o0 = (k + fo[l]) & mask
                o1 = (k + fo[l] + 1) & mask
                w1 = 1.0 - wc[l]
                v1 = 1.0 - wo[l]
                for m in range(M):
                    # covered share at the Chinese lead time, the rest at the normal one
                    sc = scope[m, l]
                    ring[c0, 0, m, l] += corp_c[m, l] * sc * w1
                    ring[c0, 1, m, l] += nat_c[m, l] * sc * w1
                    ring[c1, 0, m, l] += corp_c[m, l] * sc * wc[l]
                    ring[c1, 1, m, l] += nat_c[m, l] * sc * wc[l]
                    ring[o0, 0, m, l] += corp_c[m, l] * (1.0 - sc) * v1
                    ring[o0, 1, m, l] += nat_c[m, l] * (1.0 - sc) * v1
                    ring[o1, 0, m, l] += corp_c[m, l] * (1.0 - sc) * wo[l]
                    ring[o1, 1, m, l] += nat_c[m, l] * (1.0 - sc) * wo[l]
                    ring[o0, 1, m, l] += nat_o[m, l] * v1
                    ring[o0, 2, m, l] += corp_o[m, l] * v1
                    ring[o1, 1, m, l] += nat_o[m, l] * wo[l]
                    ring[o1, 2, m, l] += corp_o[m, l] * wo[l]
            ring[slot] = 0.0
            # record the month
            if sub == spm - 1:
                for l in range(nl):
                    b = b0 + l
                    for m in range(M):
                        for j in range(7):
                            out[j, b, m, mon] = acc[j, m, l]
                        out[7, b, m, mon] = st_sum[m, l]
                        out[8, b, m, mon] = national[m, l]
                        out[9, b, m, mon] = acc[8, m, l]
                acc[:] = 0.0
                sub = 0
                mon += 1
            else:
                sub += 1
        for l in range(nl):
            b = b0 + l
            for m in range(M):
                first_short[b, m] = fshort[m, l]
                for g in range(K):
                    group_first[b, m, g] = gfirst[m, g, l]
