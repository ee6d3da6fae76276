"""Build the one-file HTML briefing (``resim report``).

:func:`build_report` runs the scenario(s), their bands (:func:`band_of`),
the levers and the historical cases, and renders ``templates/report.html.j2``
with Jinja2 (autoescaped: scenario names and descriptions are user text).
Figures are inline SVG, the CSS is inline, and nothing refers to the
network, so the file opens offline and prints to A4.
:func:`write_report` writes it atomically and refuses to overwrite.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from simulator.errors import ResimError
from simulator.report.band import Band, Interval, band_of, paired_change
from simulator.report.figures import comparison_figure, sectors_figure, timeline_figure, to_svg
from simulator.report.format import (
    fmt_interval,
    fmt_month_interval,
    fmt_number,
    key_words,
    material_name,
    month_label,
    weeks_after,
)

#: Keys that are labels, not assumptions.
_LABEL_KEYS = ("name", "description")


@dataclass
class Case:
    """One scenario of a report: its label, the scenario and its band."""

    label: str
    scenario: Any
    band: Band


# --------------------------------------------------------------------------
# Plain words
# --------------------------------------------------------------------------

def restriction_words(sc) -> str:
    """'all Chinese shipments withheld for 12 months from Feb 2026'."""
    r = sc.restriction
    if r.duration_months <= 0:
        return "no restriction"
    sev = r.severity
    if isinstance(sev, list):
        share = f"{100 * min(sev):.0f}\u2013{100 * max(sev):.0f} % of Chinese shipments withheld (monthly profile)"
    elif sev >= 1.0:
        share = "all Chinese shipments withheld"
    else:
        share = f"{100 * sev:.0f} % of Chinese shipments withheld"
    months = f"{r.duration_months:g} month" + ("" if r.duration_months == 1 else "s")
    return f"{share} for {months} from {month_label(sc.start_date, r.start_month)}"


def shortage_sentences(band: Band, sc) -> list[str]:
    """One sentence per material, earliest shortage first."""
    rows = []
    for i, mid in enumerate(sc.materials):
        iv = band.metrics.get(f"{mid}_first_shortage_month", Interval(None, None, None))
        m = fmt_month_interval(iv, sc.start_date)
        name = material_name(mid, sc)
        plural = name.endswith("s")
        if iv.central is None:
            text = f"{name} {'do' if plural else 'does'} not run short"
            if m["all_none"]:
                text += " in any draw."
            else:
                lo = month_label(sc.start_date, iv.low)
                text += (f"; in {100 * (1 - iv.share_none):.0f} % of draws {'they do' if plural else 'it does'}, "
                         f"from {lo} at the earliest.")
            order = math.inf
        else:
            text = (f"{name} {'run' if plural else 'runs'} short from {m['central']}"
                    + (f" (5–95 % of draws: {m['band']})" if m["band"] else "") + ".")
            order = iv.central
        rows.append((order, i, text))
    return [t for _, _, t in sorted(rows)]


def headline(band: Band, sc) -> dict:
    """The headline of the report: the restriction in words, GDP loss, worst month and shortages, with bands."""
    m = band.metrics
    pct = fmt_interval(m["gdp_loss_pct"], " %")
    yen = fmt_interval(m["gdp_loss_jpy_bn"], " bn yen")
    peak = fmt_month_interval(m["peak_month"], sc.start_date, never="no loss")
    peak_loss = fmt_interval(m["peak_monthly_gdp_loss_jpy_bn"], " bn yen")
    return {
        "restriction": restriction_words(sc),
        "horizon": sc.horizon_months,
        "pct": pct,
        "yen": yen,
        "peak": peak,
        "peak_loss": peak_loss,
        "shortages": shortage_sentences(band, sc),
        "band_label": band.label,
    }


# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------

def lever_cases(sc) -> list[tuple[str, str, dict]]:
    """(lever, change in words, overrides) relative to the scenario's own settings."""
    nat = sc.stockpile.national
    out = []
    days = nat.cover_days
    bigger = 60.0 if days < 30 else min(2 * days, 3650.0)
    out.append(("Bigger national stockpile", f"{days:g} \u2192 {bigger:g} days of demand",
                {"stockpile.national.cover_days": bigger}))
    if nat.strategy != "immediate":
        out.append(("Release the stockpile at once", f"release rule {nat.strategy} \u2192 immediate",
                    {"stockpile.national.strategy": "immediate"}))
    cap = nat.max_release_share_per_month
    out.append(("Faster release", f"largest monthly release {cap:g} \u2192 {min(2 * cap, 10):g} months of demand",
                {"stockpile.national.max_release_share_per_month": min(2 * cap, 10.0)}))
    allied = sc.allies.stock_days
    more = 30.0 if allied == 0 else min(2 * allied, 3650.0)
    out.append(("Allied sharing", f"{allied:g} \u2192 {more:g} days of Japan's demand",
                {"allies.stock_days": more}))
    alloc = sc.economy.allocation
    other = "value_added" if alloc != "value_added" else "proportional"
    out.append(("Allocation rule", f"{alloc} \u2192 {other}", {"economy.allocation": other}))
    return out


def _lever_rows(sc, band: Band, n: int, seed: int, value_added_draws: int) -> list[dict]:
    rows: list[dict[str, Any]] = [{"lever": "As in this scenario", "change": "",
                                   "loss": fmt_interval(band.metrics["gdp_loss_pct"], " %"), "delta": None}]
    for lever, words, over in lever_cases(sc):
        try:
            other_sc = sc.with_overrides(over)
        except ResimError as exc:
            rows.append({"lever": lever, "change": words, "error": exc.message})
            continue
        # the value_added rule solves a linear program per month: fewer draws
        draws = value_added_draws if over.get("economy.allocation") == "value_added" else n
        ob = band_of(other_sc, n=draws, seed=seed, sector_draws=0)
        if draws == n:
            delta = paired_change(band, ob)
        else:
            before, after = band.metrics["gdp_loss_pct"].central, ob.metrics["gdp_loss_pct"].central
            assert before is not None and after is not None       # every run has a GDP loss
            delta = Interval(after - before, None, None)
        d = fmt_interval(delta, " pp", signed=True)
        rows.append({"lever": lever, "change": words, "loss": fmt_interval(ob.metrics["gdp_loss_pct"], " %"),
                     "delta": d, "draws": draws})
    return rows


def _find_bundled(name: str) -> Path | None:
    for path in (Path(str(resources.files("simulator") / "scenarios" / name)),
                 Path(__file__).resolve().parents[2] / "scenarios" / name):
        if path.is_file():
            return path
    return None


def published_rows(sc, band: Band, n: int, seed: int) -> list[dict]:
    """The published estimates beside the model's band."""
    from simulator.io.scenario import load_scenario

    rows = []
    # NRI: a one-year full restriction
    one_year = sc.with_overrides({"restriction.duration_months": 12.0, "restriction.severity": 1.0})
    same = (sc.restriction.duration_months == 12 and sc.restriction.severity == 1.0)
    b = band if same else band_of(one_year, n=n, seed=seed, sector_draws=0)
    rows.append({
        "case": "One-year full restriction",
        "published": "Nomura Research Institute: about 0.43 % of GDP (about 2.6 trn yen)",
        "model": f"{fmt_interval(b.metrics['gdp_loss_pct'], ' %')['text']}; "
                 f"{fmt_interval(b.metrics['gdp_loss_jpy_bn'], ' bn yen')['text']}",
        "model_case": "this scenario" + ("" if same else " with a 12-month full restriction"),
        "note": "Calibration target of the default scenario, so agreement there is by construction, "
                "not a test.",
        "refs": "1.2, 1.3",
    })
    cases = [
        ("validation-2010.toml", "2010 informal halt (Sep-Nov)",
         "No measurable output loss; no production stoppage reported in Japan",
         "Passes if the loss is at most 0.005 % of GDP (about one day of the car industry's value added).",
         "6.1, 6.3, 6.6", False),
        ("validation-2025.toml", "April 2025 licensing of heavy rare earths",
         "Some lines stopped 6-10 weeks after the controls began (Suzuki at 7.4 weeks, European suppliers "
         "from about 8.7 weeks); small reported damage",
         "Passes if the first stock-out falls 6-10 weeks after the start and the loss is under 0.03 % of GDP.",
         "5.1, 5.7, 5.8, 3.12, 5.10, 5.11", True),
    ]
    for fname, case, published, note, refs, weeks in cases:
        path = _find_bundled(fname)
        model_case = f"bundled {fname}"
        if path is None:
            model = f"not available: {fname} is not installed with this copy of resim"
            model_case = ""
        else:
            try:
                vsc = load_scenario(path)
                vb = band_of(vsc, n=n, seed=seed, sector_draws=0)
            except ResimError as exc:
                model = f"not available: {exc.one_line()}"
            else:
                model = f"GDP loss {fmt_interval(vb.metrics['gdp_loss_pct'], ' %')['text']}"
                if weeks:
                    start = vsc.restriction.start_month
                    fs = vb.metrics["first_shortage_month"]
                    wk = Interval(weeks_after(fs.central, start), weeks_after(fs.low, start),
                                  weeks_after(fs.high, start))
                    if wk.central is not None:
                        model += f"; first stock-out after {fmt_interval(wk, ' weeks')['text']}"
        rows.append({"case": case, "published": published, "model": model,
                     "model_case": model_case, "note": note, "refs": refs})
    rows.append({
        "case": "18 months of partial restriction (United States)",
        "published": "ECB: US output 0.3-0.6 % lower; about 2 % for a near-total ban",
        "model": "not modelled (another economy)",
        "model_case": "",
        "note": "Context for the order of magnitude, not a validation.",
        "refs": "1.12",
    })
    return rows


def assumption_rows(sc) -> list[dict]:
    """Every parameter that differs from the bundled default scenario."""
    from simulator.io.scenario import load_scenario

    default = load_scenario().flat()
    mine = sc.flat()
    rows = []
    for key in sorted(set(mine) | set(default)):
        if key in _LABEL_KEYS or key.endswith(".name"):
            continue
        a, b = mine.get(key), default.get(key)
        if a == b:
            continue
        rows.append({"key": key, "words": key_words(key, sc), "value": _value(a), "default": _value(b)})
    return rows


def _value(v) -> str:
    if v is None:
        return "(not set)"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def distribution_rows(band: Band, sc) -> list[dict]:
    """One row per parameter the band varies: posterior ranges, or the scenario's own distributions."""
    rows = []
    for key, d in band.distributions.items():
        if d["dist"] == "posterior":
            params = f"median {d['median']:.3g}, 5–95 % {d['low']:.3g}–{d['high']:.3g}"
        else:
            params = ", ".join(f"{k} {float(d[k]):.3g}" for k in ("low", "mode", "high", "mean", "sd") if k in d)
        rows.append({"key": key, "words": key_words(key, sc), "dist": d["dist"], "params": params})
    return rows


# --------------------------------------------------------------------------
# Build and write
# --------------------------------------------------------------------------

def build_report(scenarios: Sequence, durations: Sequence[float] | None = None, *, n: int = 200, seed: int = 0,
                 sector_draws: int = 40, overrides: dict | None = None, value_added_draws: int = 40) -> str:
    """The report as one HTML string.

    Parameters
    ----------
    scenarios : list of Scenario
        The first is the main scenario (headline, timeline, sectors, levers,
        assumptions); with several, all are compared.
    durations : list of float, optional
        Compare these restriction lengths of the first scenario.
    n, seed : int
        Draws of the calibrated parameters (and of the scenario's [uncertainty]) and seed of every band.
    sector_draws : int
        Draws re-run for the sector band.
    overrides : dict, optional
        The ``--set`` values (shown in the provenance).
    """
    from simulator.core.runner import run
    from simulator.io.outputs import provenance

    if not scenarios:
        raise ResimError("no scenario to report on", file="report")
    main = scenarios[0]
    result = run(main)
    band = band_of(main, result=result, n=n, seed=seed, sector_draws=sector_draws)

    cases: list[Case] = []
    by_duration = bool(durations)
    if durations:
        for d in durations:
            csc = main.with_overrides({"restriction.duration_months": float(d)})
            cases.append(Case(f"{d:g} months", csc, band_of(csc, n=n, seed=seed, sector_draws=0)))
    elif len(scenarios) > 1:
        seen: dict[str, int] = {}
        for i, csc in enumerate(scenarios):
            label = csc.name or (Path(csc.source_file).stem if csc.source_file else f"scenario {i + 1}")
            seen[label] = seen.get(label, 0) + 1
            if seen[label] > 1:
                label = f"{label} ({seen[label]})"
            cb = band if i == 0 else band_of(csc, n=n, seed=seed, sector_draws=0)
            cases.append(Case(label, csc, cb))

    comparison = None
    if cases:
        rows, fig_rows = [], []
        for c in cases:
            m = c.band.metrics
            first = fmt_month_interval(m["first_shortage_month"], c.scenario.start_date)
            rows.append({
                "label": c.label,
                "restriction": restriction_words(c.scenario),
                "pct": fmt_interval(m["gdp_loss_pct"], " %"),
                "yen": fmt_interval(m["gdp_loss_jpy_bn"], " bn yen"),
                "peak": fmt_month_interval(m["peak_month"], c.scenario.start_date, never="no loss"),
                "first": first,
            })
            iv = m["gdp_loss_pct"]
            fig_rows.append({"label": c.label, "months": c.scenario.restriction.duration_months,
                             "central": iv.central, "low": iv.low, "high": iv.high})
        comparison = {"rows": rows, "by_duration": by_duration,
                      "svg": _svg(comparison_figure(fig_rows, by_duration), "cmp")}

    prov = provenance(main)
    top = band.sectors[band.sectors["gdp_loss_jpy_bn"] > 0].head(10)
    sector_rows = []
    total = float(band.metrics["gdp_loss_jpy_bn"].central or 0.0)
    for r in top.itertuples(index=False):
        iv = Interval(r.gdp_loss_jpy_bn, None if math.isnan(r.gdp_loss_jpy_bn_p05) else r.gdp_loss_jpy_bn_p05,
                      None if math.isnan(r.gdp_loss_jpy_bn_p95) else r.gdp_loss_jpy_bn_p95)
        sector_rows.append({"name": r.name, "code": r.code, "loss": fmt_interval(iv, " bn yen"),
                            "share": f"{100 * r.gdp_loss_jpy_bn / total:.0f} %" if total > 0 else ""})

    context = {
        "title": "Rare-earth restriction: what it costs Japan",
        "scenario": main,
        "scenario_label": main.name or (Path(main.source_file).stem if main.source_file else "scenario"),
        "headline": headline(band, main),
        "band": band,
        "timeline_svg": _svg(timeline_figure(band, main), "tl"),
        "sectors_svg": _svg(sectors_figure(band), "sec") if len(top) else None,
        "sector_rows": sector_rows,
        "sector_draws": sector_draws,
        "comparison": comparison,
        "levers": _lever_rows(main, band, n, seed, value_added_draws),
        "published": published_rows(main, band, n, seed),
        "assumptions": assumption_rows(main),
        "distributions": distribution_rows(band, main),
        "held": band.held,
        "overrides": [{"key": k, "value": _value(v)} for k, v in (overrides or {}).items()],
        "provenance": prov,
        "data_files": sorted(prov["data_sha256"].items()),
        "table": main.economy.table,
        "version": prov["resim_version"],
        "scenario_file": Path(main.source_file).name if main.source_file else "(built in)",
        "others": [s for s in scenarios[1:]],
        "fmt_number": fmt_number,
    }
    return render(context)


def _svg(fig, salt: str) -> str:
    """Inline SVG with ids made unique to this figure within the page."""
    text = to_svg(fig, salt)
    text = re.sub(r'\bid="([^"]+)"', rf'id="{salt}-\1"', text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{salt}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{salt}-\1)", text)
    return text


def render(context: dict) -> str:
    """The report page: ``context`` rendered into the HTML template, with the stylesheet inline."""
    from jinja2 import Environment, PackageLoader, StrictUndefined
    from markupsafe import Markup

    env = Environment(loader=PackageLoader("simulator.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["svg"] = lambda s: Markup(s) if s else ""
    css = (resources.files("simulator.report") / "templates" / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html.j2").render(css=Markup(css), **context)


def check_out_file(out: Path, force: bool) -> Path:
    """Refuse to overwrite (unless forced), and need an existing directory; before any work."""
    out = Path(out)
    if out.is_dir():
        raise ResimError("is a directory; give a file name such as brief.html", file=str(out))
    if out.exists() and not force:
        raise ResimError("exists; use --force to overwrite", file=str(out))
    parent = out.resolve().parent
    if not parent.is_dir():
        raise ResimError(f"directory {parent} does not exist", file=str(out))
    return out


def write_report(out: Path, html: str, force: bool = False) -> Path:
    """Write atomically: a temporary file in the same directory, then into place.

    Without ``force`` an existing file is never replaced, even one that appears
    while the report is built; with it, a symbolic link at ``out`` is replaced
    itself (its target is never written). The file gets the usual permissions
    (0666 minus the umask).
    """
    from simulator.io.outputs import write_file

    out = check_out_file(out, force)
    return write_file(out, lambda fh: fh.write(html.encode("utf-8")), overwrite=force)
