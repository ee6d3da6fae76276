"""Calibration (brentq / least squares, identification) and one-at-a-time sensitivity."""

import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.analysis.calibrate import (
    CalibrationError,
    FreeParameter,
    Target,
    calibrate,
    parse_free,
    parse_target,
)

ROOT = Path(__file__).parent.parent
DEFAULT = ROOT / "scenarios" / "japan-one-year.toml"
BUNDLED = ROOT / "simulator" / "scenarios" / "japan-one-year.toml"


def _cli(capsys, *args):
    """Run ``resim ARGS`` in-process through main() (what the script runs): (exit code, stdout, stderr)."""
    from simulator.cli import main

    argv = sys.argv
    sys.argv = ["resim", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    return code, out, err


def test_bundled_default_is_identical_to_the_repository_copy():
    assert DEFAULT.read_bytes() == BUNDLED.read_bytes()


def test_a_target_moves_the_result_there():
    """One parameter, one target: brentq finds the criticality scale that gives the target loss."""
    sc = simulator.load_scenario()
    target = Target("gdp_loss_pct", 0.8, {"restriction.duration_months": 12})
    cal = calibrate(sc, [target], {"economy.criticality_scale": (0.2, 3.0)})
    assert cal.method == "brentq" and cal.identified and cal.converged, cal.report()
    fitted = cal.parameters["economy.criticality_scale"]
    assert fitted > sc.economy.criticality_scale                    # the default gives less than 0.8 %
    assert cal.jacobian[0, 0] > 0                                   # more critical lines, more loss
    loss = simulator.run(cal.scenario, keep_sector_paths=False, draws=0).summary["gdp_loss_pct"]
    assert loss == pytest.approx(0.8, rel=1e-4)
    # the calibrated scenario carries the fitted value, not the target's condition
    assert cal.scenario.economy.criticality_scale == fitted
    assert cal.scenario.restriction.duration_months == sc.restriction.duration_months
    # a lower target needs a lower scale
    low = calibrate(sc, [Target("gdp_loss_pct", 0.4)], {"economy.criticality_scale": (0.2, 3.0)})
    assert low.parameters["economy.criticality_scale"] < sc.economy.criticality_scale < fitted


def test_round_trip_two_parameters_from_another_start():
    """Targets generated from known values are fitted back from elsewhere (least squares).

    Losses at two durations identify the level (criticality scale) and the
    national stockpile, whose releases matter more in a short restriction.
    """
    sc = simulator.load_scenario()
    truth = {"economy.criticality_scale": 0.8, "stockpile.national.cover_days": 20.0}
    targets = []
    for months in (6, 18):
        over = {"restriction.duration_months": months}
        value = simulator.run(sc.with_overrides({**truth, **over}), keep_sector_paths=False,
                              draws=0).summary["gdp_loss_pct"]
        targets.append(Target("gdp_loss_pct", value, over))
    free = [FreeParameter("economy.criticality_scale", 0.2, 1.5, start=0.5),
            FreeParameter("stockpile.national.cover_days", 0.0, 90.0, start=60.0)]
    cal = calibrate(sc, targets, free)
    assert cal.method == "least_squares"
    assert cal.identified and cal.rank == 2 and cal.converged, cal.report()
    assert cal.parameters["economy.criticality_scale"] == pytest.approx(0.8, rel=1e-3)
    assert cal.parameters["stockpile.national.cover_days"] == pytest.approx(20.0, abs=0.2)
    assert np.all(np.abs(cal.residuals) < 1e-4 * np.array([t.value for t in targets]))
    # the scenario written from the fit reproduces both targets
    for t in targets:
        got = simulator.run(cal.scenario.with_overrides(dict(t.overrides)), keep_sector_paths=False,
                            draws=0).summary["gdp_loss_pct"]
        assert got == pytest.approx(t.value, rel=1e-4)


def test_more_parameters_than_targets_is_reported_not_identified():
    sc = simulator.load_scenario()
    cal = calibrate(sc, {"gdp_loss_pct": 0.5},
                    {"economy.criticality_scale": (0.2, 1.5), "stockpile.national.cover_days": (0.0, 90.0)})
    assert cal.converged          # a fit exists ...
    assert not cal.identified     # ... but one target cannot pin down two parameters
    assert cal.rank == 1
    assert any("not identified" in n for n in cal.notes)
    assert "NOT identified" in cal.report()


def test_flat_objective_and_unreachable_target_are_errors():
    sc = simulator.load_scenario()
    # The holding cost of the stockpile does not touch the GDP loss: a flat objective.
    with pytest.raises(CalibrationError, match="flat"):
        calibrate(sc, {"gdp_loss_pct": 0.5}, {"stockpile.cost.carrying_rate_per_year": (0.01, 0.2)})
    # Under a full restriction without leakage no covered Chinese order is shipped, so the
    # restricted lead time cannot move the loss either.
    with pytest.raises(CalibrationError, match="flat"):
        calibrate(sc.with_overrides({"softening.leakage_share": 0.0}), {"gdp_loss_pct": 0.5},
                  {"restriction.lead_time_restricted_months": (3.0, 4.5)})
    # (with leakage it does: leaked material travels with the restricted lead time)
    cal = calibrate(sc, {"gdp_loss_pct": 0.7}, {"restriction.lead_time_restricted_months": (3.0, 4.5)})
    assert cal.jacobian[0, 0] > 0
    with pytest.raises(CalibrationError, match="out of reach"):
        calibrate(sc, {"gdp_loss_pct": 50.0}, {"economy.criticality_scale": (0.2, 3.0)})


def test_bad_requests_name_the_key():
    sc = simulator.load_scenario()
    with pytest.raises(CalibrationError, match="economy.table"):
        calibrate(sc, {"gdp_loss_pct": 0.5}, [FreeParameter("economy.table", 0, 1)])
    with pytest.raises(CalibrationError, match="out of range"):
        calibrate(sc, {"gdp_loss_pct": 0.5}, {"economy.criticality_scale": (0.0, 20.0)})
    with pytest.raises(CalibrationError, match="low < high"):
        calibrate(sc, {"gdp_loss_pct": 0.5}, {"economy.criticality_scale": (1.0, 0.5)})
    with pytest.raises(CalibrationError, match="unknown metric"):
        calibrate(sc, {"gdp_loss": 0.5}, {"economy.criticality_scale": (0.2, 3.0)})
    # the removed round-1 key is unknown
    with pytest.raises(CalibrationError, match="economy.dependence_scale"):
        calibrate(sc, {"gdp_loss_pct": 0.5}, {"economy.dependence_scale": (0.05, 2.0)})


def test_parsing_targets_and_free_parameters():
    t = parse_target("gdp_loss_pct=0.43@restriction.duration_months=12@restriction.severity=[1.0, 0.5]")
    assert t == Target("gdp_loss_pct", 0.43, {"restriction.duration_months": 12,
                                              "restriction.severity": [1.0, 0.5]})
    p = parse_free("economy.criticality_scale:0.2:3")
    assert (p.key, p.low, p.high, p.start) == ("economy.criticality_scale", 0.2, 3.0, None)
    # without bounds: the schema's (criticality_scale: 0 to 10)
    assert parse_free("economy.criticality_scale") == FreeParameter("economy.criticality_scale", 0.0, 10.0)
    assert parse_free("inventory.cover_scale:0.5:1.5:0.73") == FreeParameter("inventory.cover_scale", 0.5, 1.5, 0.73)
    for bad in ("gdp_loss_pct", "gdp_loss_pct=abc", "gdp_loss_pct=1@duration"):
        with pytest.raises(CalibrationError):
            parse_target(bad)
    with pytest.raises(CalibrationError):
        parse_free("economy.criticality_scale:0.1")


def test_cli_calibrate_writes_an_inheriting_scenario(tmp_path, capsys):
    out = tmp_path / "cal" / "calibrated.toml"
    code, stdout, stderr = _cli(capsys, "calibrate", str(DEFAULT),
                                "--target", "gdp_loss_pct=0.6@restriction.duration_months=12",
                                "--free", "economy.criticality_scale:0.2:3", "--set", "stockpile.national.cover_days=0",
                                "--out", str(out))
    assert code == 0, stderr
    assert "identified" in stdout
    data = tomllib.loads(out.read_text())
    # only the base, the --set override and the fitted value: the target is not written
    assert set(data) == {"base", "stockpile", "economy"}
    assert data["stockpile"] == {"national": {"cover_days": 0.0}}
    assert set(data["economy"]) == {"criticality_scale"}
    # the default (1) gives more than 0.6 % without a stockpile
    assert 0.2 < data["economy"]["criticality_scale"] < 1.0
    assert (out.parent / data["base"]).resolve() == DEFAULT.resolve()
    assert "# Reproduce: resim calibrate" in out.read_text()
    sc = simulator.load_scenario(out)
    assert simulator.run(sc, keep_sector_paths=False, draws=0).summary["gdp_loss_pct"] == pytest.approx(0.6, rel=1e-4)
    assert [f.name for f in out.parent.iterdir()] == ["calibrated.toml"]   # no temporary left
    # an existing file is not overwritten without --force, and nothing runs
    before = out.read_text()
    code, _, stderr = _cli(capsys, "calibrate", str(DEFAULT), "--target", "gdp_loss_pct=0.3", "--free",
                           "economy.criticality_scale:0.2:3", "--out", str(out))
    assert code == 2 and "--force" in stderr
    assert out.read_text() == before


def test_cli_calibrate_bad_input_exits_2_with_one_line(tmp_path, capsys):
    out = tmp_path / "c.toml"
    for args in (["--target", "gdp_loss_pct=0.4", "--free", "economy.criticality_scal:0:1"],
                 ["--target", "gdp_loss_pct=x", "--free", "economy.criticality_scale:0:1"],
                 ["--target", "gdp_loss_pct=40", "--free", "economy.criticality_scale:0.2:3"],
                 ["--target", "gdp_loss_pct=0.4", "--free", "economy.dependence_scale:0.05:2"],
                 ["--target", "gdp_loss_pct=0.4"]):
        code, _, stderr = _cli(capsys, "calibrate", str(DEFAULT), *args, "--out", str(out))
        assert code == 2, stderr
        assert stderr.count("\n") == 1 and "Traceback" not in stderr
        assert not out.exists()


# --------------------------------------------------------------------------
# Sensitivity
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sens():
    from simulator.analysis.sensitivity import sensitivity

    return sensitivity(simulator.load_scenario())


def test_sensitivity_covers_the_documented_assumptions(sens):
    from simulator.analysis.sensitivity import default_factors

    t = sens.table.set_index("factor")
    sc = simulator.load_scenario()
    names = [f.name for f in default_factors(sc)]
    assert sorted(t.index) == sorted(names) and len(names) == len(set(names))
    for name in ("Corporate stock cover", "Normal lead time", "Restricted lead time", "China share, dytb",
                 "Application criticality", "Market reallocation", "Deferred orders made up", "Restart ramp",
                 "Third-country leakage", "Alternative supply ramp", "Alternative supply capacity",
                 "Substitution potential", "National stockpile", "Critical-input strength"):
        assert name in t.index
    # every factor swings v2 keys (a removed round-1 key would have failed to resolve)
    keys = {k for f in default_factors(sc) for k in f.low}
    assert {"inventory.cover_scale", "economy.criticality_scale", "economy.reallocation",
            "recovery.deferred_scale", "softening.leakage_share"} <= keys
    assert not any("dependence" in k or k == "inventory.cover_months" for k in keys)
    base = simulator.run(sc, keep_sector_paths=False, draws=0).summary["gdp_loss_pct"]
    assert sens.base_value == pytest.approx(base)
    assert (t["gdp_loss_pct_base"] == sens.base_value).all()
    # directions the model must get right
    for name in ("Corporate stock cover", "National stockpile", "Market reallocation", "Deferred orders made up",
                 "Third-country leakage", "Substitution potential", "Alternative supply capacity"):
        assert t.loc[name, "gdp_loss_pct_swing"] < 0, name
    for name in ("Application criticality", "China share, celay", "China share, dytb", "Restart ramp",
                 "Critical-input strength"):
        assert t.loc[name, "gdp_loss_pct_swing"] > 0, name
    # Below a scale of 1 no application's criticality reaches its cap of 1, so the loss is
    # proportional to the scale; above, capped lines stop responding: elasticity just under 1.
    crit = t.loc["Application criticality"]
    assert crit["gdp_loss_pct_at_low"] == pytest.approx(0.6 * base, rel=1e-3)
    assert crit["gdp_loss_pct_at_high"] < 1.4 * base
    assert 0.9 < crit["elasticity"] <= 1.0 + 1e-9
    # sorted by the size of the swing
    swings = sens.table["gdp_loss_pct_swing"].abs().to_numpy()
    assert np.all(np.diff(swings) <= 1e-12)


def test_sensitivity_extra_range_replaces_a_factor(sens):
    from simulator.analysis.sensitivity import parse_range, sensitivity

    sc = simulator.load_scenario()
    extra = parse_range("inventory.cover_scale=0.6:0.9", sc)
    narrow = sensitivity(sc, factors=[], extra=[extra])
    assert list(narrow.table["factor"]) == ["inventory.cover_scale"]
    wide = sens.table.set_index("factor").loc["Corporate stock cover", "gdp_loss_pct_swing"]
    assert 0 < abs(narrow.table["gdp_loss_pct_swing"].iloc[0]) < abs(wide)
    # a range replaces the documented factor of the same key
    merged = sensitivity(sc, extra=[extra]).table.set_index("factor")
    assert "inventory.cover_scale" in merged.index and "Corporate stock cover" not in merged.index
    with pytest.raises(simulator.ScenarioError):
        parse_range("economy.dependence_scale=0.5:1.5", sc)


def test_cli_sensitivity_writes_table_tornado_and_band_drivers(tmp_path, capsys):
    out = tmp_path / "sens"
    code, stdout, stderr = _cli(capsys, "sensitivity", "--out", str(out), "--set", "restriction.duration_months=6",
                                "--draws", "300")
    assert code == 0, stderr
    assert "Corporate stock cover" in stdout and "What drives the 90 % band" in stdout
    assert sorted(f.name for f in out.iterdir()) == ["drivers.csv", "sensitivity.csv", "summary.json", "tornado.png"]
    assert (out / "tornado.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["parameters"]["restriction"]["duration_months"] == 6
    assert summary["factors"][0]["factor"]
    import pandas as pd

    drivers = pd.read_csv(out / "drivers.csv")
    assert "economy.criticality_scale" in set(drivers["parameter"])
    assert ((drivers["first_order"] >= 0) & (drivers["first_order"] <= 1)).all()
    code, _, stderr = _cli(capsys, "sensitivity", "--out", str(out))
    assert code == 2 and "--force" in stderr
