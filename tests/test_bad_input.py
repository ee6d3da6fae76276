"""Hostile and broken input: every bad file fails cleanly, and nothing else escapes.

The corpus lives in ``tests/data/bad/``. Each file starts with comments that
say what is wrong and what the error must name::

    # bad: a restriction of 1e308 months
    # key: restriction.duration_months      (or "-" when no key applies)
    # file: broken-base.toml                (optional: the file the error names,
                                             default: the bad file itself)
    # says: must sum to 1                   (optional: words the error line must contain)
    # known-bug: what resim does instead    (optional: a bug not fixed yet; the case is
                                             a strict xfail until it is)

A file of zero bytes cannot carry a comment; it expects no key. Files under
``bad/helpers/`` are base files used by the corpus, not cases themselves.
Broken data files are in ``tests/data/tables/`` (input-output tables) and
``tests/data/use_tables/`` (use-table folders: ``tiny_ok`` fits the 3-sector
table ``tables/tiny_ok``; every other folder is a copy of it with one fault).
The corpus runs through the real CLI entry point (in-process, so it stays
fast; a few files also go through a real subprocess).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulator
from simulator.core.spec import batch_spec
from simulator.errors import ResimError

BAD = Path(__file__).parent / "data" / "bad"
CASES = sorted(BAD.glob("*.toml"))
USE_TABLES = Path(__file__).parent / "data" / "use_tables"


def expectation(path: Path) -> dict:
    """The ``# bad:``, ``# key:``, ``# file:``, ``# says:`` and ``# known-bug:`` lines atop a corpus file."""
    want = {"bad": None, "key": "-", "file": path.name, "says": None, "known-bug": None}
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if not line.startswith("#"):
            break
        name, _, value = line[1:].partition(":")
        if name.strip() in want:
            want[name.strip()] = value.strip()
    return want


def assert_one_clean_line(err: str, file: str | None, key: str, says: str | None = None) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("resim: error: "), line
    assert "Traceback" not in err
    if file:
        assert file in line, line
    if key != "-":
        # the dotted key stands on its own between the file and the message
        assert f": {key}: " in line, line
    if says:
        assert says in line, line
    return line


def test_corpus_is_big_and_documented():
    assert len(CASES) >= 40
    for path in CASES:
        if path.stat().st_size:
            want = expectation(path)
            assert want["bad"], f"{path.name} does not say what is wrong (# bad: ...)"


def case(path: Path):
    bug = expectation(path)["known-bug"] if path.stat().st_size else None
    marks = [pytest.mark.xfail(strict=True, reason=f"known bug: {bug}")] if bug else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", [case(p) for p in CASES])
def test_bad_file_exits_2_with_one_line(path, tmp_path, capsys, monkeypatch):
    want = expectation(path)
    out = tmp_path / "out"
    code, stdout, err = invoke(capsys, *["run", str(path), "--out", str(out)])
    assert code == 2, (code, stdout, err)
    assert stdout == ""
    assert_one_clean_line(err, want["file"], want["key"], want["says"])
    assert list(tmp_path.iterdir()) == [], "no output directory and no temporary leftovers"


@pytest.mark.parametrize("sets, key", [
    (["restriction.duration_months=abc"], "restriction.duration_months"),
    (["restriction.duration_months=true"], "restriction.duration_months"),
    (["restriction.severity=nan"], "restriction.severity"),
    (["horizon_months=1e308"], "horizon_months"),
    (["restriction.no_such_key=1"], "restriction.no_such_key"),
    (["restriction.duration_months.deeper=1"], "restriction.duration_months.deeper"),
    (["restriction..duration_months=1"], "restriction..duration_months"),
    (["duration_months"], "-"),
    # keys of round 1: the error names what replaced them
    (["inventory.cover_months=[1.25,2,3,6]"], "inventory.cover_months"),
    (["inventory.demand_share=[0.5,0.5]"], "inventory.demand_share"),
    (["economy.dependence_file=dep.csv"], "economy.dependence_file"),
    (["economy.dependence_scale=0.8"], "economy.dependence_scale"),
    (["materials.ndfeb.dependence_scale=1.2"], "materials.ndfeb.dependence_scale"),
    (["economy.use_table=[1,2]"], "economy.use_table"),
])
def test_bad_set_exits_2(sets, key, tmp_path, capsys, monkeypatch):
    args = ["run", "--out", str(tmp_path / "out")]
    for s in sets:
        args += ["--set", s]
    code, stdout, err = invoke(capsys, *args)
    assert code == 2 and stdout == ""
    line = assert_one_clean_line(err, "--set" if key != "-" else None, key)
    if "cover_months" in key or "demand_share" in key or "dependence" in key:
        assert "no longer exists" in line, line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["invalid-toml-unclosed-table", "binary-bytes", "table-singular",
                                  "base-cycle", "use-table-missing-column"])
def test_real_process_prints_one_line(name, tmp_path):
    """The same through a real ``python -m simulator.cli`` (no test harness in between)."""
    path = BAD / f"{name}.toml"
    want = expectation(path)
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "simulator.cli", "run", str(path), "--out", str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stdout == ""
    assert_one_clean_line(p.stderr, want["file"], want["key"], want["says"])
    assert not out.exists()


def test_missing_scenario_file(tmp_path, capsys, monkeypatch):
    missing = tmp_path / "nope.toml"
    code, _, err = invoke(capsys, *["run", str(missing)])
    assert code == 2
    assert_one_clean_line(err, str(missing), "-")


@pytest.mark.parametrize("name, file", [("use-table-unknown-sector", "use_tables/unknown_sector"),
                                        ("use-table-buyer-mismatch", "buyer_mismatch/applications.csv"),
                                        ("table-singular", "tables/singular")])
def test_validate_reports_bad_data_too(name, file, capsys, monkeypatch):
    """``resim validate`` reads the data files a scenario names, not only the scenario."""
    path = BAD / f"{name}.toml"
    code, stdout, err = invoke(capsys, *["validate", str(path)])
    assert code == 2 and stdout == ""
    assert_one_clean_line(err, file, expectation(path)["key"], expectation(path)["says"])


def test_good_use_table_fixture_is_valid(capsys, monkeypatch, tmp_path):
    """The corpus' broken use tables are one fault away from a valid one."""
    good = tmp_path / "good.toml"
    good.write_text(f'[economy]\ntable = "{BAD.parent / "tables" / "tiny_ok"}"\n'
                    f'use_table = "{USE_TABLES / "tiny_ok"}"\n')
    code, stdout, err = invoke(capsys, *["validate", str(good)])
    assert code == 0 and err == "" and "valid" in stdout, (code, stdout, err)


def test_every_broken_use_table_is_used_by_the_corpus():
    used = {line.split('"')[1].rsplit("/", 1)[-1] for p in CASES
            for line in p.read_bytes().decode("utf-8", "replace").splitlines()
            if line.startswith("use_table = ")}
    folders = {d.name for d in USE_TABLES.iterdir() if d.is_dir()}
    assert folders - used == set()


# --------------------------------------------------------------------------
# Fuzzing the loader: random TOML documents and random bytes
# --------------------------------------------------------------------------

# Real key names make the fuzzer reach deep into validation, not just "unknown key".
WORDS = sorted({
    "name", "base", "horizon_months", "steps_per_month", "start_date", "restriction", "materials",
    "inventory", "stockpile", "national", "economy", "uncertainty", "alternative_supply",
    "substitution", "start_month", "duration_months", "severity", "lead_time_normal_months",
    "lead_time_restricted_months", "transit_months", "ndfeb", "dytb", "celay", "gallium",
    "demand_t_per_month", "china_share", "cover_months", "demand_share", "cover_scale", "pooled",
    "cover_days", "strategy", "table", "dependence_file", "allocation", "priority_sectors", "dist",
    "low", "high", "mean", "sd", "mode", "restriction.duration_months", "delay_months", "ramp_months",
    # model v2
    "use_table", "criticality_scale", "corporate_cover_scale", "reallocation", "restock_months", "held_share",
    "recovery", "softening", "allies", "deferred_scale", "imported_components", "leakage_share",
    "dependence_scale",
})
keys = st.one_of(st.sampled_from(WORDS), st.text(max_size=8))
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["on_shortage", "immediate", "none", "mic2015_37", "2026-01", "uniform", "normal",
                     ".", "..", "/", "nope.toml", "../tables/tiny_ok", "../use_tables/tiny_ok",
                     str(Path(__file__).parent / "data" / "use_tables" / "tiny_ok")]),
)
documents = st.dictionaries(
    keys,
    st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                  st.dictionaries(keys, inner, max_size=4)),
                 max_leaves=12),
    max_size=6,
)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def toml_string(s: str) -> str:
    escaped = "".join(c if (c.isprintable() and c not in '"\\') else f"\\u{ord(c):04x}"
                      if ord(c) < 0x10000 else f"\\U{ord(c):08x}" for c in s)
    return f'"{escaped}"'


def to_toml(doc: dict) -> str:
    return "\n".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in doc.items()) + "\n"


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def load_or_resim_error(data: bytes, directory: Path) -> None:
    """Loading either works (then the data files are checked too) or raises ResimError."""
    path = directory / "fuzz.toml"
    path.write_bytes(data)
    try:
        batch_spec(simulator.load_scenario(path))
    except ResimError as exc:
        assert exc.one_line()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_fuzz_toml_documents_raise_only_resim_error(fuzz_dir, doc):
    load_or_resim_error(to_toml(doc).encode("utf-8"), fuzz_dir)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_raise_only_resim_error(fuzz_dir, data):
    load_or_resim_error(data, fuzz_dir)


FLAT_KEYS = sorted(simulator.load_scenario().flat()) + [
    "materials.gallium.demand_t_per_month", "materials.gallium.china_share", "base",
    'uncertainty."restriction.duration_months".dist', 'uncertainty."restriction.duration_months".low',
    'uncertainty."restriction.duration_months".high', 'uncertainty."restriction.severity".sd',
]
# mostly numbers near the valid ranges, so the range checks and cross-field rules are reached
values = st.one_of(
    st.floats(-10, 1000), st.integers(-10, 700), st.floats(0, 1), scalars,
    st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                  st.dictionaries(keys, inner, max_size=3)),
                 max_leaves=6),
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(FLAT_KEYS), values, min_size=1, max_size=4))
def test_fuzz_real_keys_with_random_values(fuzz_dir, changes):
    """Valid keys with hostile values reach every field validator."""
    text = "\n".join(f"{k} = {toml_value(v)}" for k, v in changes.items()) + "\n"
    load_or_resim_error(text.encode("utf-8"), fuzz_dir)
