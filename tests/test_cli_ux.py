"""The command line's rough edges a new user hit (issue 14, section 3).

Each section is one item of the issue: global options, bundled scenarios by
name, labels that follow overrides, the policy header and the release-cap
hint, error lines, the JSON Schema, words and dates in the printout, and
--json / --xlsx. The CLI runs in-process through ``simulator.cli.main`` (what
the ``resim`` script runs), except where a real process matters (a piped
stdout, the first compile of the fast engine).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from cli_runner import invoke

import simulator
from simulator import cli
from simulator.io.scenario import bundled_scenarios, json_schema, load_scenario

ROOT = Path(simulator.__file__).parent
TESTS = Path(__file__).parent
DATA = TESTS / "data"


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("resim: error: ") and "Traceback" not in err, err
    return lines[0]


# --------------------------------------------------------------------------
# 1. --version, completion, --quiet, --verbose, the compile note
# --------------------------------------------------------------------------

def test_version(capsys):
    code, out, err = invoke(capsys, "--version")
    assert code == 0 and out.strip() == f"resim {simulator.__version__}" and err == ""


def test_shell_completion_is_enabled(capsys, monkeypatch):
    code, out, _ = invoke(capsys, "--help")
    assert code == 0 and "--install-completion" in out and "--show-completion" in out
    # what the installed completion script asks: the commands starting with "sc"
    monkeypatch.setenv("_RESIM_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "resim sc")
    monkeypatch.setenv("COMP_CWORD", "1")
    code, out, _ = invoke(capsys)
    assert code == 0 and set(out.split()) == {"scenarios", "schema"}


def test_quiet_prints_only_the_result(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, err = invoke(capsys, "--quiet", "run", "--no-band", "--out", out_dir)
    assert code == 0 and err == ""
    assert out.startswith("Scenario: ") and "Wrote" not in out
    assert (out_dir / "summary.json").exists()


def test_global_flags_may_follow_the_command(tmp_path, capsys):
    code, out, _ = invoke(capsys, "run", "--no-band", "--out", tmp_path / "o", "-q")
    assert code == 0 and "Wrote" not in out
    # ... but the value of an option stays its value, and so does everything after --
    import typer

    command = typer.main.get_command(cli.app)
    assert cli.hoist_global_flags(command, ["run", "--set", "-q", "-v"]) == ["-v", "run", "--set", "-q"]
    assert cli.hoist_global_flags(command, ["-q", "sweep", "--", "-v"]) == ["-q", "sweep", "--", "-v"]


def test_quiet_and_verbose_exclude_each_other(capsys):
    code, out, err = invoke(capsys, "-q", "-v", "run")
    assert code == 2 and out == "" and "--quiet" in one_error_line(err)


def test_verbose_says_where_things_came_from_and_how_long_they_took(capsys):
    code, out, err = invoke(capsys, "--verbose", "run", "japan-six-months", "--no-band")
    assert code == 0 and out.startswith("Scenario: six-month full restriction")
    assert "resim: scenario: " in err and "japan-six-months.toml" in err
    assert "base files: " in err and "japan-one-year.toml" in err
    assert "resim: data: input-output table " in err and "materials.toml" in err
    # numpy for one scenario in a fresh process; compiled once an earlier test loaded numba
    assert re.search(r"resim: engine: (numpy|compiled \(numba\)) material loop for 1 scenario", err)
    last = err.strip().splitlines()[-1]
    assert last.startswith("resim: timings: load ") and " run " in last


@pytest.mark.filterwarnings("default::RuntimeWarning")     # the CLI shows it; pytest must not raise it
def test_quiet_drops_notes_on_stderr_but_not_warnings(capsys, monkeypatch):
    """The engine's compile note is a note: --quiet drops it; warnings and errors still show."""
    import simulator.core.runner as runner

    real = runner.run
    calls = []

    def noisy(*args, **kwargs):
        print("resim: compiling the fast engine (once, ~10 s)", file=sys.stderr, flush=True)
        import warnings
        warnings.warn(f"resim: something to know ({len(calls)})", RuntimeWarning, stacklevel=1)
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run", noisy)
    code, _, err = invoke(capsys, "run", "--no-band")
    assert code == 0 and "compiling the fast engine" in err
    code, out, err = invoke(capsys, "-q", "run", "--no-band")
    assert code == 0 and "compiling" not in err and "resim: warning: something to know (1)" in err
    assert out.startswith("Scenario: ")


def test_compile_note_comes_first_when_output_is_piped(tmp_path):
    """A fresh cache and 1,024 scenarios (the compiled loop): the note is on stderr, before the ~10 s compile."""
    env = dict(os.environ, RESIM_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("RESIM_ENGINE", None)
    months = ",".join(str(m) for m in range(1, 33))
    severity = ",".join(f"{0.5 + i / 64:g}" for i in range(32))
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "sweep", "--no-band", "--grid", f"restriction.duration_months={months}",
         "--grid", f"restriction.severity={severity}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=tmp_path, env=env, text=True)
    first = proc.stderr.readline()
    seen = time.monotonic()
    out, rest = proc.communicate(timeout=600)
    done = time.monotonic()
    assert proc.returncode == 0, rest
    assert first.strip() == "resim: compiling the fast engine (once, ~10 s)"
    assert done - seen > 1.0, "the note came only at the end, not before the compile"
    assert "1024 combinations" in out and "compiling" not in out


# --------------------------------------------------------------------------
# 2. Bundled scenarios by name; resim scenarios; resim init
# --------------------------------------------------------------------------

def test_scenarios_lists_every_bundled_scenario(capsys):
    code, out, _ = invoke(capsys, "scenarios")
    assert code == 0
    lines = out.splitlines()
    for name in bundled_scenarios():
        row = [line for line in lines if line.split(" ", 1)[0] == name]
        assert len(row) == 1, name
        assert len(row[0].split(None, 1)) == 2 and len(row[0]) <= 140, row     # name and one-line description
    code, out, _ = invoke(capsys, "scenarios", "--json")
    assert {r["name"] for r in json.loads(out)} == set(bundled_scenarios())


def test_run_takes_a_bundled_name(capsys):
    code, out, _ = invoke(capsys, "run", "japan-six-months", "--no-band", "--json")
    assert code == 0 and json.loads(out)["scenario"] == "six-month full restriction"
    code, out, _ = invoke(capsys, "run", "japan-six-months.toml", "--no-band", "--json")
    assert code == 0 and json.loads(out)["scenario"] == "six-month full restriction"


def test_a_path_wins_over_a_bundled_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("japan-six-months").write_text('name = "my own file"\n')
    code, out, _ = invoke(capsys, "run", "japan-six-months", "--no-band", "--json")
    assert code == 0 and json.loads(out)["scenario"] == "my own file"
    Path("mine.toml").write_text('name = "mine"\n')                # `resim run mine` finds ./mine.toml
    code, out, _ = invoke(capsys, "run", "mine", "--no-band", "--json")
    assert code == 0 and json.loads(out)["scenario"] == "mine"


def test_an_unknown_name_lists_the_known_ones(capsys):
    code, out, err = invoke(capsys, "run", "japan-six-mnths")
    line = one_error_line(err)
    assert code == 2 and out == ""
    assert "japan-six-mnths: " in line and "did you mean 'japan-six-months'" in line
    assert all(name in line for name in bundled_scenarios())


@pytest.mark.parametrize("args", [
    ["run"], ["validate"], ["sweep", "--grid", "restriction.duration_months=1"], ["compare"],
    ["sensitivity"], ["optimize"], ["report"], ["explore", "--no-browser"],
    ["calibrate", "--target", "gdp_loss_pct=0.4", "--free", "economy.criticality_scale"],
])
def test_every_command_taking_a_scenario_takes_a_name(args, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, args[0], "no-such-scenario", *args[1:])
    assert code == 2 and out == ""
    assert "no bundled scenario of that name" in one_error_line(err) and "japan-one-year" in err


def test_validate_and_compare_take_names(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke(capsys, "validate", "halt-2010")
    assert code == 0 and "valid" in out
    code, out, _ = invoke(capsys, "compare", "halt-2010", "japan-three-months", "--json")
    assert code == 0 and [r["scenario"] for r in json.loads(out)["rows"]] == \
        ["two-month halt (2010 style)", "three-month full restriction"]
    assert list(tmp_path.iterdir()) == []                          # --json: no chart in the working directory


def test_init_copies_a_scenario_whose_base_still_resolves(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke(capsys, "init", "mine", "--from", "japan-six-months")
    assert code == 0 and "mine.toml" in out
    text = Path("mine.toml").read_text()
    assert "# A six-month full restriction" in text                 # the comments come along
    base = tomllib.loads(text)["base"]
    # a bare bundled name: it resolves from anywhere, and the file stays portable between machines
    assert base == "japan-one-year.toml"
    # it loads, from anywhere, and is the bundled scenario
    (tmp_path / "elsewhere").mkdir()
    moved = tmp_path / "elsewhere" / "moved.toml"
    Path("mine.toml").rename(moved)
    assert load_scenario(moved).flat() == load_scenario(ROOT / "scenarios" / "japan-six-months.toml").flat()
    # the default source, and never over an existing file without --force
    code, _, _ = invoke(capsys, "init", "plain.toml")
    assert code == 0 and "base" not in tomllib.loads(Path("plain.toml").read_text())
    Path("plain.toml").write_text("# mine\n")
    code, out, err = invoke(capsys, "init", "plain")
    assert code == 2 and "--force" in one_error_line(err) and Path("plain.toml").read_text() == "# mine\n"
    code, _, _ = invoke(capsys, "init", "plain", "--from", "halt-2010", "--force")
    assert code == 0 and "two-month halt" in Path("plain.toml").read_text()
    code, _, err = invoke(capsys, "init", "x", "--from", "nope")
    assert code == 2 and "bundled" in one_error_line(err) and not Path("x.toml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "plain.toml"]


# --------------------------------------------------------------------------
# 3. Labels follow overrides
# --------------------------------------------------------------------------

LABEL = "one-year full restriction (modified: restriction.duration_months=3)"


def test_the_label_follows_overrides_everywhere(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, _ = invoke(capsys, "run", "--set", "restriction.duration_months=3", "--no-band", "--out", out_dir)
    assert code == 0 and out.startswith(f"Scenario: {LABEL}")
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["scenario"] == LABEL and summary["provenance"]["parameters"]["name"] == LABEL
    code, out, _ = invoke(capsys, "sweep", "--set", "restriction.duration_months=3", "--grid",
                         "restriction.severity=0.5,1", "--no-band")
    assert code == 0 and f"Sweep of {LABEL}" in out
    code, out, _ = invoke(capsys, "compare", "halt-2010", "japan-one-year", "--set",
                         "restriction.duration_months=3", "--json")
    assert [r["scenario"] for r in json.loads(out)["rows"]] == [
        "two-month halt (2010 style) (modified: restriction.duration_months=3)", LABEL]


def test_plots_use_the_label():
    from simulator.core.runner import run
    from simulator.plots import plot_run

    fig = plot_run(run(load_scenario(None, {"restriction.duration_months": 3}), draws=0))
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert any("modified: restriction.duration_months=3" in t for t in texts), texts


def test_the_label_lists_only_real_changes_and_a_given_name_wins():
    assert load_scenario(None, {"restriction.duration_months": 12}).name == "one-year full restriction"
    sc = load_scenario(None, {"restriction.duration_months": 3, "stockpile.national.cover_days": 60,
                              "description": "x"})
    assert sc.name == ("one-year full restriction (modified: restriction.duration_months=3, "
                       "stockpile.national.cover_days=60)")
    assert load_scenario(None, {"name": "mine", "restriction.duration_months": 3}).name == "mine"
    many = {f"materials.ndfeb.{k}": v for k, v in [("china_share", 0.5), ("substitution_max_share", 0.2),
                                                   ("alternative_capacity_share", 0.3),
                                                   ("corporate_cover_scale", 2.0), ("criticality_scale", 2.0)]}
    long = load_scenario(None, many).name
    assert len(long) <= 200 and "more)" in long and long.startswith("one-year full restriction (modified: ")


# --------------------------------------------------------------------------
# 4. The policy header and the release-cap hint
# --------------------------------------------------------------------------

def test_the_header_names_the_policy_settings_that_differ(capsys):
    code, out, _ = invoke(capsys, "run", "--no-band")
    assert "Policy: the defaults (national stockpile 30 days" in out
    code, out, _ = invoke(capsys, "run", "policy-stockpile-180-days", "--no-band")
    line = next(line for line in out.splitlines() if line.startswith("Policy"))
    assert line.startswith("Policy (differs from the defaults): national stockpile 180 days")
    assert "release rule immediate" in line and "release cap 1 month of demand per month" in line
    assert "firms pool their stocks" in line
    code, out, _ = invoke(capsys, "run", "policy-allies", "--no-band")
    assert "allied sharing 30 days (Dy/Tb 15 days)" in out
    code, out, _ = invoke(capsys, "run", "policy-priority", "--no-band")
    assert "allocation priority" in out and "priority sectors 31, 32" in out


def test_the_release_cap_not_the_stock_limits_a_big_stockpile(capsys):
    runs = {}
    for days in (180, 365):
        code, out, _ = invoke(capsys, "run", "--set", f"stockpile.national.cover_days={days}", "--json")
        assert code == 0
        runs[days] = json.loads(out)
        code, text, _ = invoke(capsys, "run", "--set", f"stockpile.national.cover_days={days}", "--no-band")
        hint = [line for line in text.splitlines() if "not the stock, limits the stockpile" in line]
        assert len(hint) == 1 and "raise stockpile.national.max_release_share_per_month" in hint[0]
        assert hint[0].startswith("The release cap of 0.5 months of demand per month")
    assert runs[180]["gdp_loss_pct"] == pytest.approx(runs[365]["gdp_loss_pct"], rel=1e-9, abs=1e-12)
    assert runs[180]["release_cap_limited_materials"] and runs[365]["release_cap_limited_materials"]
    # the default stockpile runs out: no hint; a higher cap lets the stock work: no hint either
    for sets in ([], ["--set", "stockpile.national.cover_days=365",
                      "--set", "stockpile.national.max_release_share_per_month=2"]):
        code, out, _ = invoke(capsys, "run", "--no-band", *sets)
        assert code == 0 and "not the stock" not in out
        code, out, _ = invoke(capsys, "run", "--no-band", "--json", *sets)
        assert json.loads(out)["release_cap_limited_materials"] == []


# --------------------------------------------------------------------------
# 5. Error lines
# --------------------------------------------------------------------------

@pytest.mark.parametrize("setting, says", [
    ("materials.nd.china_share=0.5", "--set: materials.nd.china_share: unknown material 'nd' "
                                     "(known: ndfeb, dytb, celay)"),
    ("economy.table=foo", "--set: economy.table: unknown table 'foo'"),
    ("restriction.lead_time_normal_months=5", "--set: restriction.lead_time_restricted_months: must be at least"),
    ("horizon_months=1", "--set: restriction.start_month: "),
])
def test_set_errors_name_set_not_the_bundled_file(setting, says, tmp_path, capsys):
    code, out, err = invoke(capsys, "run", "--set", setting, "--out", tmp_path / "out")
    line = one_error_line(err)
    assert code == 2 and out == "" and says in line, line
    assert "japan-one-year.toml" not in line
    if "table" in setting:
        assert "mic2015_37" in line and "mic2015_185" in line
    assert list(tmp_path.iterdir()) == []


def test_a_new_material_may_still_come_whole_from_overrides():
    sc = load_scenario(None, {"materials.nd.china_share": 0.5, "materials.nd.demand_t_per_month": 10.0})
    assert list(sc.materials) == ["ndfeb", "dytb", "celay", "nd"]


def test_validate_reports_every_problem_of_a_file(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[restriction]\nduration_months = -1\nlead_time_normal_months = true\n'
                   '[stockpile.national]\ncover_days = "a"\n[materials.ndfeb]\nchina_share = 3\n')
    code, out, err = invoke(capsys, "validate", bad)
    lines = err.splitlines()
    assert code == 2 and out == "" and len(lines) == 4, err
    assert all(line.startswith(f"resim: error: {bad}: ") for line in lines)
    keys = {line.split(": ")[3] for line in lines}
    assert keys == {"restriction.duration_months", "restriction.lead_time_normal_months",
                    "stockpile.national.cover_days", "materials.ndfeb.china_share"}
    # every other command: the first problem in one line, and how many more there are
    code, out, err = invoke(capsys, "run", bad)
    assert code == 2 and "(and 3 more problems; resim validate lists them all)" in one_error_line(err)


# --------------------------------------------------------------------------
# 6. The JSON Schema accepts every valid file
# --------------------------------------------------------------------------

def _accepted_by_validate(path: Path) -> bool:
    from simulator.core.spec import batch_spec
    from simulator.errors import ResimError

    try:
        batch_spec(load_scenario(path))
    except ResimError:
        return False
    return True


def test_the_schema_accepts_every_file_resim_accepts():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(ROOT.glob("scenarios/*.toml")) + sorted(DATA.rglob("*.toml"))
    checked = []
    for path in files:
        if path.parent.name != "scenarios" and not _accepted_by_validate(path):
            continue
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        problems = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
        assert not problems, f"{path}: {problems}"
        checked.append(path)
    assert len(checked) > len(bundled_scenarios()), checked          # tests/data/good/ too


def test_the_schema_takes_a_partial_material_and_still_checks_values(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    partial = {"base": "japan-one-year.toml", "materials": {"dytb": {"china_share": 0.9}}}
    assert not list(validator.iter_errors(partial))
    path = tmp_path / "partial.toml"
    path.write_text('[materials.dytb]\nchina_share = 0.9\n')
    assert load_scenario(path).materials["dytb"].china_share == 0.9
    assert json_schema()["properties"]["materials"]["properties"]["ndfeb"]["properties"][
        "demand_t_per_month"]["default"] == 420.0
    wrong = {"materials": {"dytb": {"china_share": 3, "colour": "red"}}, "restriction": {"duraton_months": 3}}
    assert len(list(validator.iter_errors(wrong))) == 3


# --------------------------------------------------------------------------
# 7. Names, dates and "never" in the printout
# --------------------------------------------------------------------------

def test_the_printout_uses_names_and_dates(capsys):
    code, out, _ = invoke(capsys, "run", "--no-band")
    assert code == 0
    assert "from Feb 2026" in out and "Worst month: " in out
    first = next(line for line in out.splitlines() if line.startswith("First shortage"))
    assert all(name in first for name in ("NdFeB magnets", "Dy/Tb", "Ce/La/Y")), first
    assert not any(code_ in first.split() for code_ in ("ndfeb", "dytb", "celay")), first
    assert "2026" in first and "-0" not in first                    # 'Apr 2026', not '2026-04'


def test_no_shortage_is_never_in_text_and_null_in_json(tmp_path, capsys):
    code, out, _ = invoke(capsys, "run", "--no-band", "--set", "restriction.duration_months=0")
    assert "First shortage: never" in out and "Worst month: never" in out and "inf" not in out
    code, out, _ = invoke(capsys, "run", "--no-band", "--set", "restriction.duration_months=0", "--json")
    summary = json.loads(out)
    assert summary["first_shortage_date"] is None and summary["first_shortage_month"] is None
    assert summary["ndfeb_first_shortage_month"] is None and summary["peak_date"] is None
    code, out, _ = invoke(capsys, "compare", "--durations", "0,3")
    assert code == 0 and "never" in out and "inf" not in out and " - " not in out
    code, out, _ = invoke(capsys, "compare", "--durations", "0,3", "--json")
    row = json.loads(out)["rows"][0]
    assert row["first_shortage_date"] is None and row["peak_date"] is None
    code, out, _ = invoke(capsys, "sweep", "--grid", "restriction.duration_months=0,3", "--json")
    row = json.loads(out)["rows"][0]
    assert row["first_shortage_month"] is None and row["first_shortage_date"] is None
    assert json.loads(out)["rows"][1]["first_shortage_date"] == "2026-04"
    assert "Infinity" not in out and "NaN" not in out


# --------------------------------------------------------------------------
# 8. --json and --xlsx
# --------------------------------------------------------------------------

def _sheets(path: Path) -> dict:
    import pandas as pd

    return pd.read_excel(path, sheet_name=None)


def test_run_xlsx_has_a_sheet_per_table_and_the_assumptions(tmp_path, capsys):
    pytest.importorskip("openpyxl")
    book = tmp_path / "run.xlsx"
    code, out, err = invoke(capsys, "run", "--no-band", "--set", "restriction.duration_months=6",
                           "--set", 'name="=HYPERLINK(\\"x\\")"', "--xlsx", book)
    assert code == 0 and f"Wrote {book}" in out
    sheets = _sheets(book)
    assert list(sheets) == ["summary", "economy monthly", "materials monthly", "sectors", "monthly (tidy)",
                            "assumptions"]
    summary = dict(zip(sheets["summary"]["key"], sheets["summary"]["value"], strict=True))
    assert summary["scenario"] == '=HYPERLINK("x")'                 # text, never a formula
    import openpyxl

    cell = openpyxl.load_workbook(book)["summary"]["B2"]
    assert cell.data_type == "s"
    a = sheets["assumptions"].set_index("key")
    assert a.loc["restriction.duration_months", "value"] == 6
    assert a.loc["restriction.duration_months", "source"] == "--set"
    assert a.loc["restriction.start_month", "source"].endswith("japan-one-year.toml")
    assert a.loc["horizon_months", "source"].endswith("japan-one-year.toml")
    assert a.loc["stockpile.national.cover_days", "source"] == "default"
    assert a.loc["(resim version)", "value"] == simulator.__version__
    assert any(k.startswith("(data sha256) mic2015_37/Z.csv") for k in a.index)
    # never over an existing file without --force, checked before the run
    code, out, err = invoke(capsys, "run", "--xlsx", book)
    assert code == 2 and out == "" and "--force" in one_error_line(err)


def test_sweep_compare_sensitivity_json_and_xlsx(tmp_path, capsys):
    pytest.importorskip("openpyxl")
    code, out, _ = invoke(capsys, "sweep", "--grid", "restriction.duration_months=0,3", "--no-band",
                         "--json", "--xlsx", tmp_path / "sweep.xlsx", "--out", tmp_path / "s")
    assert code == 0
    data = json.loads(out)                                           # stdout is the JSON, nothing else
    assert [r["restriction.duration_months"] for r in data["rows"]] == [0, 3]
    assert set(_sheets(tmp_path / "sweep.xlsx")) == {"sweep", "assumptions"}
    assert (tmp_path / "s" / "sweep.csv").exists()

    code, out, _ = invoke(capsys, "sweep", "japan-one-year-uncertain", "--samples", "8", "--json",
                         "--xlsx", tmp_path / "mc.xlsx")
    data = json.loads(out)
    assert code == 0 and len(data["rows"]) == 8 and data["statistics"] and data["drivers"]
    assert set(_sheets(tmp_path / "mc.xlsx")) == {"samples", "statistics", "drivers", "assumptions"}

    code, out, _ = invoke(capsys, "compare", "--durations", "3,6", "--json", "--xlsx", tmp_path / "cmp.xlsx")
    assert code == 0 and [r["restriction_months"] for r in json.loads(out)["rows"]] == [3, 6]
    sheets = _sheets(tmp_path / "cmp.xlsx")
    assert set(sheets) == {"compare", "monthly", "assumptions"}
    assert {"3 months", "6 months"} <= set(sheets["assumptions"].columns)

    code, out, _ = invoke(capsys, "sensitivity", "--draws", "0", "--json", "--xlsx", tmp_path / "sens.xlsx")
    data = json.loads(out)
    assert code == 0 and data["metric"] == "gdp_loss_pct" and len(data["factors"]) > 5
    assert set(_sheets(tmp_path / "sens.xlsx")) == {"sensitivity", "assumptions"}


def test_xlsx_without_openpyxl_is_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "openpyxl", None)              # import openpyxl -> ImportError
    for args in (["run"], ["sweep", "--grid", "restriction.duration_months=1"], ["compare"], ["sensitivity"]):
        code, out, err = invoke(capsys, *args, "--xlsx", tmp_path / "x.xlsx")
        assert code == 2 and out == ""
        assert "pip install 'resim[xlsx]'" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_xlsx_refuses_sheets_excel_cannot_hold():
    import pandas as pd

    from simulator.errors import ResimError
    from simulator.io.outputs import XLSX_MAX_ROWS, sheet_names, xlsx_writer

    with pytest.raises(ResimError, match="at most"):
        xlsx_writer({"big": pd.DataFrame({"a": range(XLSX_MAX_ROWS + 1)})})
    assert sheet_names(["a/b", "x" * 40, "X" * 40]) == ["a_b", "x" * 31, "X" * 27 + " (2)"]
