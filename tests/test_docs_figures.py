"""The figures in docs/img that come from the model are current.

``scripts/make_docs_figures.py`` draws them and records, per figure, the
settings, the key numbers it shows and the SHA-256 of the PNG in
``docs/img/figures.json``. Here every number is recomputed with the recorded
settings (the same draws and seed, so the same digits): a model or
calibration change that moves a number fails until the script is rerun and
the new PNGs are committed. Fix: ``python scripts/make_docs_figures.py``.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORD_PATH = ROOT / "docs" / "img" / "figures.json"
#: PNGs of docs/img that are not model figures: a benchmark and two screenshots (their own scripts).
NOT_MODEL_FIGURES = {"scaling.png", "report.png", "explore.png"}
FIX = "rerun `python scripts/make_docs_figures.py` and commit docs/img"


def _script():
    spec = importlib.util.spec_from_file_location("make_docs_figures", ROOT / "scripts" / "make_docs_figures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_docs_figures", module)       # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


MDF = _script()
RECORD = json.loads(RECORD_PATH.read_text(encoding="utf-8"))


def _jsonable(x):
    return json.loads(json.dumps(x))


def _diff(old, new, path="") -> list[str]:
    """Where two JSON values differ (for a readable failure)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            out += _diff(old.get(k), new.get(k), f"{path}.{k}")
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return sum((_diff(a, b, f"{path}[{i}]") for i, (a, b) in enumerate(zip(old, new, strict=False))), [])
    return [] if old == new else [f"{path or '.'}: recorded {old!r}, now {new!r}"]


def test_every_model_figure_is_recorded_with_its_png():
    assert set(RECORD["figures"]) == set(MDF.FIGURES), FIX
    for name, entry in RECORD["figures"].items():
        png = ROOT / entry["file"]
        assert png.exists(), f"{name}: {entry['file']} is missing; {FIX}"
        digest = hashlib.sha256(png.read_bytes()).hexdigest()
        assert digest == entry["png_sha256"], f"{name}: {entry['file']} is not the PNG the numbers describe; {FIX}"
        assert entry["settings"] == _jsonable(MDF.FIGURES[name].settings), \
            f"{name}: the script's settings changed since the figure was made; {FIX}"


def test_every_png_in_docs_img_is_made_by_a_script():
    pngs = {p.name for p in (ROOT / "docs" / "img").glob("*.png")}
    recorded = {Path(e["file"]).name for e in RECORD["figures"].values()}
    assert pngs - NOT_MODEL_FIGURES <= recorded, f"PNGs no script makes: {sorted(pngs - NOT_MODEL_FIGURES - recorded)}"


@pytest.mark.parametrize("name", list(MDF.FIGURES))
def test_figure_numbers_are_current(name):
    entry = RECORD["figures"][name]
    now = _jsonable(MDF.FIGURES[name].numbers(entry["settings"]))
    problems = _diff(entry["data"], now)
    assert not problems, f"docs/img/{MDF.FIGURES[name].file} is stale ({FIX}):\n" + "\n".join(problems[:20])


def test_the_headline_figure_draws_the_recorded_numbers():
    import matplotlib.pyplot as plt

    spec = MDF.FIGURES["headline"]
    df = spec.compute(RECORD["figures"]["headline"]["settings"])
    fig = spec.draw(df, spec.settings)
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    for days, values in RECORD["figures"]["headline"]["data"]["gdp_loss_pct"].items():
        assert [MDF.rnd(v) for v in lines[days].get_ydata()] == values
    plt.close(fig)


def test_check_reports_stale_numbers_and_settings(tmp_path):
    record = copy.deepcopy(RECORD)
    record["figures"]["tornado"]["data"]["base"] += 0.5
    record["figures"]["run"]["settings"] = {**record["figures"]["run"]["settings"], "draws": 7}
    path = tmp_path / "figures.json"
    path.write_text(MDF.dumps(record), encoding="utf-8")
    problems = MDF.check(["tornado", "run"], path)
    assert any(p.startswith("tornado: the numbers changed") for p in problems)
    assert any(p.startswith("run: made with") for p in problems)
    assert MDF.check(["tornado"], RECORD_PATH) == []


def test_rounding_and_json_format():
    assert MDF.rnd(float("inf")) == "inf" and MDF.rnd(float("nan")) is None and MDF.rnd(-1e-9) == 0.0
    assert MDF.rnd(1234.5678, 0) == 1235.0 and MDF.rnd(0.12345) == 0.123
    assert json.loads(MDF.dumps(RECORD)) == RECORD
