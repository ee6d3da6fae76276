"""Economy layer: supply-constrained input-output with critical inputs.

Pure functions over numpy arrays; the equations are in ``docs/model.md``
(section "Economy"). Notation, for a table with n sectors:

- ``x``: baseline gross output; ``v = VA / x``: value-added ratio;
- ``A = Z diag(x)^-1``: input coefficients; ``m``: import shares;
- ``B_ij = (1 - m_i) A_ij x_j / x_i``: share of sector i's output sold
  as domestic intermediate input to j (the rest goes to final demand);
- ``L_a``: output loss of application (product line) ``a`` of the physical
  use table (:func:`line_losses`);
- ``delta``: direct output loss share of each sector (:func:`direct_loss`):
  the buyer of the material loses its lines, ``sum_a w_a L_a``, and an
  assembler that needs the component loses ``max_a f_a (1 - z_a) L_a``;
- ``K_ij = kappa (1 - m_i)`` on critical links i -> j, else 0.

Output loss shares ``q`` (0 = baseline, 1 = nothing produced) solve, per
scenario-month::

    s = max(delta, max_i K_ij s_i)        downstream: lost critical inputs
    q = max(s, B q)                       upstream: lost demand from customers

Both are monotone fixed points with unique solutions (K <= 1 and
rho(B) < 1). With K = 0 this is the mixed exogenous/endogenous Leontief
model; the downstream step is the Leontief critical-input constraint of
Pichler et al. (2022). Over time, capacity returns at a limited rate after
material is back (:func:`restart_lag`), and made-to-order sectors make up a
share of lost deliveries later, up to a capacity ceiling (:func:`catch_up`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EconomyStructure:
    """Everything about the economy that does not change between steps.

    Built once per (table, use table, criticality) by
    :func:`build_structure`; shared by every scenario of a batch. ``F``
    are the sectors the use table names (buyers and assemblers), at the use
    table's resolution; ``A`` applications; ``L`` final links.
    """

    output_jpy_bn_per_month: np.ndarray  # (n,) baseline, per unit of annual GDP
    va_ratio: np.ndarray                  # (n,) value added / output
    B: np.ndarray                         # (n, n)
    links: tuple                          # (src idx, dst idx, weight) of critical links
    candidates: np.ndarray                # (c,) sectors that can be supply-constrained
    H: np.ndarray                         # (c, c) reduced upstream operator
    G: np.ndarray                         # (n-c, c) loss of the other sectors given the candidates
    others: np.ndarray                    # (n-c,)
    line_buyer: np.ndarray                # (A, F) application's share of its buyer's output
    link_app: np.ndarray                  # (L,) application of each final link
    link_col: np.ndarray                  # (L,) assembler of each link, column of F
    link_share: np.ndarray                # (L,) share of the assembler's output needing the component
    link_import: np.ndarray               # (L,) share of the component imported ready-made
    to_table: np.ndarray                  # (F, n) F-sector losses -> table sectors (output weights)
    deferred_col: np.ndarray              # (D,) made-to-order sectors among F
    deferred_share: np.ndarray            # (D,) share of their lost final deliveries that is deferred
    deferred_final: np.ndarray            # (D,) share of their output that goes to final demand
    deferred_weight: np.ndarray           # (D,) their output / their table sector's output
    deferred_table: np.ndarray            # (D,) their table sector
    chain_output: np.ndarray              # (n, n) output of i per unit of j's final output, (I - A_dom)^-1


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
    """Strongest-path weights ``P_ij``, (n, n).

    ``P_ij`` is the maximum over paths i -> j of the product of link weights,
    zero on the diagonal and where j is not reachable. Cached per link set (a few per process).
    """
    src, dst, w = links
    key = (n, src.tobytes(), dst.tobytes(), np.asarray(w, float).tobytes())
    P = _PATHS.get(key)
    if P is None:
        P = np.zeros((n, n))
        np.maximum.at(P, (src, dst), w)
        for _ in range(n):                              # paths of up to n links
            new = P.copy()
            for a, b, wt in zip(src, dst, w, strict=True):  # extend every path that ends at a by a -> b
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
        for lo, hi in zip(starts, np.r_[starts[1:], len(order)], strict=True):
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


@dataclass(frozen=True)
class UseLinks:
    """The physical use table's wiring into a table's sectors (arrays for :func:`build_structure`).

    Attributes
    ----------
    line_buyer : ndarray (A, F)
    link_app, link_col : ndarray of int (L,)
    link_share, link_import : ndarray (L,)
    to_table : ndarray (F, n)
    deferred_col, deferred_table : ndarray of int (D,)
    deferred_share, deferred_final, deferred_weight : ndarray (D,)
    """

    line_buyer: np.ndarray
    link_app: np.ndarray
    link_col: np.ndarray
    link_share: np.ndarray
    link_import: np.ndarray
    to_table: np.ndarray
    deferred_col: np.ndarray
    deferred_share: np.ndarray
    deferred_final: np.ndarray
    deferred_weight: np.ndarray
    deferred_table: np.ndarray


def build_structure(table, use: UseLinks, gdp_jpy_bn: float, criticality: float, min_share: float,
                    critical_scope: str = "manufacturing") -> EconomyStructure:
    """Precompute everything that does not change between steps.

    Parameters
    ----------
    table : simulator.io.tables.IOTable
    use : UseLinks
        The use table wired into ``table``'s sectors.
    gdp_jpy_bn : float
        Annual GDP the table is scaled to, billion yen.
    criticality, min_share : float
        Strength and threshold of the critical-input links (``economy.criticality``,
        ``economy.critical_input_min_share``).
    """
    x = table.output_jpy_mn
    A = input_coefficients(table.Z_jpy_mn, x)
    B = output_shares(A, x, table.import_share)
    eligible = table.manufacturing if critical_scope == "manufacturing" else np.ones(table.n, bool)
    links = critical_links(A, table.import_share, criticality, min_share, eligible)
    # Candidates: sectors the use table can hit directly, and everything downstream of them.
    reach = use.to_table.max(axis=0) > 0
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
    va = table.value_added_gdp_jpy_mn / x
    A_dom = (1.0 - table.import_share)[:, None] * np.clip(A, 0.0, None)
    return EconomyStructure(
        output_jpy_bn_per_month=out_month,
        va_ratio=va,
        B=B,
        links=links,
        candidates=candidates,
        H=H,
        G=G,
        others=others,
        line_buyer=use.line_buyer,
        link_app=use.link_app,
        link_col=use.link_col,
        link_share=use.link_share,
        link_import=use.link_import,
        to_table=use.to_table,
        deferred_col=use.deferred_col,
        deferred_share=use.deferred_share,
        deferred_final=use.deferred_final,
        deferred_weight=use.deferred_weight,
        deferred_table=use.deferred_table,
        chain_output=np.linalg.inv(np.eye(table.n) - A_dom),
    )


def line_losses(shortage: np.ndarray, criticality: np.ndarray, app: np.ndarray, n_apps: int) -> np.ndarray:
    """Output loss share of every application (product line), (B, H, A).

    ``L_a = min(1, max_m c_ma s_ma)``: a line stops in proportion to its
    scarcest material (a magnet line needs both NdFeB and Dy/Tb).

    Parameters
    ----------
    shortage : ndarray (B, M, K, H)
        Unmet share of each firm group's need, month by month.
    criticality : ndarray (B, M, K)
        Output lost per unit share of material missing, in [0, 1].
    app : ndarray of int (M, K)
        Application of each firm group (-1: an unused group).
    n_apps : int
    """
    B, M, K, H = shortage.shape
    out = np.zeros((B, H, n_apps))
    for m in range(M):
        for g in range(K):
            a = app[m, g]
            if a >= 0:
                np.maximum(out[:, :, a], criticality[:, m, g, None] * shortage[:, m, g, :], out=out[:, :, a])
    return np.minimum(out, 1.0, out=out)


def direct_loss(lines: np.ndarray, st: EconomyStructure, link_weight: np.ndarray | None = None) -> np.ndarray:
    """Direct output loss share of the use table's sectors, (R, F), from line losses (R, A).

    A buyer loses the sum of its lines, ``sum_a w_a L_a``; an assembler that
    cannot ship without a component loses ``max_a f_a (1 - z_a) L_a`` (its
    components hit the same products: the scarcest binds); a sector loses
    the larger of the two, at most everything. ``@ st.to_table`` aggregates
    the result to the table's sectors by output weights (the identity when
    the table is the use table's).

    Parameters
    ----------
    lines : ndarray (R, A)
    st : EconomyStructure
    link_weight : ndarray (R, L), optional
        Per-row weight of each final link (softening channels that vary by
        scenario and month); default ``f (1 - z)``.
    """
    direct = lines @ st.line_buyer                                   # (R, F)
    if len(st.link_app):
        weight = st.link_share * (1.0 - st.link_import) if link_weight is None else link_weight
        hit = lines[:, st.link_app] * weight                          # (R, L)
        for j, col in enumerate(st.link_col):
            np.maximum(direct[:, col], hit[:, j], out=direct[:, col])
    return np.minimum(direct, 1.0, out=direct)


def restart_lag(delta: np.ndarray, ramp_months: np.ndarray) -> np.ndarray:
    """Output comes back over a ramp after material is back, (B, H, n) monthly averages.

    While shortages hold a sector's capacity down, its loss is the direct
    loss ``d_h``. When they ease faster than the ramp allows, the loss
    falls linearly from its last level ``L`` to zero over ``ramp`` months
    (a step of ``L / ramp`` per month), and the month's loss is the
    average over the month of that line (``L - step / 2``, or
    ``L^2 / (2 step)`` when it reaches zero within the month), never below
    ``d_h``. ``ramp = 0`` means no lag. Continuous in ``d`` and ``ramp``.

    Parameters
    ----------
    delta : ndarray (B, H, n)
        Direct loss shares month by month.
    ramp_months : ndarray (B,)
        Months a line takes to get back to normal output once material is back.
    """
    out = delta.copy()
    ramp = np.asarray(ramp_months, float)[:, None]
    if not (ramp > 0).any():
        return out
    level = delta[:, 0].copy()                            # loss at the end of the month
    # a ramp of a few 1e-300 months overflows to an infinite step: recovery within the month
    with np.errstate(over="ignore"):
        _lag_loop(out, delta, ramp, level)
    return out


def _lag_loop(out: np.ndarray, delta: np.ndarray, ramp: np.ndarray, level: np.ndarray) -> None:
    """The month loop of :func:`restart_lag`; writes ``out`` in place."""
    step = level / np.where(ramp > 0, ramp, 1.0)
    for h in range(1, delta.shape[1]):
        d = delta[:, h]
        falling = np.maximum(level - step, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            average = np.where(level >= step, level - 0.5 * step,
                               np.where(step > 0, level * level / (2.0 * np.maximum(step, 1e-300)), 0.0))
        lagged = (ramp > 0) & (d < falling)
        out[:, h] = np.where(ramp > 0, np.maximum(d, average), d)
        level = np.where(lagged, falling, d)
        step = np.where(lagged, step, d / np.where(ramp > 0, ramp, 1.0))


#: A sector works off deferred orders only while less than this share of its capacity is cut (assumption).
CATCH_UP_CUT = 0.02


def catch_up(direct: np.ndarray, deferred: np.ndarray, final: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """Output made up later for deferred orders, as a share of baseline monthly output, (B, H, D).

    A made-to-order sector whose own capacity is cut by ``d`` (its direct
    loss, after the restart lag) fails to deliver ``d x final`` of its
    baseline output to final customers each month; a share ``deferred`` of
    that joins a backlog. Each month the backlog is worked off up to the
    spare capacity ``(ceiling - 1) clip(1 - d / CATCH_UP_CUT, 0, 1)``: up to
    ``ceiling - 1`` once the sector has its inputs back, nothing while more
    than :data:`CATCH_UP_CUT` of its capacity is still cut (linear in
    between, so the result is continuous). Orders still open at the
    horizon's end are not counted.

    Parameters
    ----------
    direct : ndarray (B, H, D)
        The made-to-order sectors' direct loss shares month by month.
    deferred : ndarray (B, D)
        Share of lost final deliveries deferred (0 = cancelled).
    final : ndarray (D,)
        Share of each sector's output that goes to final demand.
    ceiling : ndarray (B,)
        Most output a sector can reach, as a multiple of its baseline.
    """
    B, H, D = direct.shape
    made = np.zeros((B, H, D))
    backlog = np.zeros((B, D))
    for h in range(H):
        backlog += deferred * final[None, :] * direct[:, h]
        spare = (ceiling[:, None] - 1.0) * np.clip(1.0 - direct[:, h] / CATCH_UP_CUT, 0.0, 1.0)
        made[:, h] = np.minimum(backlog, spare)
        backlog -= made[:, h]
    return made


def output_loss(delta: np.ndarray, structure: EconomyStructure) -> np.ndarray:
    """Output loss shares ``q`` (R, n) from direct loss shares ``delta`` (R, n)."""
    return output_losses(delta, structure)[1]


def output_losses(delta: np.ndarray, structure: EconomyStructure) -> tuple[np.ndarray, np.ndarray]:
    """Supply-side and total output loss shares ``(s, q)``, each (R, n), from ``delta`` (R, n)."""
    s = downstream_closure(delta, structure.links)
    R, n = s.shape
    q = np.zeros((R, n))
    c = structure.candidates
    if len(c) == 0:
        return s, q
    qc = solve_max_linear(s[:, c], structure.H)
    q[:, c] = qc
    q[:, structure.others] = qc @ structure.G.T
    return s, q
