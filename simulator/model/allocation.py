"""Who gets scarce material: allocation rules and earmarked releases.

The economy layer turns a month's material availability into direct
output losses ``delta_i`` per sector. How the available material is
shared among sectors is a policy choice (``economy.allocation``); the
equations are in ``docs/model.md`` (section "Policy levers"). Notation,
per scenario-month row: ``a_m`` available share of material m's demand
(``1 - shortage``), ``u_im`` sector i's share of m's demand
(``EconomyStructure.use_share``), ``d_im`` the share of i's output that
needs m, ``f_im`` in [0, 1] the fill ratio i gets, and::

    delta_i = min(1, max_m d_im (1 - f_im)),    sum_i u_im f_im <= a_m

- ``proportional``: ``f_im = a_m`` (``economy.direct_loss_proportional``);
- ``priority``: listed sectors filled in order first
  (``economy.priority_fill``);
- ``value_added``: the fills that minimise this month's GDP loss, as a
  linear program solved with HiGHS (:func:`value_added_fill`). The IO
  propagation is included exactly, not approximated: the max-linear loss
  ``q`` of :mod:`simulator.model.economy` is the least solution of
  ``q >= s, q >= H q, s >= delta, s_j >= K_ij s_i``, so minimising the
  (positively weighted) GDP loss over those inequalities yields it.

A ``reserve_for_priority`` national release is earmarked: a share ``e_m``
of demand may go only to the priority sectors, so the other sectors may
use at most ``a_m - e_m`` (:func:`direct_loss_policy`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from simulator.model.economy import EconomyStructure, direct_loss_proportional, priority_fill

RULES = ("proportional", "priority", "value_added")

#: Solved rows kept per economy structure (rows repeat across months and sweeps).
CACHE_ROWS = 50_000
#: Unique rows are stacked into one block-diagonal LP of about this many
#: nonzeros (amortises set-up on small tables; large LPs are solved alone).
BLOCK_NNZ = 8000
#: Decimals kept when deduplicating rows (well below any meaningful change).
_KEY_DECIMALS = 12


def priority_share(use_share: np.ndarray, order) -> np.ndarray:
    """Priority sectors' share of each material's demand, ``p_m = sum_{i in P} u_im``, (M,)."""
    order = np.asarray(order, dtype=int)
    if order.size == 0:
        return np.zeros(use_share.shape[1])
    return np.minimum(1.0, use_share[order].sum(axis=0))


def earmarked_proportional_fill(available: np.ndarray, earmark: np.ndarray,
                                use_share: np.ndarray, is_priority: np.ndarray) -> np.ndarray:
    """Fills (R, n, M) for proportional sharing plus an earmarked top-up.

    The general pool ``g_m = a_m - e_m`` is shared in proportion to every
    sector's full need (fill ``g_m``); the earmarked ``e_m`` then tops up
    the priority sectors in proportion to their need, ``f_im = min(1, g_m
    + e_m / p_m)`` for i in P.
    """
    p = use_share[is_priority].sum(axis=0)                         # (M,)
    general = np.clip(available - earmark, 0.0, 1.0)               # (R, M)
    with np.errstate(divide="ignore", invalid="ignore"):
        top = np.where(p > 0, earmark / p, 0.0)
    R, M = available.shape
    fill = np.broadcast_to(general[:, None, :], (R, len(is_priority), M)).copy()
    fill[:, is_priority, :] = np.minimum(1.0, general + top)[:, None, :]
    return fill


# --------------------------------------------------------------------------
# value_added: the linear program
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Template:
    """The parts of the LP that depend only on the economy structure."""

    pair_sector: np.ndarray     # (P,) sector index of each (sector, material) pair
    pair_material: np.ndarray   # (P,)
    pair_pos: np.ndarray        # (P,) position of the sector among the candidates
    use: np.ndarray             # (P,) u_im
    link_src: np.ndarray        # (L,) positions among candidates
    link_dst: np.ndarray
    link_w: np.ndarray
    H_minus_I: np.ndarray       # (c, c)
    weight: np.ndarray          # (c,) GDP loss per unit loss share, normalised to sum 1
    n: int
    M: int

    @property
    def nnz_per_row(self) -> int:
        return int(3 * len(self.use) + 2 * len(self.link_w) + 2 * len(self.weight)
                   + np.count_nonzero(self.H_minus_I))


def _template(est: EconomyStructure) -> _Template:
    cand = est.candidates
    n, M = est.dependence.shape
    pos = np.full(n, -1)
    pos[cand] = np.arange(len(cand))
    # Sectors that need a material are candidates by construction.
    ps, pm = np.nonzero(est.dependence > 0)
    src, dst, w = est.links
    keep = (pos[src] >= 0) & (pos[dst] >= 0)
    # GDP loss of q_C: own value added plus that of the sectors whose loss
    # follows from the candidates' (q_U = G q_C).
    c_all = est.va_ratio * est.output_jpy_bn_per_month
    weight = c_all[cand] + est.G.T @ c_all[est.others] if len(est.others) else c_all[cand].copy()
    weight = np.maximum(weight, 0.0)
    total = weight.sum()
    return _Template(
        pair_sector=ps, pair_material=pm, pair_pos=pos[ps], use=est.use_share[ps, pm],
        link_src=pos[src[keep]], link_dst=pos[dst[keep]], link_w=w[keep],
        H_minus_I=est.H - np.eye(len(cand)), weight=weight / total if total > 0 else weight,
        n=n, M=M,
    )


class _Cache:
    """Solved rows per economy structure (keeps the structure alive so ids stay unique)."""

    def __init__(self):
        self.by_structure: dict[int, tuple] = {}

    def get(self, est: EconomyStructure):
        entry = self.by_structure.get(id(est))
        if entry is None or entry[0] is not est:
            if len(self.by_structure) >= 8:
                self.by_structure.pop(next(iter(self.by_structure)))
            entry = (est, _template(est), OrderedDict())
            self.by_structure[id(est)] = entry
        return entry[1], entry[2]


_CACHE = _Cache()


def clear_cache() -> None:
    """Forget solved rows (for benchmarks that time cold solves)."""
    _CACHE.by_structure.clear()


def _block_lp(tpl: _Template, d: np.ndarray, avail: np.ndarray, cap_other: np.ndarray | None,
              is_priority: np.ndarray | None):
    """Sparse LP for k rows stacked block-diagonally.

    Variables per row: fills f_p (P), supply-side losses s (c), total
    losses q (c). Returns (c, A_ub, b_ub, bounds, n_vars_per_row).
    """
    from scipy import sparse

    k = d.shape[0]
    P, c, M = len(tpl.use), tpl.H_minus_I.shape[0], tpl.M
    nv = P + 2 * c
    rows, cols, vals, rhs = [], [], [], []
    r0 = 0
    HI = tpl.H_minus_I
    hi_r, hi_c = np.nonzero(HI)
    hi_v = HI[hi_r, hi_c]
    pair_rows = np.arange(P)
    L = len(tpl.link_w)
    for b in range(k):
        v0 = b * nv
        # (1) s_i >= d_im (1 - f_im):  -d f - s <= -d
        rows += [r0 + pair_rows, r0 + pair_rows]
        cols += [v0 + pair_rows, v0 + P + tpl.pair_pos]
        vals += [-d[b], -np.ones(P)]
        rhs.append(-d[b])
        r0 += P
        # (2) sum_i u_im f_im <= a_m
        rows.append(r0 + tpl.pair_material)
        cols.append(v0 + pair_rows)
        vals.append(tpl.use)
        rhs.append(avail[b])
        r0 += M
        # (3) earmark: non-priority sectors use at most a_m - e_m
        if cap_other is not None:
            other = ~is_priority[tpl.pair_sector]
            rows.append(r0 + tpl.pair_material[other])
            cols.append(v0 + pair_rows[other])
            vals.append(tpl.use[other])
            rhs.append(cap_other[b])
            r0 += M
        # (4) downstream critical links: w s_src - s_dst <= 0
        if L:
            rows += [r0 + np.arange(L), r0 + np.arange(L)]
            cols += [v0 + P + tpl.link_src, v0 + P + tpl.link_dst]
            vals += [tpl.link_w, -np.ones(L)]
            rhs.append(np.zeros(L))
            r0 += L
        # (5) q >= s
        rows += [r0 + np.arange(c), r0 + np.arange(c)]
        cols += [v0 + P + np.arange(c), v0 + P + c + np.arange(c)]
        vals += [np.ones(c), -np.ones(c)]
        rhs.append(np.zeros(c))
        r0 += c
        # (6) q >= H q:  (H - I) q <= 0
        rows.append(r0 + hi_r)
        cols.append(v0 + P + c + hi_c)
        vals.append(hi_v)
        rhs.append(np.zeros(c))
        r0 += c
    A = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(r0, k * nv))
    obj = np.tile(np.concatenate([np.zeros(P + c), tpl.weight]), k)
    return obj, A, np.concatenate(rhs), nv


def _solve_rows(tpl: _Template, d: np.ndarray, avail: np.ndarray, cap_other, is_priority) -> np.ndarray:
    """Optimal pair fills (k, P) for k rows."""
    from scipy.optimize import linprog

    obj, A, b, nv = _block_lp(tpl, d, avail, cap_other, is_priority)
    res = linprog(obj, A_ub=A, b_ub=b, bounds=(0.0, 1.0), method="highs")
    if res.status != 0:
        # Always feasible (f = 0, s = q = 1), so this is a solver failure.
        raise RuntimeError(f"value_added allocation LP failed: {res.message}")
    P = len(tpl.use)
    return np.clip(res.x.reshape(len(d), nv)[:, :P], 0.0, 1.0)


def value_added_fill(available: np.ndarray, dependence: np.ndarray, est: EconomyStructure,
                     cap_other: np.ndarray | None = None,
                     is_priority: np.ndarray | None = None) -> np.ndarray:
    """Fills that minimise the month's GDP loss, (R, n, M).

    Parameters
    ----------
    available : ndarray (R, M)
        Material available as a share of demand, ``a_m = 1 - shortage``.
    dependence : ndarray (R, n, M) or (n, M)
        Dependence shares ``d_im`` (already scaled per scenario).
    est : EconomyStructure
    cap_other, is_priority : optional
        Earmarking: sectors outside ``is_priority`` (n,) bool may use at
        most ``cap_other`` (R, M) of each material (share of demand).

    Notes
    -----
    One LP per unique row (rows are deduplicated and cached per economy
    structure), several small rows per HiGHS call (``BLOCK_NNZ``). Fills are clipped to
    [0, 1]; sectors without a need for a material get fill 1.
    """
    tpl, cache = _CACHE.get(est)
    available = np.clip(np.asarray(available, float), 0.0, 1.0)
    R = available.shape[0]
    dep = np.broadcast_to(dependence, (R, tpl.n, tpl.M))
    d_pairs = dep[:, tpl.pair_sector, tpl.pair_material]              # (R, P)
    parts = [available, d_pairs]
    if cap_other is not None:
        cap_other = np.clip(np.asarray(cap_other, float), 0.0, available)
        parts.append(cap_other)
    keys = np.round(np.concatenate(parts, axis=1), _KEY_DECIMALS)
    uniq, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    tag = b"e" if cap_other is not None else b"-"
    kb = [tag + row.tobytes() for row in uniq]
    sol = np.empty((len(uniq), len(tpl.use)))
    todo = []
    for j, key in enumerate(kb):
        hit = cache.get(key)
        if hit is None:
            todo.append(j)
        else:
            cache.move_to_end(key)
            sol[j] = hit
    block = max(1, BLOCK_NNZ // tpl.nnz_per_row)
    for lo in range(0, len(todo), block):
        js = np.asarray(todo[lo:lo + block])
        rows = first[js]
        sol[js] = _solve_rows(tpl, d_pairs[rows], available[rows],
                              None if cap_other is None else cap_other[rows], is_priority)
        for j in js:
            cache[kb[j]] = sol[j]
    while len(cache) > CACHE_ROWS:
        cache.popitem(last=False)
    fill = np.ones((R, tpl.n, tpl.M))
    fill[:, tpl.pair_sector, tpl.pair_material] = sol[inverse]
    return fill


# --------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------

def direct_loss_policy(rule: str, shortage: np.ndarray, dep: np.ndarray, est: EconomyStructure,
                       priority_order, earmark: np.ndarray | None = None) -> np.ndarray:
    """Direct loss shares (R, n) under an allocation rule, with optional earmark.

    Parameters
    ----------
    rule : {"proportional", "priority", "value_added"}
    shortage : ndarray (R, M)
        Unmet share of each material's demand after national releases.
    dep : ndarray (R, n, M)
        Scaled dependence shares.
    priority_order : sequence of int
        Priority sector indices (first served first).
    earmark : ndarray (R, M), optional
        Share of demand released for the priority sectors only
        (``reserve_for_priority``); included in ``1 - shortage``.
    """
    if rule not in RULES:
        raise ValueError(f"unknown allocation rule {rule!r}")
    available = 1.0 - np.clip(shortage, 0.0, 1.0)
    order = np.asarray(priority_order, dtype=int)
    is_priority = np.zeros(est.use_share.shape[0], bool)
    is_priority[order] = True
    if rule == "priority":
        # Priority sectors are served first from everything available, so
        # they get min(p_m, a_m) >= e_m: the earmark never binds.
        fill = priority_fill(available, est.use_share, order)
    elif rule == "value_added":
        cap = None if earmark is None else available - np.clip(earmark, 0.0, None)
        fill = value_added_fill(available, dep, est, cap, is_priority if cap is not None else None)
    elif earmark is None:
        return direct_loss_proportional(np.clip(shortage, 0.0, 1.0), dep)
    else:
        fill = earmarked_proportional_fill(available, np.clip(earmark, 0.0, None), est.use_share, is_priority)
    return np.minimum(1.0, (dep * (1.0 - fill)).max(axis=-1))
