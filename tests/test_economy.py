"""The economy layer against hand-computed small cases."""

from types import SimpleNamespace

import numpy as np
import pytest

from simulator.model import economy


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
    # 3 sectors: 0 supplies 1, 1 supplies 2 (critical), 2 sells to final demand.
    Z = np.array([[0.0, 40.0, 0.0], [0.0, 0.0, 30.0], [0.0, 0.0, 0.0]])
    x = np.array([100.0, 100.0, 100.0])
    return SimpleNamespace(
        n=3, codes=("a", "b", "c"), Z_jpy_mn=Z, output_jpy_mn=x,
        value_added_gdp_jpy_mn=x - Z.sum(axis=0), import_share=np.zeros(3),
        manufacturing=np.ones(3, bool),
    )


def test_structure_and_output_loss_by_hand():
    t = _tiny_table()
    dep = np.array([[0.0], [0.5], [0.0]])   # sector b half dependent on the material
    st = economy.build_structure(t, dep, gdp_jpy_bn=1.0, criticality=1.0, min_share=0.1)
    # Material shortage 40 %: b loses 20 % directly; c relies on b critically (A = 0.3 >= 0.1)
    # and loses 20 %; a sells 40 % of its output to b and loses 0.4 * 20 % = 8 %.
    delta = economy.direct_loss_proportional(np.array([[0.4]]), dep[None])
    q = economy.output_loss(delta, st)
    np.testing.assert_allclose(q, [[0.08, 0.2, 0.2]])
    # Without downstream propagation c is untouched (it is not a customer of anyone constrained).
    st0 = economy.build_structure(t, dep, gdp_jpy_bn=1.0, criticality=0.0, min_share=0.1)
    np.testing.assert_allclose(economy.output_loss(delta, st0), [[0.08, 0.2, 0.0]])


def test_priority_fill():
    use = np.array([[0.2], [0.5], [0.3]])
    fill = economy.priority_fill(np.array([[0.6]]), use, np.array([1]))
    # sector 1 gets all 0.5 it needs; 0.1 is left for 0.5 of other demand: 20 % each
    np.testing.assert_allclose(fill[0, :, 0], [0.2, 1.0, 0.2])
