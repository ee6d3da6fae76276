"""Fast paths equal their references.

- the compiled material layer (numba) vs the numpy loop, on every stored
  reference batch and on the policy levers;
- the strongest-path downstream closure vs plain fixed-point iteration;
- grouping rows by bound pattern vs ``np.unique``.
"""

import dataclasses
import sys

import numpy as np
import pytest

import simulator
from engine_reference import CASES, PATH, _draws, stored_table
from simulator.model import economy
from simulator.core import engine
from simulator.model import supply
from simulator.core.params import with_values

FIELDS = [f.name for f in dataclasses.fields(supply.SupplyPaths)]


def assert_paths_equal(a, b, label):
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, (label, name)
            continue
        assert x.shape == y.shape, (label, name)
        fin = np.isfinite(x)
        assert np.array_equal(fin, np.isfinite(y)), (label, name)
        scale = max(1.0, float(np.abs(x[fin]).max(initial=0.0)))
        np.testing.assert_allclose(y[fin], x[fin], rtol=1e-12, atol=1e-12 * scale, err_msg=f"{label}: {name}")


@pytest.fixture(scope="module")
def data():
    return np.load(PATH)


def test_compiled_supply_equals_numpy_loop(data):
    pytest.importorskip("numba")
    for name in CASES:
        inp = engine.supply_inputs(stored_table(name, data))
        assert_paths_equal(supply.simulate_supply(inp, method="numpy"),
                           supply.simulate_supply(inp, method="numba"), name)


@pytest.mark.parametrize("over", [
    {"allies.stock_days": 60.0},
    {"stockpile.national.strategy": "reserve_for_priority", "economy.priority_sectors": ["31", "32"]},
    {"stockpile.national.strategy": "immediate", "allies.stock_days": 30.0},
])
def test_compiled_supply_equals_numpy_loop_with_policy_levers(over):
    pytest.importorskip("numba")
    base = simulator.load_scenario(overrides=over)
    rng = np.random.default_rng(11)
    n = 40
    draws = _draws(rng, n, list(base.materials), False)
    draws["allies.delay_months"] = rng.uniform(0, 4, n)
    draws["allies.max_share_per_month"] = rng.uniform(0.05, 1, n)
    if "allies.stock_days" in over:
        draws["allies.stock_days"] = rng.uniform(0, 90, n)
    inp = engine.supply_inputs(with_values(base, n, draws))
    assert_paths_equal(supply.simulate_supply(inp, method="numpy"),
                       supply.simulate_supply(inp, method="numba"), str(over))


def test_dispatch(data, monkeypatch):
    pytest.importorskip("numba")
    from simulator.model import supply_numba

    small = engine.supply_inputs(stored_table("defaults_37", data))
    monkeypatch.delitem(sys.modules, "simulator.model.supply_numba")
    assert supply._compiled(small, "auto") is None                      # a single run does not import numba...
    monkeypatch.setitem(sys.modules, "simulator.model.supply_numba", supply_numba)
    assert supply._compiled(small, "auto") is supply_numba              # ...but uses it once loaded
    big = engine.supply_inputs(with_values(simulator.load_scenario(), 40, {}))
    assert supply._compiled(big, "auto") is supply_numba
    monkeypatch.setenv("RESIM_ENGINE", "numpy")
    assert supply._compiled(big, "auto") is None
    monkeypatch.delenv("RESIM_ENGINE")
    # a set input the kernel does not know sends the batch to the numpy loop
    monkeypatch.setattr(supply_numba, "KNOWN_FIELDS", supply_numba.KNOWN_FIELDS - {"national_t"})
    assert supply._compiled(big, "auto") is None
    with pytest.raises(ValueError):
        supply._compiled(big, "numba")


def closure_by_iteration(delta, links):
    """s = max(delta, max_i K_ij s_i) by plain iteration to the fixed point."""
    src, dst, w = links
    s = delta.copy()
    for _ in range(delta.shape[1] + 1):
        new = s.copy()
        for a, b, wt in zip(src, dst, w):
            new[:, b] = np.maximum(new[:, b], s[:, a] * wt)
        if np.array_equal(new, s):
            break
        s = new
    return s


@pytest.mark.parametrize("seed", range(6))
def test_strongest_path_closure_equals_iteration(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 25))
    L = int(rng.integers(1, 3 * n))
    src, dst = rng.integers(0, n, L), rng.integers(0, n, L)
    keep = src != dst
    pairs = sorted(set(zip(src[keep], dst[keep])))                       # cycles allowed
    if not pairs:
        return
    links = (np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]), rng.uniform(0.05, 1.0, len(pairs)))
    delta = rng.uniform(0, 1, (50, n)) * (rng.uniform(0, 1, (50, n)) < 0.3)
    np.testing.assert_allclose(economy.downstream_closure(delta, links), closure_by_iteration(delta, links),
                               rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("c", [5, 64, 130])
def test_group_rows_matches_unique(c):
    rng = np.random.default_rng(c)
    bits = rng.uniform(0, 1, (300, c)) < 0.5
    bits[::3] = bits[0]                                                   # some repeated patterns
    order, starts, _ = economy._group_rows(bits)
    groups = np.split(order, starts[1:])
    uniq = np.unique(bits, axis=0)
    assert len(groups) == len(uniq)
    assert sorted(order.tolist()) == list(range(300))
    for g in groups:
        assert (bits[g] == bits[g[0]]).all()
