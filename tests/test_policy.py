"""Policy levers: allocation among applications, release strategies, pooling, allied sharing,
stockpile sizing and its band (docs/model.md, "Policy levers"; simulator/analysis/policy.py).

Allocation happens inside the material layer (model v2): the sharing rule itself is
checked by hand in tests/test_model_v2.py::test_allocation_rules_by_hand; here the
rules are run by the engine on the default scenario and on random batches.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_process

import simulator
from simulator.analysis.policy import (
    _days_needed,
    holding_cost,
    optimize_stockpile,
    stockpile_curve,
    stockpile_tonnes,
)
from simulator.core.engine import simulate
from simulator.core.params import with_values
from simulator.errors import ScenarioError

SCENARIOS = Path(__file__).parent.parent / "scenarios"
RULES = ("proportional", "market", "value_added", "priority")
PRIORITY = {"economy.priority_sectors": ["31", "32"]}


def _run(path_or_sc, **over):
    sc = simulator.load_scenario(path_or_sc) if not isinstance(path_or_sc, simulator.Scenario) else path_or_sc
    return simulator.run(sc.with_overrides(over) if over else sc, keep_sector_paths=False, draws=0)


def _rule(sc, rule, **over):
    extra = PRIORITY if rule == "priority" else {}
    return sc.with_overrides({"economy.allocation": rule, **extra, **over})


def _group_shortage(batch):
    """Cumulative shortage share of every firm group, (B, M, K) (NaN in unused slots)."""
    sp = batch.supply
    with np.errstate(invalid="ignore"):
        return sp.group_shortfall_t.sum(axis=-1) / sp.group_demand_t.sum(axis=-1)


# --------------------------------------------------------------------------
# Allocation among applications, as the engine runs it
# --------------------------------------------------------------------------

def test_allocation_moves_material_among_applications_not_in_or_out(default_scenario):
    """On 24 random scenarios every rule leaves each material's totals (use, shortfall,
    national releases and stock) unchanged: it only decides which application gets it.
    Group shortfalls add up to the material's shortfall."""
    rng = np.random.default_rng(5)
    n = 24
    values = {"restriction.duration_months": rng.uniform(2, 18, n),
              "restriction.severity": rng.uniform(0.3, 1, n),
              "inventory.cover_scale": rng.uniform(0.4, 1.5, n),
              "stockpile.national.cover_days": rng.uniform(0, 90, n)}
    batches = {r: simulate(with_values(_rule(default_scenario, r), n, values)) for r in RULES}
    ref = batches["proportional"].supply
    assert ref.shortfall_t.sum() > 0
    for rule, b in batches.items():
        sp = b.supply
        for name in ("use_t", "shortfall_t", "release_t", "national_stock_t", "corporate_stock_t"):
            np.testing.assert_allclose(getattr(sp, name), getattr(ref, name), rtol=1e-9, atol=1e-9,
                                       err_msg=f"{rule}: {name}")
        np.testing.assert_allclose(sp.group_shortfall_t.sum(axis=2), sp.shortfall_t, rtol=1e-9, atol=1e-9)
    # ... but the economy sees different applications short
    loss = {r: b.gdp_loss_pct for r, b in batches.items()}
    assert (np.abs(loss["market"] - loss["proportional"]) > 1e-6).mean() > 0.5


def test_market_with_no_reallocation_is_proportional(default_scenario):
    """rho = 0 shares pro rata: the bid order of the groups then does not matter."""
    prop = _run(_rule(default_scenario, "proportional"))
    market0 = _run(default_scenario, **{"economy.reallocation": 0.0})
    assert market0.summary["gdp_loss_pct"] == pytest.approx(prop.summary["gdp_loss_pct"], rel=1e-9)
    # same applications, listed in another order
    assert not np.array_equal(prop.batch.spec.groups.app, market0.batch.spec.groups.app)
    np.testing.assert_allclose(prop.batch.application_loss_share, market0.batch.application_loss_share,
                               rtol=1e-9, atol=1e-12)


def test_market_triage_serves_the_highest_bidders_first(default_scenario):
    """Full triage (rho = 1) against pro rata: the highest bidder of every material is short
    less, the lowest more; more triage lowers the loss (material goes where it is worth most)."""
    prop = _run(_rule(default_scenario, "proportional")).batch
    full = _run(default_scenario, **{"economy.reallocation": 1.0}).batch
    g = full.spec.groups
    s_prop, s_full = _group_shortage(prop)[0], _group_shortage(full)[0]
    # the same application in both runs
    pos = {(m, a): k for m in range(len(prop.spec.materials)) for k, a in enumerate(prop.spec.groups.app[m])}
    for m in range(len(full.spec.materials)):
        used = np.flatnonzero(g.app[m] >= 0)
        top, bottom = used[0], used[-1]
        assert np.all(np.diff(g.bid[m, used]) <= 0)                         # groups are in bid order
        assert s_full[m, top] < s_prop[m, pos[(m, g.app[m, top])]]
        assert s_full[m, bottom] > s_prop[m, pos[(m, g.app[m, bottom])]]
    losses = [_run(default_scenario, **{"economy.reallocation": r}).summary["gdp_loss_pct"]
              for r in (0.0, 0.5, 1.0)]
    assert losses[0] > losses[1] > losses[2] > 0


def test_value_added_scenario_lowers_the_default_loss(default_scenario):
    """value_added ranks by value added at risk per tonne and fills highest first: on the default
    scenario it beats the market rule, which beats pro-rata sharing (docs/model.md sec. 12.3)."""
    market = _run(default_scenario)
    va = _run(SCENARIOS / "policy-value-added.toml")
    prop = _run(_rule(default_scenario, "proportional"))
    assert va.batch.spec.allocation == "value_added"
    assert va.summary["gdp_loss_pct"] < 0.9 * market.summary["gdp_loss_pct"]
    assert market.summary["gdp_loss_pct"] < 0.9 * prop.summary["gdp_loss_pct"]
    # the material layer is the same; only who gets it differs
    np.testing.assert_allclose(va.batch.supply.shortfall_t, market.batch.supply.shortfall_t,
                               rtol=1e-9, atol=1e-9)


def test_priority_scenario_serves_priority_applications_first(default_scenario):
    pri = _run(SCENARIOS / "policy-priority.toml")
    base = _run(default_scenario)
    g = pri.batch.spec.groups
    assert g.first.any() and not base.batch.spec.groups.first.any()
    s_pri, s_base = _group_shortage(pri.batch)[0], _group_shortage(base.batch)[0]
    pos = {(m, a): k for m in range(len(g.app)) for k, a in enumerate(base.batch.spec.groups.app[m])}
    better = []
    for m in range(len(g.app)):
        n_first = int(g.first[m].sum())
        assert g.first[m, :n_first].all() and not g.first[m, n_first:].any()   # priority groups lead
        for k in range(n_first):
            before = s_base[m, pos[(m, g.app[m, k])]]
            assert s_pri[m, k] <= before + 1e-12
            better.append(s_pri[m, k] < before - 1e-6)
    assert any(better)
    codes = list(pri.batch.spec.sector_codes)
    for code in ("31", "32"):
        i = codes.index(code)
        assert pri.batch.sector_output_loss_jpy_bn[0, i] < base.batch.sector_output_loss_jpy_bn[0, i]


def test_reserve_for_priority_releases_only_to_priority_applications(default_scenario):
    """Releases cover only the reserved groups' shortfall: every other group is short exactly
    as without any release, the reserved ones by exactly what was released less."""
    res = _run(SCENARIOS / "policy-reserve-for-priority.toml").batch
    none = _run(default_scenario, **{"stockpile.national.strategy": "none"}).batch
    shortage = _run(default_scenario).batch
    g = res.spec.groups
    assert g.reserved.any() and not g.reserved.all()
    np.testing.assert_array_equal(g.app, none.spec.groups.app)
    gained = none.supply.group_shortfall_t[0] - res.supply.group_shortfall_t[0]       # (M, K, H)
    np.testing.assert_allclose(gained[~g.reserved], 0.0, atol=1e-9)
    assert (gained[g.reserved] >= -1e-9).all()
    np.testing.assert_allclose(gained.sum(axis=1), res.supply.release_t[0], rtol=1e-9, atol=1e-9)
    released = res.supply.release_t.sum(axis=2)[0]
    assert (released > 0).all()
    assert (released <= shortage.supply.release_t.sum(axis=2)[0] + 1e-9).all()
    assert released.sum() < shortage.supply.release_t.sum() - 1.0
    # what is not released stays in reserve at the end of the restriction
    kept, kept_default = res.supply.national_stock_t[0, :, 12], shortage.supply.national_stock_t[0, :, 12]
    assert (kept >= kept_default - 1e-9).all() and (kept > kept_default + 1.0).any()


def test_pooled_stocks_run_short_no_earlier(default_scenario):
    """Lent stock: without releases, the pool runs short no earlier than the first group alone."""
    for months in (3, 12):
        over = {"stockpile.national.strategy": "none", "restriction.duration_months": months}
        alone = _run(default_scenario, **over).batch.supply
        pooled = _run(default_scenario, **over, **{"inventory.pooled": True}).batch.supply
        assert (pooled.first_shortage_month >= alone.first_shortage_month).all()
        assert (pooled.first_shortage_month > alone.first_shortage_month).any()
        np.testing.assert_allclose(pooled.corporate_stock_t.min(), 0.0, atol=1e-9)


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
                               rtol=1e-10, atol=1e-8)
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
        simulator.run(simulator.load_scenario(f), draws=0)


# --------------------------------------------------------------------------
# Stockpile sizing (simulator/analysis/policy.py)
# --------------------------------------------------------------------------

FAST_RELEASE = {"stockpile.national.max_release_share_per_month": 1.0}


def test_stock_and_holding_cost_by_hand(default_scenario):
    """30.44 days is one month of demand; value = price x tonnes; cost = carrying rate x value."""
    sc = default_scenario
    month = 365.25 / 12
    t = stockpile_tonnes(sc, [month, 2 * month], ["dytb"])
    np.testing.assert_allclose(t["dytb"], [30.0, 60.0])
    cost = holding_cost(sc, np.array([month]), ["ndfeb", "dytb"])
    value = (420 * sc.materials["ndfeb"].price_jpy_per_kg + 30 * sc.materials["dytb"].price_jpy_per_kg) * 1000 / 1e9
    assert cost["stockpile_t"][0] == pytest.approx(450.0)
    assert cost["stock_value_jpy_bn"][0] == pytest.approx(value)
    assert cost["holding_cost_jpy_bn_per_year"][0] == pytest.approx(value * sc.stockpile.cost.carrying_rate_per_year)


def test_days_needed_interpolates_each_draw():
    days = np.array([0.0, 10.0, 20.0])
    loss = np.array([[1.0, 0.5, 0.1],     # crosses 0.3 halfway between 10 and 20
                     [0.2, 0.1, 0.0],     # no stock needed
                     [1.0, 0.9, 0.8],     # never reaches the cap
                     [1.0, 0.3, 0.2]])    # exactly at a grid point
    np.testing.assert_allclose(_days_needed(days, loss, 0.3), [15.0, 0.0, np.inf, 10.0])


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


def test_stockpile_curve_band_is_ordered_and_monotone(default_scenario):
    """Every posterior draw's curve falls with more stock, so its 5 and 95 % curves do too."""
    sc = default_scenario.with_overrides(FAST_RELEASE)
    curve = stockpile_curve(sc, over={"restriction.duration_months": [6]}, days=np.linspace(0, 300, 13),
                            draws=40, seed=1)
    lo, hi = curve["gdp_loss_pct_p05"].to_numpy(), curve["gdp_loss_pct_p95"].to_numpy()
    assert (lo <= hi).all() and (hi - lo).max() > 0
    assert (np.diff(lo) <= 1e-12).all() and (np.diff(hi) <= 1e-12).all()
    assert hi[-1] < hi[0]
    plain = stockpile_curve(sc, over={}, days=[0.0, 30.0])
    assert "gdp_loss_pct_p05" not in plain.columns                    # draws=0: no band


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
    assert "stockpile_days_p05" not in ans.columns                     # draws=0 by default
    for _, row in ans.iterrows():
        def run(days, months=row["restriction.duration_months"]):
            return _run(sc, **{"restriction.duration_months": months,
                               "stockpile.national.cover_days": days}).summary["gdp_loss_pct"]
        assert run(row["stockpile_days"]) <= cap
        assert run(row["stockpile_days"] - 0.5) > cap
        assert row["gdp_loss_pct"] == pytest.approx(run(row["stockpile_days"]))
    # a longer restriction needs more stock
    assert ans["stockpile_days"].is_monotonic_increasing


def test_optimize_band_brackets_each_draws_answer(default_scenario):
    """With draws, each posterior draw gets its own answer; the band is their 5-50-95 %."""
    sc = default_scenario.with_overrides(FAST_RELEASE)
    over = {"restriction.duration_months": [6]}
    cap = _cap_between(sc, over)
    ans, curve = optimize_stockpile(sc, max_gdp_loss_pct=cap, over=over, draws=40, seed=2, return_curve=True)
    row = ans.iloc[0]
    assert row["stockpile_days_p05"] <= row["stockpile_days_p50"] <= row["stockpile_days_p95"]
    assert row["stockpile_days_p05"] < row["stockpile_days_p95"]          # the evidence leaves the answer open
    assert 0.0 <= row["share_of_draws_unreachable"] <= 1.0
    assert (curve["gdp_loss_pct_p05"] <= curve["gdp_loss_pct_p95"]).all()
    # same seed, same band
    again = optimize_stockpile(sc, max_gdp_loss_pct=cap, over=over, draws=40, seed=2).iloc[0]
    assert again["stockpile_days_p95"] == row["stockpile_days_p95"]


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


def test_cli_optimize_writes_table_and_charts(tmp_path):
    out = tmp_path / "opt"
    p = run_process("optimize", "--durations", "3,6", "--max-loss-pct", "0.2", "--out", str(out), "--draws", "20",
             "--set", "stockpile.national.max_release_share_per_month=1.0")
    assert p.returncode == 0, p.stderr
    assert "restriction 3 months" in p.stdout and "restriction 6 months" in p.stdout
    assert sorted(f.name for f in out.iterdir()) == [
        "cost_benefit.png", "required_stockpile.csv", "stockpile_curve.csv", "stockpile_curve.png", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["required_stockpile"]
    assert [r["restriction.duration_months"] for r in rows] == [3.0, 6.0]
    assert all(r["stockpile_days_p05"] <= r["stockpile_days_p95"] for r in rows)
    assert "provenance" in summary


def test_cli_optimize_bad_input_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "opt"
    for args in (["--durations", "3,x"], ["--materials", "nope"], ["--max-loss-pct", "0"]):
        p = run_process("optimize", *args, "--out", str(out))
        assert p.returncode == 2, args
        assert p.stderr.startswith("resim: error:") and p.stderr.count("\n") == 1
        assert "Traceback" not in p.stderr
        assert not out.exists()
