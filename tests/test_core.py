"""The core simulator end to end: the done-criteria of the core issue."""

import json
import subprocess
import sys

import numpy as np
import pytest
from cli_runner import run_process

import simulator
from simulator.core.engine import simulate
from simulator.core.params import with_values


def loss(sc, **over):
    return simulator.run(sc.with_overrides(over), draws=0).summary["gdp_loss_pct"]


def test_no_restriction_is_exactly_zero(default_scenario):
    assert loss(default_scenario, **{"restriction.duration_months": 0}) == 0.0
    assert loss(default_scenario, **{"restriction.severity": 0.0,
                                     "restriction.lead_time_restricted_months": 1.5}) == 0.0


def test_lead_time_stretch_alone_costs_something(default_scenario):
    # the pipeline gap: even at severity 0, stretching 1.5 -> 3.5 months empties lean firms
    assert loss(default_scenario, **{"restriction.severity": 0.0}) > 0.0


def test_monotone_in_duration_and_severity(default_scenario):
    durations = [3, 6, 12, 24]
    severities = [0.0, 0.5, 1.0]
    grid = np.array([(d, s) for d in durations for s in severities], dtype=float)
    tab = with_values(default_scenario, len(grid), {
        "restriction.duration_months": grid[:, 0], "restriction.severity": grid[:, 1]})
    res = simulate(tab).gdp_loss_pct.reshape(len(durations), len(severities))
    assert (np.diff(res, axis=0) >= -1e-12).all()
    assert (np.diff(res, axis=1) >= -1e-12).all()
    assert res[-1, -1] > res[0, 0]


def test_more_stockpile_never_more_loss(default_scenario):
    days = np.array([0, 15, 30, 60, 90, 180, 365], dtype=float)
    tab = with_values(default_scenario, len(days), {"stockpile.national.cover_days": days})
    res = simulate(tab).gdp_loss_pct
    assert (np.diff(res) <= 1e-12).all()
    assert res[-1] < res[0]


def test_default_is_plausible(default_scenario):
    s = simulator.run(default_scenario, draws=0).summary
    assert 0.2 <= s["gdp_loss_pct"] <= 2.0
    # catch-up of deferred orders makes up part, never all, of the gross loss
    assert s["gdp_loss_pct"] < s["gdp_loss_gross_pct"] <= 4.0
    assert s["gdp_loss_jpy_bn"] == pytest.approx(s["gdp_loss_pct"] / 100 * 609_300.0)
    assert s["top_sectors"][0]["code"] == "35"   # transport equipment leads


def test_material_balance_closes(default_scenario):
    r = simulator.run(default_scenario.with_overrides({"restriction.duration_months": 7}), draws=0)
    sp = r.batch.supply
    inflow = sp.arrivals_china_t + sp.arrivals_other_t + sp.arrivals_national_t
    stock = sp.corporate_stock_t + sp.national_stock_t
    opening = sp.opening_corporate_t + sp.opening_national_t
    lhs = opening[:, :, None] + np.cumsum(inflow, axis=2)
    rhs = np.cumsum(sp.use_t, axis=2) + stock
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)
    assert (stock >= -1e-9).all()
    np.testing.assert_allclose(sp.use_t + sp.shortfall_t, sp.demand_t, rtol=1e-10)


def test_pipeline_gap_months(default_scenario):
    # severity 0: no Chinese arrivals between the end of transit (1.5) and 3.5 months.
    r = simulator.run(default_scenario.with_overrides({
        "restriction.severity": 0.0, "restriction.start_month": 1,
        "restriction.transit_months": 0.5, "inventory.cover_scale": 10.0}), draws=0)
    china = r.batch.supply.arrivals_china_t[0]
    assert (china[:, 2] == 0).all()           # month 2 (t = 2..3): the gap
    assert (china[:, 0] > 0).all() and (china[:, 6] > 0).all()


def test_results_tables(default_scenario):
    r = simulator.run(default_scenario, draws=0)
    m = r.monthly
    assert {"month", "date", "kind", "item", "variable", "value"} <= set(m.columns)
    assert set(m["kind"]) == {"material", "economy", "sector"}
    sec = r.sectors
    assert sec["gdp_loss_jpy_bn"].sum() == pytest.approx(r.summary["gdp_loss_jpy_bn"])
    econ = r.economy_monthly
    assert econ["cumulative_gdp_loss_pct"].iloc[-1] == pytest.approx(r.summary["gdp_loss_pct"])
    json.dumps(r.summary, allow_nan=False)


def test_185_sector_table_runs(default_scenario):
    r = simulator.run(default_scenario.with_overrides({"economy.table": "mic2015_185"}), draws=0)
    assert 0.2 <= r.summary["gdp_loss_pct"] <= 4.0
    assert len(r.sectors) == 185


def test_scenario_files_all_load_and_run():
    from pathlib import Path
    for f in sorted(Path(__file__).parent.parent.joinpath("scenarios").glob("*.toml")):
        sc = simulator.load_scenario(f)
        assert simulator.run(sc, keep_sector_paths=False, draws=0).summary["gdp_loss_pct"] >= 0


def test_cli_refuses_negative_duration(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[restriction]\nduration_months = -3\n")
    out = tmp_path / "out"
    p = run_process("run", str(bad), "--out", str(out))
    assert p.returncode == 2
    assert "restriction.duration_months" in p.stderr and str(bad) in p.stderr
    assert "Traceback" not in p.stderr and p.stderr.count("\n") == 1
    assert not out.exists()


def test_cli_run_writes_outputs(tmp_path):
    out = tmp_path / "out"
    p = run_process("run", "--out", str(out), "--set", "restriction.duration_months=6")
    assert p.returncode == 0, p.stderr
    assert "GDP loss" in p.stdout
    assert sorted(x.name for x in out.iterdir()) == ["monthly.csv", "sectors.csv", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["parameters"]["restriction"]["duration_months"] == 6
    p = run_process("run", "--json", "--set", "restriction.duration_months=0")
    assert json.loads(p.stdout)["gdp_loss_pct"] == 0.0


def test_cli_validate_and_schema():
    p = run_process("schema")
    schema = json.loads(p.stdout)
    assert "restriction" in schema["properties"]
    p = run_process("validate", "scenarios/japan-six-months.toml")
    assert p.returncode == 0 and "valid" in p.stdout


def test_cli_needs_neither_click_nor_heavy_imports():
    # `pip install .` alone (no test extras) has no click: typer vendors its own.
    # `resim run` must also not pay for matplotlib or scipy.
    code = (
        "import sys; sys.modules['click'] = None\n"
        "import simulator.cli\n"
        "heavy = [m for m in ('matplotlib', 'scipy', 'click') if sys.modules.get(m) is not None]\n"
        "print(','.join(heavy))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ""


@pytest.mark.parametrize("lead", [0.1, 0.3, 1.5, 2.0, 3.3])
def test_baseline_is_stationary(default_scenario, lead):
    # Without a restriction nothing moves: stocks stay at target, arrivals equal use.
    sc = default_scenario.with_overrides({"restriction.duration_months": 0,
                                          "restriction.lead_time_normal_months": lead,
                                          "restriction.lead_time_restricted_months": lead})
    sp = simulator.run(sc, keep_sector_paths=False, draws=0).batch.supply
    opening = np.broadcast_to(sp.opening_corporate_t[:, :, None], sp.corporate_stock_t.shape)
    np.testing.assert_allclose(sp.corporate_stock_t, opening, rtol=1e-12)
    np.testing.assert_allclose(sp.arrivals_china_t + sp.arrivals_other_t, sp.use_t, rtol=1e-12)
