"""Fast paths equal their references.

- the compiled material layer (numba) vs the numpy loop, on every stored
  reference batch and on the policy levers (allies, release rules, the
  allocation rules, pooled stocks);
- the strongest-path downstream closure vs plain fixed-point iteration;
- grouping rows by bound pattern vs ``np.unique``.
"""

import dataclasses
import sys

import numpy as np
import pytest
from engine_reference import CASES, PATH, _draws, stored_table
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator
from simulator.core import engine
from simulator.core.params import with_values
from simulator.model import economy, material, supply

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
        assert_paths_equal(material.simulate_supply(inp, method="numpy"),
                           material.simulate_supply(inp, method="numba"), name)


LEVERS = [
    {"allies.stock_days": 60.0},
    {"stockpile.national.strategy": "reserve_for_priority", "economy.priority_sectors": ["31", "32"]},
    {"stockpile.national.strategy": "immediate", "allies.stock_days": 30.0},
    {"economy.allocation": "priority", "economy.priority_sectors": ["35", "20"]},
    {"economy.allocation": "value_added", "inventory.pooled": True},
    {"economy.allocation": "proportional", "stockpile.national.strategy": "none"},
]


@pytest.mark.parametrize("over", LEVERS, ids=[",".join(f"{k}={v}" for k, v in o.items()) for o in LEVERS])
def test_compiled_supply_equals_numpy_loop_with_policy_levers(over):
    pytest.importorskip("numba")
    base = simulator.load_scenario(overrides=over)
    rng = np.random.default_rng(11)
    n = 40
    draws = _draws(rng, n, list(base.materials), False, allies="allies.stock_days" in over)
    inp = engine.supply_inputs(with_values(base, n, draws))
    ref = material.simulate_supply(inp, method="numpy")
    assert_paths_equal(ref, material.simulate_supply(inp, method="numba"), str(over))
    # the batch exercises what it is about: shortages shared among groups, held cargo, the lever
    assert (ref.group_shortfall_t > 0).any() and (ref.held_t > 0).any()
    if "allies.stock_days" in over:
        assert (ref.allied_shipped_t > 0).any()
    if over.get("stockpile.national.strategy", "on_shortage") != "none":
        assert (ref.release_t > 0).any()


def test_dispatch(data, monkeypatch):
    pytest.importorskip("numba")
    from simulator.model import supply_numba

    small = engine.supply_inputs(stored_table("defaults_37", data))
    monkeypatch.delitem(sys.modules, "simulator.model.supply_numba")
    assert material.compiled_module(small, "auto") is None                      # a single run does not import numba...
    monkeypatch.setitem(sys.modules, "simulator.model.supply_numba", supply_numba)
    assert material.compiled_module(small, "auto") is supply_numba              # ...but uses it once loaded
    big = engine.supply_inputs(with_values(simulator.load_scenario(), 40, {}))
    assert material.compiled_module(big, "auto") is supply_numba
    monkeypatch.setenv("RESIM_ENGINE", "numpy")
    assert material.compiled_module(big, "auto") is None


def test_broken_compiler_falls_back_to_numpy_with_one_warning(monkeypatch):
    """If numba cannot compile or load the loop, the numpy loop runs (one warning, same numbers)."""
    pytest.importorskip("numba")
    from simulator.model import supply_numba

    def broken():
        raise OSError("cache file truncated")

    monkeypatch.setattr(supply_numba, "_STATE", {})
    monkeypatch.setattr(supply_numba, "compiled", broken)
    inp = engine.supply_inputs(with_values(simulator.load_scenario(), 40, {}))
    with pytest.warns(RuntimeWarning, match="compiled engine is unavailable") as record:
        got = material.simulate_supply(inp, method="auto")
    assert len(record) == 1
    assert_paths_equal(material.simulate_supply(inp, method="numpy"), got, "fallback")


def test_compiled_driver_runs_the_phases_in_order():
    """The compiled driver calls supply.PHASES, in that order (it cannot loop over them)."""
    import ast
    import inspect

    pytest.importorskip("numba")
    from simulator.model import supply_numba

    tree = ast.parse(inspect.getsource(supply_numba.run_blocks))
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    phases = [c for c in calls if c in {f.__name__ for f in supply.PHASES}]
    assert phases == [f.__name__ for f in supply.PHASES]


# --- The primitives' two bodies agree: numpy arrays here, one element when compiled ---

def _scalar_bodies():
    """Each primitive compiled on scalars through its numba overload."""
    numba = pytest.importorskip("numba")
    from simulator.model import supply_numba

    supply_numba.compiled()                                  # registers the overloads

    @numba.njit
    def scalars(num, den, cond, a, b):
        return (supply.ratio(num, den), supply.select(cond, a, b), supply.minimum(a, b),
                supply.maximum(a, b), supply.zeros_like(a), supply.any_(cond))

    @numba.njit
    def scatter(sched, slot, ch, m, b, value):
        supply.scatter_add(sched, slot, ch, m, b, value)

    return scalars, scatter


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(num=st.lists(finite, min_size=6, max_size=6),
       den=st.lists(st.floats(1e-3, 5) | st.floats(-5, -1e-3) | st.just(0.0), min_size=6, max_size=6),
       cond=st.lists(st.booleans(), min_size=6, max_size=6))
def test_primitive_pairs_agree(num, den, cond):
    scalars, _ = _scalar_bodies()
    num, den, cond = np.array(num).reshape(2, 3), np.array(den).reshape(2, 3), np.array(cond).reshape(2, 3)
    a, b = num, den
    vec = (supply.ratio(num, den), supply.select(cond, a, b), supply.minimum(a, b), supply.maximum(a, b),
           supply.zeros_like(a))
    for i in np.ndindex(2, 3):
        got = scalars(num[i], den[i], cond[i], a[i], b[i])
        for v, g in zip(vec, got[:5], strict=True):
            assert v[i] == g
        assert got[5] == supply.any_(cond[i])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_scatter_add_pair_agrees(seed):
    _, scatter = _scalar_bodies()
    rng = np.random.default_rng(seed)
    R, M, B = 8, 3, 5
    slot = rng.integers(0, R, (M, B))
    value = rng.normal(size=(M, B))
    a = rng.normal(size=(R, 3, M, B))
    b = a.copy()
    supply.scatter_add(a, slot, 1, slice(None), slice(None), value)
    for m in range(M):
        for j in range(B):
            scatter(b, slot[m, j], 1, m, j, value[m, j])
    assert np.array_equal(a, b)


def closure_by_iteration(delta, links):
    """s = max(delta, max_i K_ij s_i) by plain iteration to the fixed point."""
    src, dst, w = links
    s = delta.copy()
    for _ in range(delta.shape[1] + 1):
        new = s.copy()
        for a, b, wt in zip(src, dst, w, strict=True):
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
    pairs = sorted(set(zip(src[keep], dst[keep], strict=True)))                       # cycles allowed
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
