"""Charts of stockpile sizing and cost-benefit (:mod:`simulator.analysis.policy`).

:func:`plot_stockpile_curve` draws the loss against the stockpile with its
5-95 % band (``gdp_loss_pct_p05``/``_p95`` of a curve from
``optimize_stockpile(..., draws=N)`` or ``stockpile_curve(..., draws=N)``),
the cap, each case's answer with the band of the days needed, and marks the
cases whose cap no stockpile up to ``max_days`` meets. :func:`plot_cost_benefit`
puts one quantity on each axis: loss avoided per restriction (JPY bn),
holding cost (JPY bn per year) and the break-even yearly chance (% per year),
all on linear scales.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulator.io.text import literal
from simulator.plots.style import (
    BAND_ALPHA,
    CAP_COLOR,
    CENTRAL_COLOR,
    MAX_LEGEND_LINES,
    STYLE,
    colorbar,
    is_ordered,
    label_for,
    line_colors,
    material_name,
)

MAX_LABEL = 80


def _case_keys(curve: pd.DataFrame) -> list[str]:
    """Return the ``over`` keys of a curve or answers frame: the columns before ``case``."""
    cols = list(curve.columns)
    return cols[: cols.index("case")] if "case" in cols else []


def _cases(curve: pd.DataFrame):
    """Return the cases as (case, label, value or None), the legend title, and whether values are ordered."""
    keys = _case_keys(curve)
    firsts = curve.drop_duplicates("case")
    if len(keys) == 1:
        vals = list(firsts[keys[0]])
        if is_ordered(vals):
            rows = [(c, f"{v:g}", v) for c, v in zip(firsts["case"], vals, strict=True)]
            return rows, label_for(keys[0]), True
        rows = [(c, literal(v, MAX_LABEL), None) for c, v in zip(firsts["case"], vals, strict=True)]
        return rows, label_for(keys[0]), False
    if keys:
        from simulator.plots.style import noun

        out = [(r["case"], ", ".join(f"{noun(k)} = {r[k]:g}" if isinstance(r[k], (int, float)) else
                                     f"{noun(k)} = {literal(r[k], MAX_LABEL)}" for k in keys), None)
               for _, r in firsts.iterrows()]
        return out, "Case", False
    return [(c, literal(c, MAX_LABEL), None) for c in firsts["case"]], None, False


def _materials_words(curve: pd.DataFrame) -> str:
    if "materials" not in curve.columns or not len(curve):
        return ""
    mats = [m for m in str(curve["materials"].iloc[0]).split(",") if m]
    return ", ".join(literal(material_name(m), MAX_LABEL) for m in mats)


def _days_axis_label(curve: pd.DataFrame) -> str:
    mats = _materials_words(curve)
    return f"National stockpile (days of baseline demand{' of ' + mats if mats else ''})"


def plot_stockpile_curve(curve: pd.DataFrame, answers: pd.DataFrame | None = None,
                         max_gdp_loss_pct: float | None = None, title: str | None = None):
    """GDP loss against national stockpile size, one line per case, with its band.

    Parameters
    ----------
    curve : DataFrame from :func:`~simulator.analysis.policy.stockpile_curve`
        With ``gdp_loss_pct_p05``/``_p95`` (``draws``), each case's 5-95 % band is shaded.
    answers : DataFrame from :func:`~simulator.analysis.policy.optimize_stockpile`, optional
        Adds a strip under the curve: per case, the required stockpile (a
        dot), its 5-95 % band (``stockpile_days_p05``/``_p95``; an arrow when
        the upper end lies beyond the largest stockpile searched), or "cap
        not reachable" (a cross) when no stockpile up to ``max_days`` meets
        the cap; those cases are also marked in the legend and with a cross
        at the end of their curve.
    max_gdp_loss_pct : float, optional
        Draws the cap (taken from ``answers`` when omitted).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    cases, legend_title, ordered = _cases(curve)
    values = [v for _, _, v in cases] if ordered else list(range(len(cases)))
    colors_list, mappable = line_colors(values, ordered)
    colors = {c: col for (c, _, _), col in zip(cases, colors_list, strict=False)}
    names = {c: lab for c, lab, _ in cases}
    many = ordered and len(cases) > MAX_LEGEND_LINES
    banded = {"gdp_loss_pct_p05", "gdp_loss_pct_p95"} <= set(curve.columns)
    max_days = float(curve["stockpile_days"].max())
    rows = [] if answers is None else answers.to_dict(orient="records")
    status = {r["case"]: r["status"] for r in rows}
    with plt.rc_context(STYLE):
        if rows:
            fig, (ax, sx) = plt.subplots(2, 1, figsize=(9.5, 6.2 + 0.32 * len(rows)), sharex=True,
                                         constrained_layout=True,
                                         gridspec_kw={"height_ratios": [4.2, 0.9 + 0.32 * len(rows)]})
        else:
            fig, ax = plt.subplots(figsize=(9.5, 5.6), constrained_layout=True)
            sx = None
        for case, lab, _ in cases:
            g = curve[curve["case"] == case]
            c = colors[case]
            if banded:
                ax.fill_between(g["stockpile_days"], g["gdp_loss_pct_p05"], g["gdp_loss_pct_p95"], color=c,
                                alpha=BAND_ALPHA, lw=0)
                if len(cases) <= 4:
                    for edge in ("gdp_loss_pct_p05", "gdp_loss_pct_p95"):
                        ax.plot(g["stockpile_days"], g[edge], color=c, lw=0.8, ls=(0, (2, 2)), alpha=0.8)
            if status.get(case) == "cap not reachable":
                lab = f"{lab} (cap not reachable)"
            ax.plot(g["stockpile_days"], g["gdp_loss_pct"], color=c, lw=2.2, label=lab)
        if max_gdp_loss_pct is None and rows:
            max_gdp_loss_pct = float(rows[0]["max_gdp_loss_pct"])
        if max_gdp_loss_pct is not None:
            ax.axhline(max_gdp_loss_pct, color=CAP_COLOR, ls="--", lw=1.2,
                       label=f"cap: {max_gdp_loss_pct:g} % of annual GDP")
        for row in rows:
            c = colors.get(row["case"], CENTRAL_COLOR)
            if row["status"] == "cap not reachable" or not math.isfinite(row["stockpile_days"]):
                ax.plot([max_days], [row.get("gdp_loss_pct_floor", float("nan"))], marker="X", ms=12, color=c,
                        mec="black", mew=0.8, zorder=5, clip_on=False)
            else:
                ax.plot([row["stockpile_days"]], [row["gdp_loss_pct"]], "o", ms=8, color=c, mec="black",
                        mew=0.8, zorder=5)
        ax.set_ylabel(label_for("gdp_loss_pct"))
        ax.set_xlim(0, max_days * 1.02)
        ax.set_ylim(bottom=0)
        handles, labs = ax.get_legend_handles_labels()
        if banded:
            handles.append(Patch(facecolor="0.45", alpha=2 * BAND_ALPHA, edgecolor="0.45", ls=(0, (2, 2)),
                                 lw=0.8))
            labs.append("90 % band (5-95 % of draws)")
        if rows:
            handles.append(Line2D([], [], marker="o", ls="none", color="0.5", mec="black", ms=7))
            labs.append("smallest stockpile meeting the cap")
        if any(status.get(c) == "cap not reachable" for c in status):
            handles.append(Line2D([], [], marker="X", ls="none", color="0.5", mec="black", ms=9))
            labs.append(f"cap not met even at {max_days:.0f} days")
        if many:
            colorbar(fig, mappable, [ax] + ([sx] if sx is not None else []), legend_title, values)
            keep = [i for i, lb in enumerate(labs) if not any(lb.startswith(n) for n in names.values())]
            handles, labs = [handles[i] for i in keep], [labs[i] for i in keep]
        ax.legend(handles, labs, title=None if many else legend_title, frameon=False, loc="upper right",
                  alignment="left")
        ax.set_title(title or "GDP loss against the size of the national stockpile")
        if sx is None:
            ax.set_xlabel(_days_axis_label(curve))
            return fig
        _needed_strip(sx, rows, colors, names, max_days, legend_title)
        sx.set_xlabel(_days_axis_label(curve))
    return fig


def _needed_strip(sx, rows, colors, names, max_days: float, legend_title) -> None:
    """Per case: the stockpile needed (dot), its 90 % band (bar; arrow past max_days), or 'not reachable'."""
    n = len(rows)
    has_band = all("stockpile_days_p05" in r for r in rows)
    for i, row in enumerate(rows):
        y = n - 1 - i
        c = colors.get(row["case"], CENTRAL_COLOR)
        days = row["stockpile_days"]
        reachable = row["status"] != "cap not reachable" and math.isfinite(days)
        lo = row.get("stockpile_days_p05", float("nan")) if has_band else float("nan")
        hi = row.get("stockpile_days_p95", float("nan")) if has_band else float("nan")
        if math.isfinite(lo):
            top = hi if math.isfinite(hi) else max_days
            sx.plot([lo, top], [y, y], color=c, lw=5, alpha=0.55, solid_capstyle="butt")
            if not math.isfinite(hi):
                sx.annotate("", xy=(max_days * 1.02, y), xytext=(top - 1e-9, y),
                            arrowprops={"arrowstyle": "-|>", "color": c, "lw": 1.5, "shrinkA": 0,
                                        "shrinkB": 0})
        if reachable:
            sx.plot([days], [y], "o", ms=8, color=c, mec="black", mew=0.8, zorder=5)
            text = "none needed" if row["status"] == "no stockpile needed" else f"{days:.0f} days"
            if math.isfinite(lo):
                text += f"  (90 %: {lo:.0f}-{hi:.0f})" if math.isfinite(hi) else \
                    f"  (90 %: {lo:.0f} to more than {max_days:.0f})"
            x_text, ha = (days + 0.005 * max_days, "left") if days < 0.55 * max_days else (days, "right")
            sx.text(x_text, y + 0.18, text, ha=ha, va="bottom", fontsize=9, color="0.1")
        else:
            sx.plot([max_days], [y], marker="X", ms=11, color=c, mec="black", mew=0.8, zorder=5,
                    clip_on=False)
            floor = row.get("gdp_loss_pct_floor", float("nan"))
            band = f"; 90 %: {lo:.0f} to more than {max_days:.0f}" if math.isfinite(lo) else ""
            sx.text(max_days - 0.015 * max_days, y + 0.18,
                    f"cap not reachable: more than {max_days:.0f} days{band} (loss at {max_days:.0f} days: "
                    f"{floor:.2f} %)",
                    ha="right", va="bottom", fontsize=9, color="0.1", fontweight="bold")
    sx.set_yticks(range(n))
    sx.set_yticklabels([names.get(r["case"], literal(r["case"], MAX_LABEL)) for r in rows][::-1])
    sx.set_ylim(-0.6, n - 0.1)
    sx.set_ylabel(legend_title or "Case", fontsize=9)
    sx.grid(axis="y", alpha=0)
    sx.set_title("Stockpile needed to stay under the cap" + (" (bar: 90 % band)" if has_band else ""),
                 fontsize=10.5, loc="left")


def _case_text(row: dict) -> str:
    case = str(row.get("case", ""))
    key = "restriction.duration_months="
    if case.startswith(key) and "," not in case:
        return f"{case[len(key):]}-month restriction"
    return literal(case, MAX_LABEL)


def plot_cost_benefit(curve: pd.DataFrame, title: str | None = None):
    """Loss avoided, holding cost and the break-even chance against stockpile size.

    Three panels, one quantity each, linear axes: GDP loss avoided per
    restriction (JPY bn, one line per case), holding cost (JPY bn per year)
    and the break-even yearly chance of the restriction (% per year: above
    it, holding the stock pays). Bands are shaded where the curve has
    ``<column>_p05``/``_p95`` columns.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    cases, legend_title, ordered = _cases(curve)
    values = [v for _, _, v in cases] if ordered else list(range(len(cases)))
    colors_list, mappable = line_colors(values, ordered)
    colors = {c: col for (c, _, _), col in zip(cases, colors_list, strict=False)}
    many = ordered and len(cases) > MAX_LEGEND_LINES
    with plt.rc_context(STYLE):
        fig, (ax, cx, bx) = plt.subplots(1, 3, figsize=(14, 4.9), sharex=True, constrained_layout=True)

        def line(axis, g, col, scale, color, label):
            x = g["stockpile_days"].to_numpy()
            y = scale * g[col].to_numpy(dtype=float)
            if {f"{col}_p05", f"{col}_p95"} <= set(g.columns):
                axis.fill_between(x, scale * g[f"{col}_p05"], scale * g[f"{col}_p95"], color=color,
                                  alpha=BAND_ALPHA, lw=0)
            axis.plot(x, y, color=color, lw=2, label=label)

        for case, lab, _ in cases:
            g = curve[curve["case"] == case]
            line(ax, g, "gdp_loss_avoided_jpy_bn", 1.0, colors[case], lab)
            line(bx, g, "breakeven_probability_per_year", 100.0, colors[case], lab)
        cost = curve.pivot_table(index="stockpile_days", columns="case",
                                 values="holding_cost_jpy_bn_per_year", sort=False)
        if np.allclose(cost.to_numpy(), cost.iloc[:, :1].to_numpy(), rtol=1e-9, equal_nan=True):
            g = curve[curve["case"] == cases[0][0]]
            line(cx, g, "holding_cost_jpy_bn_per_year", 1.0, CENTRAL_COLOR, "every case")
        else:
            for case, lab, _ in cases:
                line(cx, curve[curve["case"] == case], "holding_cost_jpy_bn_per_year", 1.0, colors[case], lab)
        ax.set_ylabel("GDP loss avoided per restriction (JPY bn)")
        ax.set_title("Benefit: loss avoided")
        cx.set_ylabel("Holding cost (JPY bn per year)")
        cx.set_title("Cost: holding the stock")
        bx.set_ylabel("Break-even chance of the restriction (% per year)")
        bx.set_title("Worth it if the restriction is likelier than")
        for a in (ax, cx, bx):
            a.set_xlabel("National stockpile (days of baseline demand)")
            a.set_ylim(bottom=0)
            a.set_xlim(left=0)
        if many:
            colorbar(fig, mappable, [ax, cx, bx], legend_title, values)
        elif len(cases) > 1:
            bx.legend(title=legend_title, frameon=False, loc="upper left", alignment="left")
        mats = _materials_words(curve)
        fig.suptitle(title or ("Cost and benefit of a national stockpile" + (f" of {mats}" if mats else "")))
        banded = any(f"{c}_p05" in curve.columns
                     for c in ("gdp_loss_avoided_jpy_bn", "breakeven_probability_per_year"))
        fig.text(0.005, -0.01, "Break-even chance = holding cost per year / loss avoided: the yearly chance "
                 "of such a restriction above which holding the stock pays. "
                 + ("Shaded: 90 % bands." if banded else "Central estimates (the curve carries no band "
                    "of the loss avoided)."),
                 fontsize=8.5, color="0.35", ha="left", va="top")
    return fig
