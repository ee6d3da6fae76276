"""Regenerate every figure in docs/img that comes from the model, and the numbers behind each.

Usage (from the repository root)::

    python scripts/make_docs_figures.py                    # every figure, and docs/img/figures.json
    python scripts/make_docs_figures.py headline tornado   # only these (their figures.json entries)
    python scripts/make_docs_figures.py --check            # recompute the numbers; exit 1 if any is stale
    python scripts/make_docs_figures.py --tables           # also the model tables of docs/model.md
    python scripts/make_docs_figures.py --list             # the figures, their files and settings

Each figure is one entry of :data:`FIGURES`: its file in ``docs/img``, the
settings it is made with (restriction lengths, draws, seed, ...), a function
that runs the model and one that draws the figure. ``docs/img/figures.json``
records, per figure, the settings, the key numbers the figure shows
(rounded) and the SHA-256 of the PNG; ``tests/test_docs_figures.py``
recomputes the numbers with the recorded settings and fails when they, or
the PNG, no longer match: rerun this script after any model or calibration
change and commit the PNGs with figures.json.

Every run uses the bundled default scenario (``simulator.load_scenario()``)
and its 90 % band (5-95 % of ``draws`` posterior draws, ``seed`` fixed), so
the numbers are reproducible to the last digit on the same code.

Not made here: ``docs/img/scaling.png`` (a benchmark: ``python
benchmarks/plot_scaling.py``) and the screenshots ``report.png`` and
``explore.png`` (``python scripts/screenshots.py``: they need Chromium).
``--tables`` runs ``scripts/policy_table.py --write`` (the policy tables of
docs/model.md); the calibration tables of docs/validation.md are printed by
``scripts/posterior_tables.py`` and pasted by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
DATA = IMG / "figures.json"
DPI = 130
SCRIPT = "scripts/make_docs_figures.py"

#: Restriction lengths of the headline chart (months) and the national stockpiles of its lines:
#: none, the default assumption, the official 60-day target, the "180 days" option (domain facts 3.1-3.4).
DURATIONS_MONTHS = [0, 1, 2, 3, 4, 6, 9, 12, 18, 24]
STOCKPILE_DAYS = [0, 30, 60, 180]
DRAWS = 200
SEED = 0


# --------------------------------------------------------------------------
# Rounding for figures.json
# --------------------------------------------------------------------------

def rnd(x, decimals: int = 3):
    """A number for figures.json: rounded; inf as "inf", NaN/None as None."""
    if x is None:
        return None
    if isinstance(x, str):
        return x
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    v = round(x, decimals)
    return 0.0 if v == 0 else v


def _key(v) -> str:
    return f"{float(v):g}"


# --------------------------------------------------------------------------
# The model runs (memoised: two figures may share one computation)
# --------------------------------------------------------------------------

_MEMO: dict = {}


def _memo(name: str, settings: dict, make: Callable):
    key = (name, json.dumps(settings, sort_keys=True))
    if key not in _MEMO:
        _MEMO[key] = make()
    return _MEMO[key]


def _scenario():
    import simulator

    return simulator.load_scenario()


def compute_headline(s: dict):
    import simulator

    return _memo("headline", s, lambda: simulator.sweep(
        _scenario(), {"restriction.duration_months": s["durations_months"],
                      "stockpile.national.cover_days": s["stockpile_days"]}, draws=s["draws"], seed=s["seed"]))


def data_headline(df, s: dict) -> dict:
    out = {}
    for col in ("gdp_loss_pct", "gdp_loss_pct_p05", "gdp_loss_pct_p95"):
        out[col] = {}
        for days in s["stockpile_days"]:
            g = df[df["stockpile.national.cover_days"] == days].sort_values("restriction.duration_months")
            out[col][_key(days)] = [rnd(v) for v in g[col]]
    out["durations_months"] = list(s["durations_months"])
    return out


def draw_headline(df, s: dict):
    from simulator.plots import plot_headline
    from simulator.plots.style import date_label

    sc = _scenario()
    return plot_headline(df, note=(
        f"Cumulative loss over a {sc.horizon_months}-month horizon (month 0 = {date_label(sc.start_date)}); "
        f"restriction from month "
        f"{sc.restriction.start_month:g}; everything else as the default scenario. Shaded: 5-95 % of "
        f"{s['draws']} posterior draws per point. Made with resim ({SCRIPT})."))


def compute_run(s: dict):
    import simulator

    return _memo("run", s, lambda: simulator.run(_scenario(), draws=s["draws"], seed=s["seed"]))


def data_run(r, s: dict) -> dict:
    sm = r.summary
    em = r.economy_monthly
    out = {k: rnd(sm[k]) for k in ("gdp_loss_pct", "gdp_loss_pct_p05", "gdp_loss_pct_p95")}
    out.update({k: rnd(sm[k], 0) for k in ("gdp_loss_jpy_bn", "gdp_loss_jpy_bn_p05", "gdp_loss_jpy_bn_p95",
                                           "peak_monthly_gdp_loss_jpy_bn")})
    out["peak_date"] = sm["peak_date"]
    out["first_shortage_date"] = sm["first_shortage_date"]
    out["peak_cumulative_gdp_loss_pct"] = rnd(em["cumulative_gdp_loss_pct"].max())
    out["peak_shortage_share"] = {m: rnd(sm[f"{m}_peak_shortage_share"]) for m in r.scenario.materials}
    return out


def draw_run(r, s: dict):
    from simulator.plots import plot_run

    return plot_run(r)


def compute_compare(s: dict):
    import simulator

    def make():
        sc = _scenario()
        return [(f"{d:g} months", simulator.run(sc.with_overrides({"restriction.duration_months": d}),
                                                keep_sector_paths=False, draws=s["draws"], seed=s["seed"]))
                for d in s["durations_months"]]
    return _memo("compare", s, make)


def data_compare(results, s: dict) -> dict:
    out = {}
    for label, r in results:
        sm = r.summary
        out[label] = {**{k: rnd(sm[k]) for k in ("gdp_loss_pct", "gdp_loss_pct_p05", "gdp_loss_pct_p95")},
                      "peak_monthly_gdp_loss_jpy_bn": rnd(sm["peak_monthly_gdp_loss_jpy_bn"], 0),
                      "peak_date": sm["peak_date"]}
    return out


def draw_compare(results, s: dict):
    from simulator.analysis.sweep import compare_monthly
    from simulator.plots import plot_compare

    lengths = ", ".join(f"{d:g}" for d in s["durations_months"])
    return plot_compare(compare_monthly(results), by="restriction.duration_months",
                        title=f"Restrictions of {lengths} months compared")


def compute_stockpile(s: dict):
    from simulator.analysis.policy import optimize_stockpile

    return _memo("stockpile", s, lambda: optimize_stockpile(
        _scenario(), max_gdp_loss_pct=s["max_gdp_loss_pct"],
        over={"restriction.duration_months": s["durations_months"]},
        max_days=s["max_days"], return_curve=True, draws=s["draws"], seed=s["seed"]))


def data_stockpile_curve(state, s: dict) -> dict:
    answers, curve = state
    out = {}
    for r in answers.to_dict(orient="records"):
        out[_key(r["restriction.duration_months"])] = {
            "status": r["status"],
            "stockpile_days": rnd(r["stockpile_days"], 1),
            **{k: rnd(r[k], 0) for k in ("stockpile_days_p05", "stockpile_days_p50", "stockpile_days_p95")},
            "share_of_draws_unreachable": rnd(r["share_of_draws_unreachable"]),
            "gdp_loss_pct_no_stockpile": rnd(r["gdp_loss_pct_no_stockpile"]),
            "gdp_loss_pct_floor": rnd(r["gdp_loss_pct_floor"]),
        }
    for d in s["durations_months"]:
        g = curve[curve["restriction.duration_months"] == d]
        out[_key(d)]["band_at_no_stockpile"] = [rnd(g["gdp_loss_pct_p05"].iloc[0]), rnd(g["gdp_loss_pct_p95"].iloc[0])]
    return out


def draw_stockpile_curve(state, s: dict):
    from simulator.plots import plot_stockpile_curve

    answers, curve = state
    return plot_stockpile_curve(curve, answers)


def data_cost_benefit(state, s: dict) -> dict:
    answers, curve = state
    out = {}
    for d in s["durations_months"]:
        g = curve[curve["restriction.duration_months"] == d]
        a = answers[answers["restriction.duration_months"] == d].iloc[0]
        out[_key(d)] = {
            "max_gdp_loss_avoided_jpy_bn": rnd(g["gdp_loss_avoided_jpy_bn"].max(), 0),
            "breakeven_pct_per_year_at_max_days": rnd(100 * g["breakeven_probability_per_year"].iloc[-1]),
            "at_answer": {"holding_cost_jpy_bn_per_year": rnd(a["holding_cost_jpy_bn_per_year"], 2),
                          "gdp_loss_avoided_jpy_bn": rnd(a["gdp_loss_avoided_jpy_bn"], 0),
                          "breakeven_pct_per_year": rnd(100 * a["breakeven_probability_per_year"])},
        }
    out["holding_cost_jpy_bn_per_year_at_max_days"] = rnd(curve["holding_cost_jpy_bn_per_year"].iloc[-1], 2)
    return out


def draw_cost_benefit(state, s: dict):
    from simulator.plots import plot_cost_benefit

    return plot_cost_benefit(state[1])


def compute_tornado(s: dict):
    from simulator.analysis.sensitivity import sensitivity

    return _memo("tornado", s, lambda: sensitivity(_scenario(), metric=s["metric"]))


def data_tornado(sens, s: dict) -> dict:
    m = sens.metric
    return {"base": rnd(sens.base_value),
            "factors": {row["factor"]: [rnd(row[f"{m}_at_low"]), rnd(row[f"{m}_at_high"])]
                        for row in sens.table.to_dict(orient="records")}}


def draw_tornado(sens, s: dict):
    from simulator.plots import plot_tornado

    return plot_tornado(sens)


# --------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """One figure of the docs: its PNG, settings, model run, key numbers and drawing."""

    file: str
    used_in: tuple
    settings: dict = field(hash=False)
    compute: Callable = field(hash=False)
    data: Callable = field(hash=False)
    draw: Callable = field(hash=False)

    def numbers(self, settings: dict | None = None) -> dict:
        s = self.settings if settings is None else settings
        return self.data(self.compute(s), s)


_STOCK = {"max_gdp_loss_pct": 0.1, "durations_months": [3, 6, 12], "max_days": 730.0, "draws": DRAWS, "seed": SEED}

FIGURES: dict[str, Figure] = {
    "headline": Figure("headline.png", ("README.md",),
                       {"durations_months": DURATIONS_MONTHS, "stockpile_days": STOCKPILE_DAYS, "draws": DRAWS,
                        "seed": SEED},
                       compute_headline, data_headline, draw_headline),
    "tornado": Figure("tornado.png", ("README.md", "docs/validation.md"), {"metric": "gdp_loss_pct"},
                      compute_tornado, data_tornado, draw_tornado),
    "run": Figure("run.png", ("resim run --plot",), {"draws": DRAWS, "seed": SEED},
                  compute_run, data_run, draw_run),
    "compare": Figure("compare.png", ("resim compare",), {"durations_months": [3, 6, 12, 24], "draws": DRAWS,
                                                          "seed": SEED},
                      compute_compare, data_compare, draw_compare),
    "stockpile_curve": Figure("stockpile_curve.png", ("docs/model.md (resim optimize)",), _STOCK,
                              compute_stockpile, data_stockpile_curve, draw_stockpile_curve),
    "cost_benefit": Figure("cost_benefit.png", ("docs/model.md (resim optimize)",), _STOCK,
                           compute_stockpile, data_cost_benefit, draw_cost_benefit),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dumps(record: dict) -> str:
    """JSON with one line per list of numbers or strings (short diffs when a number changes)."""
    import re

    text = json.dumps(record, indent=1, ensure_ascii=False)
    scalar = r'(?:-?\d[\d.eE+-]*|null|true|false|"[^"\n]*")'
    flat = re.compile(r"\[\s*(" + scalar + r"(?:,\s*" + scalar + r")*)\s*\]")
    return flat.sub(lambda m: "[" + ", ".join(p.strip() for p in m.group(1).split(",\n")) + "]", text) + "\n"


def load_record(path: Path = DATA) -> dict:
    if not path.exists():
        return {"figures": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def make(names: list[str], out_dir: Path = IMG, data_path: Path | None = None) -> list[Path]:
    """Draw the named figures into ``out_dir`` and update their entries of figures.json."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulator import __version__

    data_path = data_path or out_dir / "figures.json"
    record = load_record(data_path)
    record["about"] = (f"Written by {SCRIPT}: per figure of docs/img, the settings it is made with, the key numbers it "
                       "shows (rounded; \"inf\": beyond the largest value searched) and the SHA-256 of the PNG. "
                       "tests/test_docs_figures.py recomputes the numbers.")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        fig_spec = FIGURES[name]
        state = fig_spec.compute(fig_spec.settings)
        fig = fig_spec.draw(state, fig_spec.settings)
        path = out_dir / fig_spec.file
        tmp = path.with_name(f".{path.stem}.partial.png")
        fig.savefig(tmp, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        tmp.replace(path)
        record.setdefault("figures", {})[name] = {
            "file": f"docs/img/{fig_spec.file}",
            "used_in": list(fig_spec.used_in),
            "settings": fig_spec.settings,
            "data": fig_spec.data(state, fig_spec.settings),
            "png_sha256": sha256(path),
            "resim_version": __version__,
        }
        written.append(path)
        print(f"wrote {path}")
    record["figures"] = {k: record["figures"][k] for k in FIGURES if k in record["figures"]}
    data_path.write_text(dumps(record), encoding="utf-8")
    print(f"wrote {data_path}")
    return written


def check(names: list[str], data_path: Path = DATA) -> list[str]:
    """Stale figures: recorded settings or numbers that no longer match, or a PNG that is not the recorded one."""
    record = load_record(data_path).get("figures", {})
    problems = []
    for name in names:
        spec = FIGURES[name]
        entry = record.get(name)
        if entry is None:
            problems.append(f"{name}: not in {data_path.name}")
            continue
        if entry["settings"] != json.loads(json.dumps(spec.settings)):
            problems.append(f"{name}: made with {entry['settings']}, the script now says {spec.settings}")
        png = ROOT / entry["file"]
        if not png.exists() or sha256(png) != entry["png_sha256"]:
            problems.append(f"{name}: {entry['file']} is not the PNG recorded in {data_path.name}")
        now = json.loads(json.dumps(spec.numbers(entry["settings"])))
        if now != entry["data"]:
            problems.append(f"{name}: the numbers changed; rerun {SCRIPT}")
    return problems


def tables() -> None:
    """The model tables of docs/model.md (scripts/policy_table.py --write)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import policy_table

    policy_table.main(["--write"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"figures to make (default all: {', '.join(FIGURES)})")
    parser.add_argument("--out", type=Path, default=IMG, help="directory for the PNGs and figures.json")
    parser.add_argument("--check", action="store_true", help="recompute the numbers; exit 1 if any figure is stale")
    parser.add_argument("--tables", action="store_true", help="also rewrite the policy tables of docs/model.md")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    args = parser.parse_args(argv)
    names = args.names or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        parser.error(f"unknown figures {unknown}; known: {', '.join(FIGURES)}")
    if args.list:
        for n in names:
            f = FIGURES[n]
            print(f"{n:16} docs/img/{f.file:22} used in {', '.join(f.used_in)}; {json.dumps(f.settings)}")
        return 0
    if args.check:
        problems = check(names, args.out / "figures.json")
        for p in problems:
            print(p)
        print("stale" if problems else "up to date")
        return 1 if problems else 0
    make(names, args.out)
    if args.tables:
        tables()
    return 0


if __name__ == "__main__":
    sys.exit(main())
