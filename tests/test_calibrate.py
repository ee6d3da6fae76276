"""Calibration (brentq / least squares, identification) and one-at-a-time sensitivity."""

import json
import shlex
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.analysis.calibrate import (
    CalibrationError, FreeParameter, Target, calibrate, parse_free, parse_target,
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


def _shipped_command() -> list[str]:
    """The reproduce command written in the default scenario's comment."""
    lines = DEFAULT.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip("# ").startswith("resim calibrate"))
    text = ""
    for line in lines[start:]:
        text += " " + line.lstrip("#").strip().rstrip("\\")
        if not line.rstrip().endswith("\\"):
            break
    return shlex.split(text)


def _options(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == name]


def test_bundled_default_is_identical_to_the_repository_copy():
    assert DEFAULT.read_bytes() == BUNDLED.read_bytes()


def test_shipped_value_is_reproduced_by_the_documented_command():
    argv = _shipped_command()
    assert argv[:3] == ["resim", "calibrate", "scenarios/japan-one-year.toml"]
    targets = [parse_target(t) for t in _options(argv, "--target")]
    free = [parse_free(f) for f in _options(argv, "--free")]
    assert [t.metric for t in targets] == ["gdp_loss_pct"] and targets[0].value == 0.43
    sc = simulator.load_scenario(DEFAULT)
    cal = calibrate(sc, targets, free)
    assert cal.method == "brentq" and cal.identified and cal.converged
    shipped = sc.get(free[0].key)
    # the file holds the fit to 6 significant digits
    assert cal.parameters[free[0].key] == pytest.approx(shipped, rel=2e-5)
    # ... and `resim run` (the bundled default) reports NRI's number because of it
    loss = simulator.run(simulator.load_scenario(), keep_sector_paths=False).summary["gdp_loss_pct"]
    assert loss == pytest.approx(0.43, abs=0.01)
    assert loss == pytest.approx(0.43, abs=1e-4)


def test_a_different_target_moves_the_result_there():
    sc = simulator.load_scenario()
    target = Target("gdp_loss_pct", 0.8, {"restriction.duration_months": 12})
    cal = calibrate(sc, [target], {"economy.dependence_scale": (0.05, 2.0)})
    assert cal.identified
    fitted = cal.parameters["economy.dependence_scale"]
    assert fitted > sc.economy.dependence_scale * 1.5
    loss = simulator.run(cal.scenario, keep_sector_paths=False).summary["gdp_loss_pct"]
    assert loss == pytest.approx(0.8, rel=1e-4)
    # the calibrated scenario carries the fitted value, not the target
    assert cal.scenario.economy.dependence_scale == fitted
    assert cal.scenario.restriction.duration_months == sc.restriction.duration_months


def test_round_trip_two_parameters_from_another_start():
    """Targets generated from known values are fitted back from elsewhere (least squares).

    Losses at two durations identify the level (dependence scale) and the
    stockpile, which saves the same amount at any duration that outlasts it.
    """
    sc = simulator.load_scenario()
    truth = {"economy.dependence_scale": 0.45, "stockpile.national.cover_days": 20.0}
    targets = []
    for months in (6, 18):
        over = {"restriction.duration_months": months}
        value = simulator.run(sc.with_overrides({**truth, **over}), keep_sector_paths=False).summary["gdp_loss_pct"]
        targets.append(Target("gdp_loss_pct", value, over))
    free = [FreeParameter("economy.dependence_scale", 0.05, 2.0, start=0.9),
            FreeParameter("stockpile.national.cover_days", 0.0, 90.0, start=60.0)]
    cal = calibrate(sc, targets, free)
    assert cal.method == "least_squares"
    assert cal.identified and cal.rank == 2 and cal.converged, cal.report()
    assert cal.parameters["economy.dependence_scale"] == pytest.approx(0.45, rel=1e-3)
    assert cal.parameters["stockpile.national.cover_days"] == pytest.approx(20.0, abs=0.2)
    assert np.all(np.abs(cal.residuals) < 1e-4 * np.array([t.value for t in targets]))


def test_more_parameters_than_targets_is_reported_not_identified():
    sc = simulator.load_scenario()
    cal = calibrate(sc, {"gdp_loss_pct": 0.5},
                    {"economy.dependence_scale": (0.05, 2.0), "stockpile.national.cover_days": (0.0, 90.0)})
    assert cal.converged          # a fit exists ...
    assert not cal.identified     # ... but one target cannot pin down two parameters
    assert cal.rank == 1
    assert any("not identified" in n for n in cal.notes)
    assert "NOT identified" in cal.report()


def test_flat_objective_and_unreachable_target_are_errors():
    sc = simulator.load_scenario()
    # Under a full restriction nothing arrives from China, so the restricted lead time
    # cannot move the loss: a flat objective, reported as such.
    with pytest.raises(CalibrationError, match="flat"):
        calibrate(sc, {"gdp_loss_pct": 0.5}, {"restriction.lead_time_restricted_months": (3.0, 4.5)})
    with pytest.raises(CalibrationError, match="out of reach"):
        calibrate(sc, {"gdp_loss_pct": 50.0}, {"economy.dependence_scale": (0.05, 2.0)})


def test_bad_requests_name_the_key():
    sc = simulator.load_scenario()
    with pytest.raises(CalibrationError, match="economy.table"):
        calibrate(sc, {"gdp_loss_pct": 0.5}, [FreeParameter("economy.table", 0, 1)])
    with pytest.raises(CalibrationError, match="out of range"):
        calibrate(sc, {"gdp_loss_pct": 0.5}, {"economy.dependence_scale": (0.0, 20.0)})
    with pytest.raises(CalibrationError, match="low < high"):
        calibrate(sc, {"gdp_loss_pct": 0.5}, {"economy.dependence_scale": (1.0, 0.5)})
    with pytest.raises(CalibrationError, match="unknown metric"):
        calibrate(sc, {"gdp_loss": 0.5}, {"economy.dependence_scale": (0.05, 2.0)})


def test_parsing_targets_and_free_parameters():
    t = parse_target("gdp_loss_pct=0.43@restriction.duration_months=12@restriction.severity=[1.0, 0.5]")
    assert t == Target("gdp_loss_pct", 0.43, {"restriction.duration_months": 12,
                                              "restriction.severity": [1.0, 0.5]})
    p = parse_free("economy.dependence_scale:0.05:2")
    assert (p.key, p.low, p.high, p.start) == ("economy.dependence_scale", 0.05, 2.0, None)
    assert parse_free("economy.dependence_scale") == FreeParameter("economy.dependence_scale", 0.0, 10.0)
    for bad in ("gdp_loss_pct", "gdp_loss_pct=abc", "gdp_loss_pct=1@duration"):
        with pytest.raises(CalibrationError):
            parse_target(bad)
    with pytest.raises(CalibrationError):
        parse_free("economy.dependence_scale:0.1")


def test_cli_calibrate_writes_an_inheriting_scenario(tmp_path, capsys):
    out = tmp_path / "cal" / "calibrated.toml"
    code, stdout, stderr = _cli(capsys, "calibrate", str(DEFAULT), "--target", "gdp_loss_pct=0.6@restriction.duration_months=12",
             "--free", "economy.dependence_scale:0.05:2", "--set", "stockpile.national.cover_days=0",
             "--out", str(out))
    assert code == 0, stderr
    assert "identified" in stdout
    data = tomllib.loads(out.read_text())
    # only the base, the --set override and the fitted value: the target is not written
    assert set(data) == {"base", "stockpile", "economy"}
    assert data["stockpile"] == {"national": {"cover_days": 0.0}}
    assert set(data["economy"]) == {"dependence_scale"}
    assert (out.parent / data["base"]).resolve() == DEFAULT.resolve()
    assert "# Reproduce: resim calibrate" in out.read_text()
    sc = simulator.load_scenario(out)
    assert simulator.run(sc, keep_sector_paths=False).summary["gdp_loss_pct"] == pytest.approx(0.6, rel=1e-4)
    assert [f.name for f in out.parent.iterdir()] == ["calibrated.toml"]   # no temporary left
    # an existing file is not overwritten without --force, and nothing runs
    before = out.read_text()
    code, _, stderr = _cli(capsys, "calibrate", str(DEFAULT), "--target", "gdp_loss_pct=0.3", "--free",
                           "economy.dependence_scale:0.05:2", "--out", str(out))
    assert code == 2 and "--force" in stderr
    assert out.read_text() == before


def test_cli_calibrate_bad_input_exits_2_with_one_line(tmp_path, capsys):
    out = tmp_path / "c.toml"
    for args in (["--target", "gdp_loss_pct=0.4", "--free", "economy.dependence_scal:0:1"],
                 ["--target", "gdp_loss_pct=x", "--free", "economy.dependence_scale:0:1"],
                 ["--target", "gdp_loss_pct=40", "--free", "economy.dependence_scale:0.05:2"]):
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
    t = sens.table.set_index("factor")
    for name in ("Corporate stock cover", "Normal lead time", "Restricted lead time", "China share, dytb",
                 "Dependence table", "Alternative supply ramp", "Alternative supply capacity",
                 "Substitution potential", "National stockpile"):
        assert name in t.index
    base = simulator.run(simulator.load_scenario(), keep_sector_paths=False).summary["gdp_loss_pct"]
    assert sens.base_value == pytest.approx(base)
    assert (t["gdp_loss_pct_base"] == sens.base_value).all()
    # directions the model must get right
    assert t.loc["Corporate stock cover", "gdp_loss_pct_swing"] < 0
    assert t.loc["National stockpile", "gdp_loss_pct_swing"] < 0
    assert t.loc["Dependence table", "gdp_loss_pct_swing"] > 0
    assert t.loc["China share, celay", "gdp_loss_pct_swing"] > 0
    # the loss is proportional to the dependence scale (no share reaches the cap of 1)
    assert t.loc["Dependence table", "elasticity"] == pytest.approx(1.0, abs=1e-6)
    # sorted by the size of the swing
    swings = sens.table["gdp_loss_pct_swing"].abs().to_numpy()
    assert np.all(np.diff(swings) <= 1e-12)


def test_sensitivity_extra_range_replaces_a_factor(sens):
    from simulator.analysis.sensitivity import parse_range, sensitivity

    sc = simulator.load_scenario()
    extra = parse_range("inventory.cover_scale=0.8:1.2", sc)
    narrow = sensitivity(sc, factors=[], extra=[extra])
    assert list(narrow.table["factor"]) == ["inventory.cover_scale"]
    wide = sens.table.set_index("factor").loc["Corporate stock cover", "gdp_loss_pct_swing"]
    assert abs(narrow.table["gdp_loss_pct_swing"].iloc[0]) < abs(wide)


def test_cli_sensitivity_writes_table_and_tornado(tmp_path, capsys):
    out = tmp_path / "sens"
    code, stdout, stderr = _cli(capsys, "sensitivity", "--out", str(out), "--set", "restriction.duration_months=6")
    assert code == 0, stderr
    assert "Corporate stock cover" in stdout
    assert sorted(f.name for f in out.iterdir()) == ["sensitivity.csv", "summary.json", "tornado.png"]
    assert (out / "tornado.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["parameters"]["restriction"]["duration_months"] == 6
    assert summary["factors"][0]["factor"]
    code, _, stderr = _cli(capsys, "sensitivity", "--out", str(out))
    assert code == 2 and "--force" in stderr
