"""Economy layer: supply-constrained input-output with critical inputs.

Pure functions over numpy arrays; the equations are in ``docs/model.md``
(section "Economy"). Notation, for a table with n sectors:

- ``x``: baseline gross output; ``v = VA / x``: value-added ratio;
- ``A = Z diag(x)^-1``: input coefficients; ``m``: import shares;
- ``B_ij = (1 - m_i) A_ij x_j / x_i``: share of sector i's output sold
  as domestic intermediate input to j (the rest goes to final demand);
- ``delta``: direct output loss share from missing materials;
- ``K_ij = kappa (1 - m_i)`` on critical links i -> j, else 0.

Output loss shares ``q`` (0 = baseline, 1 = nothing produced) solve, per
scenario-month::

    s = max(delta, max_i K_ij s_i)        downstream: lost critical inputs
    q = max(s, B q)                       upstream: lost demand from customers

Both are monotone fixed points with unique solutions (K <= 1 and
rho(B) < 1). With K = 0 this is the mixed exogenous/endogenous Leontief
model; the downstream step is the Leontief critical-input constraint of
Pichler et al. (2022).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EconomyStructure:
    """Everything about the economy that does not change between steps.

    Built once per (table, dependence, criticality) by
    :func:`build_structure`; shared by every scenario of a batch.
    """

    output_jpy_bn_per_month: np.ndarray  # (n,) baseline, scaled to current GDP
    va_ratio: np.ndarray                  # (n,) value added / output
    B: np.ndarray                         # (n, n)
    links: tuple                          # (src idx, dst idx, weight) of critical links
    candidates: np.ndarray                # (c,) sectors that can be supply-constrained
    H: np.ndarray                         # (c, c) reduced upstream operator
    G: np.ndarray                         # (n-c, c) loss of the other sectors given the candidates
    others: np.ndarray                    # (n-c,)
    dependence: np.ndarray                # (n, M)
    use_share: np.ndarray                 # (n, M) share of each material used by each sector


def input_coefficients(Z: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``A = Z diag(x)^-1``: input of i per unit of j's output (unitless)."""
    return Z / x[None, :]


def output_shares(A: np.ndarray, x: np.ndarray, import_share: np.ndarray) -> np.ndarray:
    """``B_ij = (1 - m_i) A_ij x_j / x_i``: domestic intermediate sales shares.

    Assumes each product's import share is the same in all its uses (the
    standard MIC competitive-import assumption). Negative entries (scrap
    and by-product conventions) are set to zero so that losses stay
    within [0, 1].
    """
    B = (1.0 - import_share)[:, None] * A * x[None, :] / x[:, None]
    return np.clip(B, 0.0, None)


def critical_links(A, import_share, criticality, min_share, eligible):
    """Critical-input links i -> j and their weights ``kappa (1 - m_i)``.

    An input i is critical to j when ``A_ij >= min_share`` and both are
    ``eligible`` (by default: manufacturing). Self-links are dropped (they
    never bind since weights are <= 1).
    """
    n = A.shape[0]
    mask = (A > 0) & (A >= min_share) & eligible[:, None] & eligible[None, :] & ~np.eye(n, dtype=bool)
    if criticality <= 0 or not mask.any():
        return (np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    src, dst = np.nonzero(mask)
    weight = criticality * (1.0 - import_share[src])
    keep = weight > 0
    return (src[keep], dst[keep], weight[keep])


def downstream_closure(delta: np.ndarray, links) -> np.ndarray:
    """Supply-side loss ``s = max(delta, max_i K_ij s_i)`` over rows.

    Parameters
    ----------
    delta : ndarray (R, n)
        Direct loss shares in [0, 1].
    links : (src, dst, weight)
        Critical links from :func:`critical_links`.

    Returns
    -------
    ndarray (R, n)
        The least fixed point. Because weights are <= 1 it is a max-times
        path problem: ``s_j = max_i P_ij delta_i`` with ``P`` the strongest
        path weights (:func:`path_weights`, cached), so only the sectors with
        a direct loss are propagated, one contiguous row operation per
        reachable (source, target) pair.
    """
    src, dst, w = links
    if len(src) == 0 or delta.size == 0:
        return delta.copy()
    n = delta.shape[-1]
    P = path_weights(n, links)
    s = np.array(delta.T)                               # sectors x rows: contiguous row ops
    for i in np.flatnonzero(s.any(axis=1)):
        row = delta[:, i]
        for j in np.flatnonzero(P[i]):
            np.maximum(s[j], row * P[i, j], out=s[j])
    return s.T


_PATHS: dict = {}


def path_weights(n: int, links) -> np.ndarray:
    """Strongest-path weights ``P_ij`` (max over paths i -> j of the product of
    link weights), zero on the diagonal and where j is not reachable; (n, n).

    Cached per link set (a few per process).
    """
    src, dst, w = links
    key = (n, src.tobytes(), dst.tobytes(), np.asarray(w, float).tobytes())
    P = _PATHS.get(key)
    if P is None:
        P = np.zeros((n, n))
        np.maximum.at(P, (src, dst), w)
        for _ in range(n):                              # paths of up to n links
            new = P.copy()
            for a, b, wt in zip(src, dst, w):           # extend every path that ends at a by a -> b
                np.maximum(new[:, b], P[:, a] * wt, out=new[:, b])
            if np.array_equal(new, P):
                break
            P = new
        np.fill_diagonal(P, 0.0)                       # weights <= 1: cycles never raise a loss
        if len(_PATHS) > 16:
            _PATHS.clear()
        _PATHS[key] = P
    return P


def reduce_upstream(B: np.ndarray, candidates: np.ndarray):
    """Eliminate sectors that are never supply-constrained.

    For a sector u outside ``candidates`` the loss is purely demand-driven,
    ``q_U = B_UU q_U + B_UC q_C``, so ``q_U = G q_C`` with
    ``G = (I - B_UU)^-1 B_UC`` and the candidates solve
    ``q_C = max(s_C, H q_C)`` with ``H = B_CC + B_CU G``.
    """
    n = B.shape[0]
    others = np.setdiff1d(np.arange(n), candidates)
    B_UU = B[np.ix_(others, others)]
    B_UC = B[np.ix_(others, candidates)]
    G = np.linalg.solve(np.eye(len(others)) - B_UU, B_UC)
    H = B[np.ix_(candidates, candidates)] + B[np.ix_(candidates, others)] @ G
    return H, G, others


def solve_max_linear(s: np.ndarray, H: np.ndarray, tol: float = 1e-12, max_iter: int = 200) -> np.ndarray:
    """Least solution of ``q = max(s, H q)`` for every row of ``s``.

    Policy iteration (Howard 1960): guess which sectors are supply-bound
    (``q_i = s_i``), solve the linear system for the others exactly, and
    switch a sector only where that strictly improves it. Rows sharing a
    guess are solved together with one small cached solve. ``H >= 0`` with
    row sums <= 1 and spectral radius < 1 make this a discounted
    optimal-stopping problem, so it ends in a few rounds with the exact
    solution.

    Parameters
    ----------
    s : ndarray (R, c)
        Supply-side loss shares of the candidate sectors.
    H : ndarray (c, c)
        Reduced upstream operator from :func:`reduce_upstream`.

    Returns
    -------
    ndarray (R, c)
    """
    R, c = s.shape
    q = s.copy()
    if R == 0 or c == 0:
        return q
    bound = np.ones((R, c), dtype=bool)
    cache: dict[bytes, np.ndarray] = {}
    HT = np.ascontiguousarray(H.T)
    todo = np.arange(R)            # rows whose guess changed last round; the others have converged
    for _ in range(max_iter):
        Hq = q[todo] @ HT
        st, bt = s[todo], bound[todo]
        to_free = bt & (Hq > st + tol)
        to_bind = ~bt & (st > Hq + tol)
        active = (to_free | to_bind).any(axis=1)
        if not active.any():
            break
        todo = todo[active]
        new_bound = (bt[active] | to_bind[active]) & ~to_free[active]
        bound[todo] = new_bound
        order, starts, packed = _group_rows(new_bound)
        for lo, hi in zip(starts, np.r_[starts[1:], len(order)]):
            sel = order[lo:hi]
            rows = todo[sel]
            b = new_bound[sel[0]]
            free = ~b
            if not free.any():
                q[rows] = s[rows]
                continue
            key = packed[sel[0]].tobytes()
            M = cache.get(key)
            if M is None:
                M = np.linalg.solve(np.eye(int(free.sum())) - H[np.ix_(free, free)], H[np.ix_(free, b)])
                cache[key] = M
            sb = s[np.ix_(rows, b)]
            block = np.empty((len(rows), c))
            block[:, b] = sb
            block[:, free] = sb @ M.T
            q[rows] = block
    return q


def _group_rows(bits: np.ndarray):
    """Group equal rows of a boolean matrix (R, c) without ``np.unique(axis=0)``.

    Rows are packed into 64-bit words and sorted; returns the sort order,
    the start of each group in it, and the packed rows (R, bytes).
    """
    packed = np.packbits(bits, axis=1, bitorder="little")
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros((len(packed), pad), np.uint8)], axis=1)
    words = np.ascontiguousarray(packed).view(np.uint64)
    order = np.argsort(words[:, 0], kind="stable") if words.shape[1] == 1 else np.lexsort(words.T[::-1])
    w = words[order]
    starts = np.r_[0, np.flatnonzero((w[1:] != w[:-1]).any(axis=1)) + 1]
    return order, starts, packed


def build_structure(table, dependence: np.ndarray, gdp_jpy_bn: float,
                    criticality: float, min_share: float,
                    critical_scope: str = "manufacturing") -> EconomyStructure:
    """Precompute everything that does not change between steps."""
    x = table.output_jpy_mn
    A = input_coefficients(table.Z_jpy_mn, x)
    B = output_shares(A, x, table.import_share)
    eligible = table.manufacturing if critical_scope == "manufacturing" else np.ones(table.n, bool)
    links = critical_links(A, table.import_share, criticality, min_share, eligible)
    # Candidates: sectors with any direct dependence, and everything downstream of them.
    direct = dependence.max(axis=1) > 0
    reach = direct.copy()
    src, dst, _ = links
    for _ in range(table.n):
        new = reach.copy()
        new[dst[reach[src]]] = True
        if np.array_equal(new, reach):
            break
        reach = new
    candidates = np.flatnonzero(reach)
    H, G, others = reduce_upstream(B, candidates)
    scale = gdp_jpy_bn / (table.value_added_gdp_jpy_mn.sum() / 1000.0)
    out_month = x / 1000.0 * scale / 12.0
    weights = dependence * x[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        use_share = np.where(weights.sum(0) > 0, weights / weights.sum(0), 0.0)
    return EconomyStructure(
        output_jpy_bn_per_month=out_month,
        va_ratio=table.value_added_gdp_jpy_mn / x,
        B=B,
        links=links,
        candidates=candidates,
        H=H,
        G=G,
        others=others,
        dependence=dependence,
        use_share=use_share,
    )


def direct_loss_proportional(shortage: np.ndarray, dependence: np.ndarray) -> np.ndarray:
    """Direct loss ``delta_i = min(1, max_m d_im s_m)`` when every sector gets
    the same share of its material need.

    Parameters
    ----------
    shortage : ndarray (R, M)
        Unmet share of each material's demand, in [0, 1].
    dependence : ndarray (R, n, M) or (n, M)
        Dependence shares (already scaled per scenario).
    """
    return np.minimum(1.0, (dependence * shortage[:, None, :]).max(axis=-1))


def direct_loss_scaled(shortage: np.ndarray, dependence: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """:func:`direct_loss_proportional` with dependence ``min(1, d_im scale_rm)``,
    one material at a time (no (R, n, M) temporary).

    Parameters
    ----------
    shortage : ndarray (R, M)
    dependence : ndarray (n, M)
        Unscaled dependence shares.
    scale : ndarray (R, M)
        Per-row multiplier of each material's dependence.
    """
    out = None
    for m in range(shortage.shape[1]):
        d = np.minimum(1.0, dependence[None, :, m] * scale[:, m, None])
        d *= shortage[:, m, None]
        out = d if out is None else np.maximum(out, d, out=out)
    return np.minimum(1.0, out, out=out)


def priority_fill(available_share: np.ndarray, use_share: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Fill ratio per sector when ``order`` sectors are served in full first.

    Parameters
    ----------
    available_share : ndarray (R, M)
        Material available as a share of demand (1 - shortage).
    use_share : ndarray (n, M)
        Each sector's share of the material's demand.
    order : ndarray of int
        Priority sectors, first served first. Others share what is left
        in proportion to their demand.

    Returns
    -------
    ndarray (R, n, M) of fill ratios in [0, 1].
    """
    R, M = available_share.shape
    n = use_share.shape[0]
    fill = np.empty((R, n, M))
    left = available_share.copy()
    is_priority = np.zeros(n, bool)
    for i in order:
        need = use_share[i][None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(need > 0, np.minimum(1.0, left / need), 1.0)
        fill[:, i, :] = f
        left = np.maximum(0.0, left - f * need)
        is_priority[i] = True
    rest_need = use_share[~is_priority].sum(axis=0)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        rest = np.where(rest_need > 0, np.minimum(1.0, left / rest_need), 1.0)
    fill[:, ~is_priority, :] = rest[:, None, :]
    return fill


def output_loss(delta: np.ndarray, structure: EconomyStructure) -> np.ndarray:
    """Output loss shares ``q`` (R, n) from direct loss shares ``delta`` (R, n)."""
    s = downstream_closure(delta, structure.links)
    R, n = s.shape
    q = np.zeros((R, n))
    c = structure.candidates
    if len(c) == 0:
        return q
    qc = solve_max_linear(s[:, c], structure.H)
    q[:, c] = qc
    q[:, structure.others] = qc @ structure.G.T
    return q
