"""Outputs are all-or-nothing and say where they came from.

``simulator.io.outputs.write_atomic`` writes into a temporary directory next to
the target and renames it into place, so a crash, Ctrl-C or full disk in the
middle of writing leaves no output directory that looks complete, and no
temporary leftovers either. ``summary.json`` carries the provenance needed to
reproduce a figure.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import json
from importlib import resources
from pathlib import Path

import pytest
from cli_runner import invoke

import simulator
from simulator.errors import ResimError
from simulator.io import outputs

DATA = Path(__file__).parent / "data"
#: The five files of a use-table folder (docs/model.md section 4).
USE_TABLE_FILES = ("use_table.csv", "criticality.csv", "applications.csv", "final_links.csv",
                   "made_to_order.csv")


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def writer(text: str):
    def write(path: Path) -> None:
        path.write_text(text)
    return write


def failing(exc: BaseException):
    def write(path: Path) -> None:
        path.write_text("half of a fi")      # a partial file really exists when it fails
        raise exc
    return write


# --------------------------------------------------------------------------
# write_atomic
# --------------------------------------------------------------------------

def test_write_atomic_writes_everything_and_leaves_nothing_else(tmp_path):
    out = tmp_path / "out"
    paths = outputs.write_atomic(out, {"a.txt": writer("A"), "b.txt": writer("B")})
    assert [p.read_text() for p in paths] == ["A", "B"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("exc", [RuntimeError("crash"), KeyboardInterrupt(),
                                 OSError(errno.ENOSPC, "No space left on device")],
                         ids=["crash", "ctrl-c", "disk-full"])
def test_failure_midway_leaves_no_output_and_no_temporaries(tmp_path, exc):
    out = tmp_path / "results" / "out"
    with pytest.raises(type(exc)):
        outputs.write_atomic(out, {"a.txt": writer("A"), "b.txt": failing(exc), "c.txt": writer("C")})
    assert not out.exists()
    assert list((tmp_path / "results").iterdir()) == []


def test_failure_midway_keeps_the_old_results_whole(tmp_path):
    out = tmp_path / "out"
    outputs.write_atomic(out, {"a.txt": writer("old A"), "b.txt": writer("old B")})
    with pytest.raises(RuntimeError):
        outputs.write_atomic(out, {"a.txt": writer("new A"), "b.txt": failing(RuntimeError())}, force=True)
    assert {p.name: p.read_text() for p in out.iterdir()} == {"a.txt": "old A", "b.txt": "old B"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_non_empty_directory_needs_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(ResimError, match="--force"):
        outputs.write_atomic(out, {"a.txt": writer("A")})
    assert [p.name for p in out.iterdir()] == ["precious.txt"]
    outputs.write_atomic(out, {"a.txt": writer("A")}, force=True)
    # --force replaces only the files resim writes; a file it did not write survives (issue #10)
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "precious.txt"]
    assert (out / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_empty_directory_is_fine_and_a_file_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    outputs.write_atomic(empty, {"a.txt": writer("A")})
    assert (empty / "a.txt").read_text() == "A"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ResimError, match="not a directory"):
        outputs.write_atomic(a_file, {"a.txt": writer("A")}, force=True)
    assert a_file.read_text() == "x"


# --------------------------------------------------------------------------
# The CLI
# --------------------------------------------------------------------------

def test_cli_refuses_non_empty_out_before_running(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.csv").write_text("x")
    ran = []
    monkeypatch.setattr(simulator, "run", lambda *a, **k: ran.append(1))
    code, stdout, err = invoke(capsys, *["run", "--out", str(out)])
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and "--force" in err and str(out) in err
    assert not ran, "the refusal comes before any work"
    assert [p.name for p in out.iterdir()] == ["old.csv"]


def test_cli_disk_full_midway_leaves_nothing(tmp_path, capsys, monkeypatch):
    def full_disk_csv(df):
        def write(path):
            path.write_text("month,")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write
    monkeypatch.setattr(outputs, "csv_writer", full_disk_csv)
    out = tmp_path / "out"
    code, _, err = invoke(capsys, *["run", "--out", str(out), "--set", "restriction.duration_months=3"])
    assert code == 1
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_ctrl_c_midway_leaves_nothing(tmp_path, capsys, monkeypatch):
    def interrupted(obj):
        def write(path):
            path.write_text("{")
            raise KeyboardInterrupt
        return write
    monkeypatch.setattr(outputs, "json_writer", interrupted)
    out = tmp_path / "out"
    code, _, err = invoke(capsys, *["run", "--out", str(out)])
    assert code == 130 and err.strip().splitlines()[-1] == "resim: interrupted"
    assert list(tmp_path.iterdir()) == []


def test_summary_json_carries_provenance(tmp_path, capsys, monkeypatch):
    scenario = Path(simulator.__file__).parent / "scenarios" / "japan-one-year.toml"
    out = tmp_path / "out"
    code, _, err = invoke(capsys, *["run", str(scenario), "--out", str(out), "--set", "restriction.severity=0.8"])
    assert code == 0, err
    prov = json.loads((out / "summary.json").read_text())["provenance"]
    assert prov["resim_version"] == simulator.__version__
    assert prov["scenario_file"] == str(scenario)
    assert prov["scenario_sha256"] == sha(scenario)
    # the resolved parameters rebuild the same scenario, overrides included
    params = prov["parameters"]
    assert params["restriction"]["severity"] == 0.8
    expected = simulator.load_scenario(scenario, {"restriction.severity": 0.8})
    assert params == expected.model_dump(mode="json")
    # every data file is hashed, and the hashes are the files' own: the table, the 185-sector
    # table the use table's codes are aggregated from, the five files of the use table
    data_dir = Path(str(resources.files("simulator") / "data"))
    hashes = prov["data_sha256"]
    for table in ("mic2015_37", "mic2015_185"):
        for name in ("Z.csv", "final_demand.csv", "value_added.csv", "sectors.csv"):
            assert hashes[f"{table}/{name}"] == sha(data_dir / table / name)
    for name in USE_TABLE_FILES:
        assert hashes[f"use_table/{name}"] == sha(data_dir / name)
    assert hashes["materials.toml"] == sha(data_dir / "materials.toml")
    assert "dependence_185.csv" not in hashes           # kept as a cross-check, not used by the model
    # the summary carries the band the run printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["band_draws"] > 0
    for key in ("gdp_loss_pct", "gdp_loss_jpy_bn"):
        assert summary[f"{key}_p05"] <= summary[f"{key}_p50"] <= summary[f"{key}_p95"]
        assert summary[f"{key}_p05"] < summary[f"{key}_p95"]


def test_custom_data_resolve_relative_to_the_scenario_and_are_hashed(tmp_path, capsys, monkeypatch):
    """A scenario's table and use-table paths start at its own directory, not the cwd."""
    scenario = DATA / "good" / "tiny-table.toml"
    monkeypatch.chdir(tmp_path)            # far away from the scenario
    out = tmp_path / "out"
    code, _, err = invoke(capsys, *["run", str(scenario), "--out", str(out)])
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["gdp_loss_pct"] > 0
    hashes = summary["provenance"]["data_sha256"]
    assert hashes["tiny_ok/Z.csv"] == sha(DATA / "tables" / "tiny_ok" / "Z.csv")
    for name in USE_TABLE_FILES:
        assert hashes[f"use_table/{name}"] == sha(DATA / "use_tables" / "tiny_ok" / name)
    assert summary["provenance"]["parameters"]["economy"]["use_table"] == "../use_tables/tiny_ok"
    sectors = (out / "sectors.csv").read_text()
    assert "Magnet makers" in sectors
    # the use table's buyers (01, 03) and the assembler it links to (02) all lose output
    lost = {row["code"] for row in csv.DictReader(sectors.splitlines()) if float(row["gdp_loss_jpy_bn"]) > 0}
    assert lost == {"01", "02", "03"}


def test_scenario_files_are_data_not_code():
    """No eval, exec or pickle anywhere in the package: a scenario can only ever be data."""
    package = Path(simulator.__file__).parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if any(word in code for word in ("eval(", "exec(", "pickle", "marshal", "__import__(")):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []


def test_scenario_with_python_in_it_is_just_a_string(tmp_path):
    evil = tmp_path / "evil.toml"
    marker = tmp_path / "pwned"
    evil.write_text(f'name = "__import__(\'os\').system(\'touch {marker}\')"\n'
                    f'[economy]\ntable = "mic2015_37"\n')
    sc = simulator.load_scenario(evil)
    simulator.run(sc, keep_sector_paths=False)
    assert not marker.exists()
    assert sc.name.startswith("__import__")
