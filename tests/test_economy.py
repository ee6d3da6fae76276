"""The economy layer against hand-computed small cases."""

from types import SimpleNamespace

import numpy as np
import pytest

from simulator.model import economy, supply


def test_output_shares_by_hand():
    # Two sectors, x = (100, 200); sector 0 sells 50 to sector 1, no imports.
    Z = np.array([[0.0, 50.0], [0.0, 0.0]])
    x = np.array([100.0, 200.0])
    A = economy.input_coefficients(Z, x)
    assert A[0, 1] == pytest.approx(0.25)
    B = economy.output_shares(A, x, np.zeros(2))
    assert B[0, 1] == pytest.approx(0.5)          # half of sector 0's output goes to sector 1
    B_imp = economy.output_shares(A, x, np.array([0.2, 0.0]))
    assert B_imp[0, 1] == pytest.approx(0.4)      # 20 % of that input is imported


def test_upstream_loss_by_hand():
    # Customer 1 loses 20 % of output for want of material: supplier 0, which sells
    # half of its output to 1, loses 0.5 * 20 % = 10 % (demand-driven).
    H = np.array([[0.0, 0.5], [0.0, 0.0]])
    q = economy.solve_max_linear(np.array([[0.0, 0.2]]), H)
    np.testing.assert_allclose(q, [[0.1, 0.2]])


def test_max_not_sum_when_both_bind():
    # Supplier 0 has its own 30 % shortage and loses 10 % of demand: the larger binds.
    H = np.array([[0.0, 0.5], [0.0, 0.0]])
    q = economy.solve_max_linear(np.array([[0.3, 0.2]]), H)
    np.testing.assert_allclose(q, [[0.3, 0.2]])


def test_downstream_closure_by_hand():
    # 0 -> 1 critical with weight 0.5, 1 -> 2 with weight 0.8.
    links = (np.array([0, 1]), np.array([1, 2]), np.array([0.5, 0.8]))
    s = economy.downstream_closure(np.array([[0.4, 0.0, 0.1]]), links)
    np.testing.assert_allclose(s, [[0.4, 0.2, 0.16]])
    s = economy.downstream_closure(np.array([[0.4, 0.3, 0.0]]), links)
    np.testing.assert_allclose(s, [[0.4, 0.3, 0.24]])


def test_policy_iteration_equals_value_iteration():
    rng = np.random.default_rng(1)
    for _ in range(20):
        c = rng.integers(2, 9)
        H = rng.random((c, c)) * (rng.random((c, c)) < 0.5)
        H = 0.9 * H / max(1.0, H.sum(axis=1).max())   # row sums <= 0.9
        s = rng.random((30, c)) * (rng.random((30, c)) < 0.4)
        q = economy.solve_max_linear(s, H)
        v = s.copy()
        for _ in range(2000):
            v = np.maximum(s, v @ H.T)
        np.testing.assert_allclose(q, v, atol=1e-10)
        # it is a fixed point
        np.testing.assert_allclose(q, np.maximum(s, q @ H.T), atol=1e-12)


def test_reduction_equals_full_solution():
    # Eliminating sectors that are never constrained must not change the answer.
    rng = np.random.default_rng(2)
    n = 8
    B = rng.random((n, n)) * 0.2
    cand = np.array([1, 4, 6])
    H, G, others = economy.reduce_upstream(B, cand)
    s = np.zeros((5, n))
    s[:, cand] = rng.random((5, 3)) * 0.5
    qc = economy.solve_max_linear(s[:, cand], H)
    q = np.zeros((5, n))
    q[:, cand] = qc
    q[:, others] = qc @ G.T
    v = s.copy()
    for _ in range(3000):
        v = np.maximum(s, v @ B.T)
    np.testing.assert_allclose(q, v, atol=1e-10)


def _tiny_table():
    # 3 sectors: a supplies b (A_ab = 0.4), b supplies c (A_bc = 0.3, critical), c sells to final demand.
    # Value added = output - inputs: a 100, b 60, c 70 (total 230).
    Z = np.array([[0.0, 40.0, 0.0], [0.0, 0.0, 30.0], [0.0, 0.0, 0.0]])
    x = np.array([100.0, 100.0, 100.0])
    return SimpleNamespace(
        n=3, codes=("a", "b", "c"), Z_jpy_mn=Z, output_jpy_mn=x,
        value_added_gdp_jpy_mn=x - Z.sum(axis=0), import_share=np.zeros(3),
        manufacturing=np.ones(3, bool),
    )


def _tiny_use():
    """Two applications, both bought by b; c assembles a product that needs them.

    Use-table sectors F = (b, c). Line 0 is half of b's output, line 1 a fifth.
    Final links: line 0 -> c, needed by half of c's output, 20 % imported
    ready-made; line 1 -> c, needed by 90 %, half imported. c is made to
    order: half of what it fails to deliver (all of its output goes to final
    demand) is deferred.
    """
    return economy.UseLinks(
        line_buyer=np.array([[0.5, 0.0], [0.2, 0.0]]),
        link_app=np.array([0, 1]), link_col=np.array([1, 1]),
        link_share=np.array([0.5, 0.9]), link_import=np.array([0.2, 0.5]),
        to_table=np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
        deferred_col=np.array([1]), deferred_share=np.array([0.5]), deferred_final=np.array([1.0]),
        deferred_weight=np.array([1.0]), deferred_table=np.array([2]))


def _tiny_structure(criticality):
    return economy.build_structure(_tiny_table(), _tiny_use(), gdp_jpy_bn=1.0, criticality=criticality,
                                   min_share=0.1)


def test_build_structure_by_hand():
    st = _tiny_structure(criticality=1.0)
    # scaled to a GDP of 1 bn yen a year: 230 mn yen of value added -> x 1/0.23, per month
    np.testing.assert_allclose(st.output_jpy_bn_per_month, 100.0 / 1000.0 / 0.23 / 12.0 * np.ones(3))
    np.testing.assert_allclose(st.va_ratio, [1.0, 0.6, 0.7])
    np.testing.assert_allclose(st.output_jpy_bn_per_month @ st.va_ratio, 1.0 / 12.0)
    # critical links a -> b (A = 0.4) and b -> c (A = 0.3), both >= 0.1, weight 1 (no imports)
    src, dst, w = st.links
    assert sorted(zip(src.tolist(), dst.tolist(), w.tolist(), strict=True)) == [(0, 1, 1.0), (1, 2, 1.0)]
    # domestic Leontief inverse, column c: c's final output needs 0.3 of b and 0.4 x 0.3 of a
    np.testing.assert_allclose(st.chain_output[:, 2], [0.12, 0.3, 1.0])
    # so a unit of c's final output carries 0.12 x 1 + 0.3 x 0.6 + 1 x 0.7 = 1.0 of value added
    assert st.va_ratio @ st.chain_output[:, 2] == pytest.approx(1.0)
    assert economy.build_structure(_tiny_table(), _tiny_use(), 1.0, 0.0, 0.1).links[0].size == 0


def test_line_losses_by_hand():
    """Line 0 uses material 0 (criticality 1) and material 1 (0.5); line 1 uses material 0 (0.5).

    Shortages 40 % and 60 % give line 0 max(0.4, 0.5 x 0.6) = 0.4; line 1
    0.5 x 0.5 = 0.25. An unused slot (-1) counts for nothing, and a line never
    loses more than everything (criticality 2 x 80 % -> 1).
    """
    shortage = np.zeros((1, 2, 3, 2))                  # (B, M, K, H)
    shortage[0, 0, 0], shortage[0, 0, 1], shortage[0, 1, 0] = [0.4, 0.8], [0.5, 0.0], [0.6, 0.0]
    shortage[0, 1, 2] = 0.9                            # an unused slot
    crit = np.array([[[1.0, 0.5, 1.0], [0.5, 1.0, 1.0]]])
    app = np.array([[0, 1, -1], [0, -1, -1]])
    lines = economy.line_losses(shortage, crit, app, 2)
    np.testing.assert_allclose(lines[0], [[0.4, 0.25], [0.8, 0.0]])
    crit2 = crit.copy()
    crit2[0, 0, 0] = 2.0
    assert economy.line_losses(shortage, crit2, app, 2)[0, 1, 0] == 1.0


def test_direct_loss_buyer_sums_assembler_takes_the_largest_link():
    """Lines 0.4 and 0.25: buyer b loses 0.5 x 0.4 + 0.2 x 0.25 = 0.25 (its lines add);
    assembler c loses max(0.5 x 0.8 x 0.4, 0.9 x 0.5 x 0.25) = max(0.16, 0.1125) = 0.16
    (its components hit the same products: the scarcest binds, they do not add)."""
    st = _tiny_structure(criticality=1.0)
    lines = np.array([[0.4, 0.25], [1.0, 1.0]])
    d = economy.direct_loss(lines, st)
    np.testing.assert_allclose(d[0], [0.25, 0.16])
    np.testing.assert_allclose(d[1], [0.7, 0.45])
    # softening: per-row link weights replace f (1 - z), e.g. all components imported -> no link loss
    np.testing.assert_allclose(economy.direct_loss(lines, st, np.zeros((2, 2)))[:, 1], [0.0, 0.0])
    # a sector that both buys and assembles loses the larger of the two
    both = economy.UseLinks(**{**_tiny_use().__dict__, "link_col": np.array([0, 0])})
    st2 = economy.build_structure(_tiny_table(), both, 1.0, 1.0, 0.1)
    np.testing.assert_allclose(economy.direct_loss(lines, st2)[:, 0], [0.25, 0.7])


def test_structure_and_output_loss_by_hand():
    """Direct losses b 25 %, c 16% (from the lines above).

    With critical inputs (criticality 1): c cannot work without b's input
    (A_bc = 0.3 >= 0.1), so it loses max(16 %, 25 %) = 25 %; a sells 40 % of
    its output to b and loses 0.4 x 25 % = 10 % (demand-driven). Without
    critical inputs c keeps its own 16 %; b's customer c buys 30 % of b's
    output, but 0.3 x 16 % < 25 %, so b stays at 25 %.
    A second month hits only c (50 %), b 2 %: b now loses 0.3 x 50 % = 15 % of
    demand (more than its own 2 %), and a 0.4 x 15 % = 6 %.
    """
    delta = np.array([[0.0, 0.25, 0.16], [0.0, 0.02, 0.5]])
    np.testing.assert_allclose(economy.direct_loss(np.array([[0.4, 0.25]]), _tiny_structure(1.0))
                               @ _tiny_use().to_table, delta[:1])
    st = _tiny_structure(criticality=1.0)
    s, q = economy.output_losses(delta, st)
    np.testing.assert_allclose(s, [[0.0, 0.25, 0.25], [0.0, 0.02, 0.5]])
    np.testing.assert_allclose(q, [[0.1, 0.25, 0.25], [0.06, 0.15, 0.5]])
    np.testing.assert_allclose(economy.output_loss(delta, _tiny_structure(0.0)), [[0.1, 0.25, 0.16],
                                                                                   [0.06, 0.15, 0.5]])
    # value added lost, as a share of the month's GDP: (0.1 x 100 + 0.25 x 60 + 0.25 x 70) / 230
    lost = q[0] * st.output_jpy_bn_per_month @ st.va_ratio
    assert lost / (1.0 / 12.0) == pytest.approx(42.5 / 230.0)


def test_gross_and_net_loss_of_a_made_to_order_sector_by_hand():
    """The economy month by month for a stop of the assembler c alone (criticality 0).

    Its direct loss is 16 % for two months, then material is back. With a one-
    month restart ramp the third month still loses 8 %. Gross: c loses d, b
    0.3 d and a 0.12 d of output, so each month loses d x (12 + 18 + 70) / 230
    of a month's GDP; over the three months 0.4 x 100 / 230.
    Half of c's lost deliveries are deferred (0.5 x 0.4 = 0.2 of a month's
    output); with a ceiling of 1.1 it makes up 0.1 in each of months 3 and 4,
    once it has material again. Each unit made up carries 1.0 of value added
    along the chain (closed economy), so the net loss is half the gross.
    """
    st = _tiny_structure(criticality=0.0)
    direct_c = np.array([0.16, 0.16, 0.0, 0.0, 0.0, 0.0])
    lagged = economy.restart_lag(np.stack([np.zeros(6), direct_c], axis=1)[None], np.array([1.0]))[0]
    np.testing.assert_allclose(lagged[:, 1], [0.16, 0.16, 0.08, 0.0, 0.0, 0.0])
    q = economy.output_loss(lagged @ st.to_table, st)
    np.testing.assert_allclose(q, np.outer(lagged[:, 1], [0.12, 0.3, 1.0]), atol=1e-15)
    month_gdp = 1.0 / 12.0
    gross = q * st.output_jpy_bn_per_month @ st.va_ratio / month_gdp
    np.testing.assert_allclose(gross, lagged[:, 1] * 100.0 / 230.0)
    made = economy.catch_up(lagged[None][:, :, st.deferred_col], st.deferred_share[None],
                            st.deferred_final, np.array([1.1]))[0, :, 0]
    np.testing.assert_allclose(made, [0.0, 0.0, 0.0, 0.1, 0.1, 0.0], atol=1e-15)
    size = st.deferred_weight * st.output_jpy_bn_per_month[st.deferred_table]
    recovered = made * size[0] * (st.va_ratio @ st.chain_output[:, st.deferred_table[0]]) / month_gdp
    np.testing.assert_allclose(recovered, made * 100.0 / 230.0)
    assert gross.sum() == pytest.approx(0.4 * 100.0 / 230.0)
    assert gross.sum() - recovered.sum() == pytest.approx(0.5 * gross.sum())
    # a ceiling that leaves no spare capacity makes nothing up; cancelled orders (share 0) neither
    assert economy.catch_up(lagged[None][:, :, [1]], np.array([[0.5]]), np.array([1.0]), np.array([1.0])).sum() == 0
    assert economy.catch_up(lagged[None][:, :, [1]], np.array([[0.0]]), np.array([1.0]), np.array([1.1])).sum() == 0


def _allocate(claims, amount, rho=0.0, first=None):
    """``supply.allocate`` on one material: grants for ``claims`` (groups in bid order)."""
    K = len(claims)
    inp = supply.minimal_inputs(groups=K, reallocation=np.array([rho]),
                                group_first=np.array(first or [False] * K, bool).reshape(1, 1, K))
    p, s, _ = supply.prepare(inp)
    s.claim[:, 0, 0] = claims
    supply.allocate(p, s, 0, 0, amount, float(np.sum(claims)))
    return s.grant[:, 0, 0].copy()


def test_priority_fill():
    """Claims 0.2, 0.5, 0.3 (bid order) and 0.6 to share; the middle group is a priority group.

    It gets all 0.5 it needs; 0.1 is left for 0.5 of other claims: pro-rata
    20 % each (0.04, 0.06); highest bidder first, all to the first group
    (0.1, 0); half and half, 0.07 and 0.03. Two priority groups are served in
    their order: the second gets what the first leaves.
    """
    claims = [0.2, 0.5, 0.3]
    first = [False, True, False]
    np.testing.assert_allclose(_allocate(claims, 0.6, first=first) / claims, [0.2, 1.0, 0.2])
    np.testing.assert_allclose(_allocate(claims, 0.6, rho=1.0, first=first), [0.1, 0.5, 0.0])
    np.testing.assert_allclose(_allocate(claims, 0.6, rho=0.5, first=first), [0.07, 0.5, 0.03])
    np.testing.assert_allclose(_allocate(claims, 0.6, rho=0.5, first=[False, True, True]), [0.0, 0.5, 0.1])
    np.testing.assert_allclose(_allocate(claims, 0.4, first=[True, True, False]), [0.2, 0.2, 0.0])
    # never more than claimed, and everything handed out when claims exceed the amount
    for rho in (0.0, 0.3, 1.0):
        for f in ([False] * 3, first):
            g = _allocate(claims, 0.6, rho=rho, first=f)
            assert (g <= np.array(claims) + 1e-15).all() and g.sum() == pytest.approx(0.6)
            np.testing.assert_allclose(_allocate(claims, 5.0, rho=rho, first=f), claims)
