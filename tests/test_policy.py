"""Policy levers: allocation rules, release strategies, allied sharing, stockpile sizing."""

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator
from simulator.model import allocation
from simulator.model import economy
from simulator.errors import ScenarioError
from simulator.analysis.policy import optimize_stockpile, stockpile_curve

SCENARIOS = Path(__file__).parent.parent / "scenarios"


# --------------------------------------------------------------------------
# A small hand-built economy
# --------------------------------------------------------------------------

def _table():
    """5 sectors: 0 -> 1 -> 2 critical supply chain, 3 a separate user, 4 services."""
    Z = np.array([
        [0.0, 30.0, 0.0, 5.0, 0.0],
        [0.0, 0.0, 40.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 10.0, 0.0, 0.0],
        [10.0, 10.0, 20.0, 10.0, 5.0],
    ])
    x = np.array([100.0, 120.0, 200.0, 80.0, 150.0])
    return SimpleNamespace(
        n=5, codes=("a", "b", "c", "d", "s"), Z_jpy_mn=Z, output_jpy_mn=x,
        value_added_gdp_jpy_mn=x - Z.sum(axis=0), import_share=np.array([0.1, 0.2, 0.0, 0.3, 0.0]),
        manufacturing=np.array([True, True, True, True, False]),
    )


DEP = np.array([      # sector x material dependence
    [0.6, 0.0],
    [0.3, 0.5],
    [0.0, 0.2],
    [0.8, 0.4],
    [0.0, 0.0],
])


@pytest.fixture(scope="module")
def small():
    return economy.build_structure(_table(), DEP, gdp_jpy_bn=1.0, criticality=0.7, min_share=0.05)


def _gdp_loss(delta, est):
    return economy.output_loss(delta, est) @ (est.va_ratio * est.output_jpy_bn_per_month)


def _losses(shortage, est):
    dep = np.broadcast_to(est.dependence, (len(shortage),) + est.dependence.shape)
    prop = economy.direct_loss_proportional(shortage, dep)
    va = allocation.direct_loss_policy("value_added", shortage, dep, est, [])
    return _gdp_loss(prop, est), _gdp_loss(va, est)


def test_small_economy_has_propagation(small):
    # the test economy exercises both channels, so the LP's IO constraints matter
    assert len(small.links[0]) >= 2
    assert len(small.others) >= 1


def test_value_added_by_hand():
    # Two unlinked sectors, each half the demand and fully dependent; half the material
    # is there. Proportional: both lose 50 %. Value added: the sector with more value
    # added gets all it needs, the other gets nothing.
    x = np.array([100.0, 100.0])
    t = SimpleNamespace(n=2, codes=("hi", "lo"), Z_jpy_mn=np.zeros((2, 2)), output_jpy_mn=x,
                        value_added_gdp_jpy_mn=np.array([80.0, 20.0]), import_share=np.zeros(2),
                        manufacturing=np.ones(2, bool))
    est = economy.build_structure(t, np.ones((2, 1)), gdp_jpy_bn=1.0, criticality=0.5, min_share=0.05)
    prop, va = _losses(np.array([[0.5]]), est)
    c = est.va_ratio * est.output_jpy_bn_per_month
    assert prop[0] == pytest.approx(0.5 * c.sum())
    assert va[0] == pytest.approx(c[1])          # only the low-value sector stops
    fill = allocation.value_added_fill(np.array([[0.5]]), est.dependence, est)
    np.testing.assert_allclose(fill[0, :, 0], [1.0, 0.0], atol=1e-9)


def test_value_added_beats_proportional_on_a_grid(small):
    rng = np.random.default_rng(7)
    shortage = rng.uniform(0, 1, (200, 2)) * (rng.uniform(0, 1, (200, 2)) < 0.8)
    prop, va = _losses(shortage, small)
    assert (va <= prop + 1e-9 * prop.max()).all()
    assert (va < prop - 1e-6 * prop.max()).mean() > 0.5     # and usually strictly better


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2),
       st.floats(0.2, 3.0), st.floats(0.2, 3.0))
def test_value_added_never_worse_property(s, scale0, scale1):
    est = economy.build_structure(_table(), DEP, gdp_jpy_bn=1.0, criticality=0.7, min_share=0.05)
    shortage = np.array([s])
    dep = np.minimum(1.0, est.dependence * np.array([scale0, scale1]))[None]
    prop = _gdp_loss(economy.direct_loss_proportional(shortage, dep), est)
    va = _gdp_loss(allocation.direct_loss_policy("value_added", shortage, dep, est, []), est)
    assert va[0] <= prop[0] + 1e-9


def test_lp_uses_no_more_than_available_and_matches_true_loss(small):
    rng = np.random.default_rng(3)
    avail = rng.uniform(0, 1, (50, 2))
    fill = allocation.value_added_fill(avail, small.dependence, small)
    used = (small.use_share[None] * fill).sum(axis=1)
    assert (used <= avail + 1e-7).all()
    assert ((fill >= -1e-12) & (fill <= 1 + 1e-12)).all()
    # The LP's optimum is the true (max-linear) loss of its allocation: recompute it
    # from scratch and compare with the LP's objective by solving a row alone.
    delta = np.minimum(1.0, (small.dependence[None] * (1 - fill)).max(axis=-1))
    true = _gdp_loss(delta, small)
    tpl = allocation._template(small)
    d = small.dependence[tpl.pair_sector, tpl.pair_material]
    from scipy.optimize import linprog
    obj, A, b, nv = allocation._block_lp(tpl, d[None], avail[:1], None, None)
    res = linprog(obj, A_ub=A, b_ub=b, bounds=(0, 1), method="highs")
    c_all = small.va_ratio * small.output_jpy_bn_per_month
    total = (c_all[small.candidates] + small.G.T @ c_all[small.others]).sum()
    assert res.fun * total == pytest.approx(true[0], rel=1e-7, abs=1e-12)


def test_cache_returns_the_same_answer(small):
    rng = np.random.default_rng(4)
    avail = rng.uniform(0, 1, (20, 2))
    allocation.clear_cache()
    cold = allocation.value_added_fill(avail, small.dependence, small)
    warm = allocation.value_added_fill(np.r_[avail, avail[::-1]], small.dependence, small)
    np.testing.assert_array_equal(warm[:20], cold)
    np.testing.assert_array_equal(warm[20:], cold[::-1])


def test_earmark_limits_other_sectors(small):
    avail = np.array([[0.6, 0.5]])
    earmark = np.array([[0.2, 0.1]])
    is_p = np.zeros(5, bool)
    is_p[[3]] = True
    for fill in (allocation.value_added_fill(avail, small.dependence, small, avail - earmark, is_p),
                 allocation.earmarked_proportional_fill(avail, earmark, small.use_share, is_p)):
        other = (small.use_share[~is_p][None] * fill[:, ~is_p]).sum(axis=1)
        total = (small.use_share[None] * fill).sum(axis=1)
        assert (other <= avail - earmark + 1e-7).all()
        assert (total <= avail + 1e-7).all()
    # proportional: the others get the general pool, priority sector 3 gets a top-up
    fill = allocation.earmarked_proportional_fill(avail, earmark, small.use_share, is_p)
    np.testing.assert_allclose(fill[0, 0, 0], 0.4)
    p = small.use_share[3]
    np.testing.assert_allclose(fill[0, 3], np.minimum(1, avail[0] - earmark[0] + earmark[0] / p))


# --------------------------------------------------------------------------
# The engine and the scenario files
# --------------------------------------------------------------------------

def _run(path_or_sc, **over):
    sc = simulator.load_scenario(path_or_sc) if not isinstance(path_or_sc, simulator.Scenario) else path_or_sc
    return simulator.run(sc.with_overrides(over) if over else sc, keep_sector_paths=False)


def test_default_scenario_value_added_month_by_month(default_scenario):
    prop = _run(default_scenario).batch
    va = _run(SCENARIOS / "policy-value-added.toml").batch
    # allocation does not change the material layer
    np.testing.assert_array_equal(prop.supply.shortfall_t, va.supply.shortfall_t)
    assert (va.gdp_loss_jpy_bn <= prop.gdp_loss_jpy_bn + 1e-9).all()
    assert va.gdp_loss_pct[0] < 0.95 * prop.gdp_loss_pct[0]


def test_priority_scenario_serves_priority_first(default_scenario):
    pri = _run(SCENARIOS / "policy-priority.toml")
    base = _run(default_scenario)
    codes = list(pri.batch.spec.sector_codes)
    for code in ("31", "32"):
        i = codes.index(code)
        assert pri.batch.sector_output_loss_jpy_bn[0, i] < base.batch.sector_output_loss_jpy_bn[0, i]


def test_reserve_for_priority_releases_only_the_priority_share(default_scenario):
    res = _run(SCENARIOS / "policy-reserve-for-priority.toml")
    base = _run(default_scenario)
    sp, sb = res.batch.supply, base.batch.supply
    p = allocation.priority_share(res.batch.spec.economy.use_share, np.array(res.batch.spec.priority))
    assert ((p > 0) & (p < 1)).all()
    released = sp.release_t.sum(axis=2)[0]
    assert (released > 0).all()
    assert (released < sb.release_t.sum(axis=2)[0]).all()
    # never more than the priority share of the shortfall it covers, month by month
    before = sp.shortfall_t + sp.release_t
    assert (sp.release_t <= p[None, :, None] * before + 1e-9).all()
    # unreleased stock stays in reserve
    assert (sp.national_stock_t[0, :, 12] > 0).all()


def test_reserve_earmark_protects_priority_sectors():
    sc = simulator.load_scenario(SCENARIOS / "policy-reserve-for-priority.toml")
    earmarked = _run(sc).batch
    # the same releases without earmarking: proportional sharing of the same material
    from simulator.core.engine import direct_loss
    from simulator.core.spec import batch_spec
    st = batch_spec(sc)
    sh = np.clip(earmarked.supply.shortage_share, 0, 1).transpose(0, 2, 1)[0]
    e = (earmarked.supply.release_t / earmarked.supply.demand_t).transpose(0, 2, 1)[0]
    rows = sh.max(axis=1) > 0
    dep = np.broadcast_to(st.economy.dependence, (rows.sum(),) + st.economy.dependence.shape)
    with_e = direct_loss(sh[rows], dep, st, e[rows])
    without = economy.direct_loss_proportional(sh[rows], dep)
    codes = list(st.sector_codes)
    for code in ("31", "32"):
        i = codes.index(code)
        assert (with_e[:, i] <= without[:, i] + 1e-12).all()
        assert (with_e[:, i] < without[:, i] - 1e-6).any()


def test_allies_supply_within_pledge_cap_and_window(default_scenario):
    sc = simulator.load_scenario(SCENARIOS / "policy-allies.toml")
    r = _run(sc)
    sp = r.batch.supply
    D0 = np.array([m.demand_t_per_month for m in sc.materials.values()])
    days = np.array([sc.allies.stock_days if m.allied_stock_days is None else m.allied_stock_days
                     for m in sc.materials.values()])
    shipped = sp.allied_shipped_t[0]
    assert (shipped.sum(axis=1) <= days / (365.25 / 12) * D0 + 1e-9).all()
    assert (shipped.sum(axis=1) > 0).all()
    assert (shipped <= sc.allies.max_share_per_month * D0[:, None] + 1e-9).all()
    start = sc.restriction.start_month + sc.allies.delay_months
    assert shipped[:, : int(start)].sum() == 0.0
    assert shipped[:, int(np.ceil(sc.restriction.start_month + sc.restriction.duration_months)):].sum() == 0.0
    # material balance still closes with the extra source
    inflow = sp.arrivals_china_t + sp.arrivals_other_t + sp.arrivals_national_t
    opening = sp.opening_corporate_t + sp.opening_national_t
    np.testing.assert_allclose(opening[:, :, None] + np.cumsum(inflow, axis=2),
                               np.cumsum(sp.use_t, axis=2) + sp.corporate_stock_t + sp.national_stock_t,
                               rtol=1e-10)
    assert r.summary["gdp_loss_pct"] < _run(default_scenario).summary["gdp_loss_pct"]


def test_all_policy_scenarios_run():
    files = sorted(SCENARIOS.glob("policy-*.toml"))
    assert len(files) >= 5
    rules = set()
    for f in files:
        sc = simulator.load_scenario(f)
        rules |= {sc.economy.allocation, sc.stockpile.national.strategy}
        assert 0 < _run(sc).summary["gdp_loss_pct"] < 5
    assert {"value_added", "priority", "reserve_for_priority", "immediate"} <= rules


def test_reserve_needs_priority_sectors(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[stockpile.national]\nstrategy = "reserve_for_priority"\n')
    with pytest.raises(ScenarioError) as exc:
        simulator.load_scenario(f)
    assert exc.value.key == "stockpile.national.strategy" and str(f) in exc.value.one_line()
    f.write_text('[stockpile.national]\nstrategy = "reserve_for_priority"\n[economy]\npriority_sectors = ["99"]\n')
    with pytest.raises(ScenarioError, match="unknown sector codes"):
        simulator.run(simulator.load_scenario(f))


# --------------------------------------------------------------------------
# Stockpile sizing
# --------------------------------------------------------------------------

FAST_RELEASE = {"stockpile.national.max_release_share_per_month": 1.0}


def test_stockpile_curve_is_monotone(default_scenario):
    curve = stockpile_curve(default_scenario, over={"restriction.duration_months": [3, 12],
                                                    "stockpile.national.max_release_share_per_month": [0.5, 1.0],
                                                    "stockpile.national.strategy": ["on_shortage", "immediate"]},
                            days=np.linspace(0, 400, 41))
    assert curve["case"].nunique() == 8
    for case, g in curve.groupby("case"):
        loss = g["gdp_loss_pct"].to_numpy()
        assert (np.diff(loss) <= 1e-12).all(), case
        assert loss[-1] < loss[0], case
        assert (np.diff(g["holding_cost_jpy_bn_per_year"].to_numpy()) > 0).all()


def _cap_between(sc, over, materials=None):
    """A cap every case can meet with some stock but not without (calibration-proof)."""
    ends = stockpile_curve(sc, over=over, materials=materials, days=[0.0, 730.0])
    without = ends[ends["stockpile_days"] == 0]["gdp_loss_pct"].min()
    floor = ends[ends["stockpile_days"] == 730]["gdp_loss_pct"].max()
    assert floor < without
    return 0.5 * (without + floor)


def test_optimize_answer_keeps_the_cap_and_is_minimal(default_scenario):
    sc = default_scenario.with_overrides(FAST_RELEASE)
    over = {"restriction.duration_months": [3, 12]}
    cap = _cap_between(sc, over)
    ans = simulator.optimize_stockpile(sc, max_gdp_loss_pct=cap, over=over)
    assert list(ans["status"]) == ["ok", "ok"]
    for _, row in ans.iterrows():
        def run(days):
            return _run(sc, **{"restriction.duration_months": row["restriction.duration_months"],
                               "stockpile.national.cover_days": days}).summary["gdp_loss_pct"]
        assert run(row["stockpile_days"]) <= cap
        assert run(row["stockpile_days"] - 0.5) > cap
        assert row["gdp_loss_pct"] == pytest.approx(run(row["stockpile_days"]))
    # a longer restriction needs more stock
    assert ans["stockpile_days"].is_monotonic_increasing


def test_optimize_edge_cases(default_scenario):
    over = {"restriction.duration_months": [12]}
    floor = stockpile_curve(default_scenario, over=over, days=[730.0])["gdp_loss_pct"].iloc[0]
    ans = optimize_stockpile(default_scenario, max_gdp_loss_pct=0.9 * floor, over=over)
    row = ans.iloc[0]
    assert row["status"] == "cap not reachable" and np.isnan(row["stockpile_days"])
    assert row["gdp_loss_pct_floor"] == pytest.approx(floor)
    ans = optimize_stockpile(default_scenario, max_gdp_loss_pct=5.0, over={})
    assert ans.iloc[0]["status"] == "no stockpile needed" and ans.iloc[0]["stockpile_days"] == 0.0
    with pytest.raises(ScenarioError, match="unknown material"):
        optimize_stockpile(default_scenario, materials=["nope"])
    with pytest.raises(ScenarioError):
        optimize_stockpile(default_scenario, max_gdp_loss_pct=-1)
    with pytest.raises(ScenarioError):
        optimize_stockpile(default_scenario, over={"stockpile.national.cover_days": [1, 2]})


def test_optimize_one_material_and_cost(default_scenario):
    sc = default_scenario.with_overrides(FAST_RELEASE)
    over = {"restriction.duration_months": [6]}
    cap = _cap_between(sc, over, ["dytb"])
    ans = optimize_stockpile(sc, max_gdp_loss_pct=cap, over=over, materials=["dytb"])
    row = ans.iloc[0]
    assert row["materials"] == "dytb" and "ndfeb_t" not in ans.columns
    assert row["status"] == "ok" and row["gdp_loss_pct"] <= cap
    t = row["stockpile_days"] / (365.25 / 12) * sc.materials["dytb"].demand_t_per_month
    assert row["dytb_t"] == pytest.approx(t)
    value = t * 1000 * sc.materials["dytb"].price_jpy_per_kg / 1e9
    assert row["holding_cost_jpy_bn_per_year"] == pytest.approx(value * sc.stockpile.cost.carrying_rate_per_year)
    assert row["breakeven_probability_per_year"] == pytest.approx(
        row["holding_cost_jpy_bn_per_year"] / row["gdp_loss_avoided_jpy_bn"])


def _cli(*args):
    # as the `resim` entry point does (`python -m simulator.cli` would register the
    # sub-commands on a second copy of the app)
    code = "import sys; from simulator.cli import main; sys.argv[0] = 'resim'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_cli_optimize_writes_table_and_charts(tmp_path):
    out = tmp_path / "opt"
    p = _cli("optimize", "--durations", "3,6", "--max-loss-pct", "0.2", "--out", str(out),
             "--set", "stockpile.national.max_release_share_per_month=1.0")
    assert p.returncode == 0, p.stderr
    assert "restriction 3 months" in p.stdout and "restriction 6 months" in p.stdout
    assert sorted(f.name for f in out.iterdir()) == [
        "cost_benefit.png", "required_stockpile.csv", "stockpile_curve.csv", "stockpile_curve.png", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert [r["restriction.duration_months"] for r in summary["required_stockpile"]] == [3.0, 6.0]
    assert "provenance" in summary


def test_cli_optimize_bad_input_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "opt"
    for args in (["--durations", "3,x"], ["--materials", "nope"], ["--max-loss-pct", "0"]):
        p = _cli("optimize", *args, "--out", str(out))
        assert p.returncode == 2, args
        assert p.stderr.startswith("resim: error:") and p.stderr.count("\n") == 1
        assert "Traceback" not in p.stderr
        assert not out.exists()
