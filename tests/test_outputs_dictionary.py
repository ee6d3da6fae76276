"""docs/outputs.md lists every output column and key the code writes, and nothing it no longer writes.

Every command of the page runs once, small (few draws, a 2 x 2 grid, two
compared lengths), in process, into a temporary folder; the column names of
each CSV and the keys of each JSON file are then matched against the table
of that file in docs/outputs.md (``<!-- dictionary: DIR/FILE -->`` before
it). ``<material>`` stands for a material id, ``<key>`` for a dotted
scenario key and ``<metric>`` for the sensitivity metric. The Python
frames with the same names (``Result.economy_monthly``, ``.materials_monthly``,
``.sectors``, ``simulator.sweep``, ``simulator.optimize_stockpile``) are
checked against the same tables.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

import simulator
from simulator import cli

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "outputs.md"
UNCERTAIN = ROOT / "scenarios" / "japan-one-year-uncertain.toml"
METRIC = "gdp_loss_pct"


def parse_dictionary(text: str) -> dict[str, list[str]]:
    """Section id -> the names in the first column of its table."""
    out: dict[str, list[str]] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.fullmatch(r"<!-- dictionary: (.+?) -->", line.strip())
        if not m:
            continue
        rows = []
        for row in lines[i + 1:]:
            if not row.startswith("|"):
                if rows:
                    break
                continue
            rows.append(row)
        names = []
        for row in rows[2:]:                                   # after the header and the |---| line
            first = row.split("|")[1]
            names += re.findall(r"`([^`]+)`", first)
        assert names, f"docs/outputs.md: the table of {m.group(1)} has no names"
        out[m.group(1)] = names
    return out


DICTIONARY = parse_dictionary(DOC.read_text(encoding="utf-8"))


def pattern(name: str, materials) -> re.Pattern:
    rx = re.escape(name)
    rx = rx.replace(re.escape("<material>"), "(?:" + "|".join(map(re.escape, materials)) + ")")
    rx = rx.replace(re.escape("<key>"), r"[a-z_]+(?:\.[a-z0-9_]+)+")
    rx = rx.replace(re.escape("<metric>"), re.escape(METRIC))
    return re.compile(rx)


def check(section: str, produced, materials) -> None:
    """Every produced name is documented in ``section``, and every documented name is produced."""
    produced = [str(p) for p in produced]
    pats = {n: pattern(n, materials) for n in DICTIONARY[section]}
    missing = [p for p in produced if not any(rx.fullmatch(p) for rx in pats.values())]
    assert not missing, f"docs/outputs.md, {section}: document {missing}"
    stale = [n for n, rx in pats.items() if not any(rx.fullmatch(p) for p in produced)]
    assert not stale, f"docs/outputs.md, {section}: the code no longer writes {stale}"


def resim(*args: str) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(list(args))
    assert not exc.value.code, f"resim {' '.join(args)} exited with {exc.value.code}"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    resim("run", "--draws", "10", "--out", str(out / "run"))
    resim("sweep", "--grid", "restriction.duration_months=3,12", "--grid", "stockpile.national.cover_days=0,60",
          "--draws", "10", "--monthly", "--out", str(out / "sweep"))
    resim("sweep", str(UNCERTAIN), "--samples", "12", "--monthly", "--out", str(out / "mc"))
    resim("compare", "--durations", "3,12", "--out", str(out / "compare"))
    resim("optimize", "--durations", "3,6", "--max-loss-pct", "0.2", "--draws", "10",
          "--set", "stockpile.national.max_release_share_per_month=1.0", "--out", str(out / "optimize"))
    resim("sensitivity", "--draws", "100", "--out", str(out / "sensitivity"))
    return out


def _columns(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def materials():
    return list(simulator.load_scenario().materials)


def test_every_file_has_a_table(outputs):
    written = {str(p.relative_to(outputs)) for p in outputs.rglob("*") if p.suffix in (".csv", ".json")}
    assert written == set(DICTIONARY) - {"monthly variables"}


def test_every_column_and_key_is_documented(outputs, materials):
    for section in DICTIONARY:
        if section == "monthly variables":
            continue
        path = outputs / section
        names = _columns(path) if path.suffix == ".csv" else list(json.loads(path.read_text(encoding="utf-8")))
        check(section, names, materials)


def test_every_monthly_variable_is_documented(outputs, materials):
    variables = set()
    for section in ("run/monthly.csv", "sweep/monthly.csv", "mc/monthly.csv", "compare/monthly.csv"):
        variables |= {r["variable"] for r in _rows(outputs / section)}
    check("monthly variables", sorted(variables), materials)


def test_nested_keys_are_documented(outputs):
    doc = DOC.read_text(encoding="utf-8")
    summary = json.loads((outputs / "run" / "summary.json").read_text(encoding="utf-8"))
    top_row = next(line for line in doc.splitlines() if line.startswith("| `top_sectors`"))
    assert summary["top_sectors"]
    for key in summary["top_sectors"][0]:
        assert re.search(rf"\b{key}\b", top_row), f"top_sectors: document {key!r}"
    prov_row = next(line for line in doc.splitlines() if line.startswith("| `provenance` | object | `resim_version`"))
    for key in summary["provenance"]:
        assert f"`{key}`" in prov_row, f"provenance: document {key!r}"
    required = json.loads((outputs / "optimize" / "summary.json").read_text(encoding="utf-8"))["required_stockpile"]
    assert set(required[0]) == set(_columns(outputs / "optimize" / "required_stockpile.csv"))
    factors = json.loads((outputs / "sensitivity" / "summary.json").read_text(encoding="utf-8"))["factors"]
    assert set(factors[0]) == set(_columns(outputs / "sensitivity" / "sensitivity.csv"))


def test_python_frames_use_the_documented_names(materials):
    from simulator.analysis.policy import optimize_stockpile

    sc = simulator.load_scenario()
    r = simulator.run(sc, draws=10)
    # the CLI adds provenance and release_cap_limited_materials to Result.summary
    check("run/summary.json", [k for k in r.summary] + ["provenance", "release_cap_limited_materials"], materials)
    check("run/sectors.csv", r.sectors.columns, materials)
    wide = [c for c in r.economy_monthly.columns if c not in ("month", "date")]
    wide += [c for c in r.materials_monthly.columns if c not in ("month", "date", "material")]
    wide += list(r.monthly.loc[r.monthly["kind"] == "sector", "variable"].unique())
    check("monthly variables", wide, materials)
    df = simulator.sweep(sc, {"restriction.duration_months": [3, 12]}, draws=10)
    check("sweep/sweep.csv", df.columns, materials)
    answers, curve = optimize_stockpile(sc, 0.2, over={"restriction.duration_months": [3]}, return_curve=True, draws=10)
    check("optimize/required_stockpile.csv", answers.columns, materials)
    check("optimize/stockpile_curve.csv", curve.columns, materials)

