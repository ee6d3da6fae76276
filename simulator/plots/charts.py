"""Figures of runs, sweeps, comparisons and Monte Carlo samples.

Colours, rc settings and axis words come from :mod:`simulator.plots.style`
(Okabe-Ito for unordered lines, a cut ``viridis`` for ordered ones, a colour
bar instead of a legend above :data:`~simulator.plots.style.MAX_LEGEND_LINES`
ordered lines). Every figure whose frame carries a band (``_p05``/``_p95``
columns or variables) shades it.

Text that comes from the user (scenario names, compared labels, swept
string values, sector names of a custom table) is drawn literally: through
:func:`simulator.io.text.literal`, which escapes ``$`` (no mathtext is
parsed, so ``$x^{$`` can neither fail nor render as a formula), shows
control characters as escapes and caps the length.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from simulator.io.text import literal
from simulator.plots.style import (
    BAND_ALPHA,
    CAP_COLOR,
    CENTRAL_COLOR,
    LABELS,
    LOSS_COLOR,
    LOSS_DARK,
    MAX_LEGEND_LINES,
    PALETTE,
    QUALITATIVE,
    RESTRICTION_ALPHA,
    RESTRICTION_SHADE,
    STYLE,
    colorbar,
    date_label,
    is_ordered,
    label_for,
    line_colors,
    material_color,
    material_name,
    noun,
    sentence,
    without_unit,
)

__all__ = ["plot_run", "plot_sweep", "plot_headline", "plot_paths", "plot_compare", "plot_sectors",
           "plot_fan", "plot_distribution", "plot_rank_correlations", "LABELS", "label_for"]

#: Longest user text in a title, a legend entry or a tick label, characters.
MAX_LABEL = 80
_STYLE = STYLE          # the rc settings (kept under the old name)


def _band_patch(label: str, color: str = "0.45") -> Patch:
    return Patch(facecolor=color, alpha=min(1.0, 2 * BAND_ALPHA), edgecolor=color, ls=(0, (2, 2)), lw=0.8,
                 label=label)


def _band_words(draws) -> str:
    return f"90 % band (5-95 % of {int(draws)} draws)" if draws else "90 % band (5-95 %)"


def plot_run(result, title: str | None = None):
    """Stocks, shortfall, monthly and cumulative GDP loss over time for one scenario.

    Four panels, one quantity each. With a band (the default run), the
    monthly GDP loss carries 5-95 % whiskers and the cumulative loss a
    shaded 5-95 % band.

    Parameters
    ----------
    result : simulator.core.results.Result

    Returns
    -------
    matplotlib.figure.Figure
    """
    mm = result.materials_monthly
    em = result.economy_monthly
    s = result.scenario
    sm = result.summary
    x = em["month"].to_numpy()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(4, 1, figsize=(9, 11.5), sharex=True, constrained_layout=True,
                                 gridspec_kw={"height_ratios": [1, 1, 1, 1]})
        for i, (mat, g) in enumerate(mm.groupby("material", sort=False)):
            base = g["demand_baseline_t"].to_numpy()
            cover = (g["corporate_stock_t"] + g["national_stock_t"]).to_numpy() / base
            c = material_color(mat, i)
            name = literal(material_name(mat, s), MAX_LABEL)
            axes[0].plot(g["month"], cover, color=c, lw=2, label=name)
            axes[1].plot(g["month"], 100 * g["shortage_share"], color=c, lw=2, label=name)
        start, dur = s.restriction.start_month, s.restriction.duration_months
        for ax in axes:
            if dur > 0:
                ax.axvspan(start, min(start + dur, s.horizon_months), color=RESTRICTION_SHADE,
                           alpha=RESTRICTION_ALPHA, lw=0)
        axes[0].set_ylabel("Stocks, corporate + national\n(months of baseline demand)")
        axes[0].set_ylim(bottom=0)
        handles, labels = axes[0].get_legend_handles_labels()
        if dur > 0:
            handles.append(Patch(color=RESTRICTION_SHADE, alpha=2 * RESTRICTION_ALPHA, lw=0))
            labels.append("restriction in force")
        axes[0].legend(handles, labels, title="Material", frameon=False, ncol=2, loc="upper right",
                       alignment="left")
        axes[1].set_ylabel("Shortfall\n(% of demand)")
        axes[1].set_ylim(bottom=0)
        ax = axes[2]
        ax.bar(x, em["gdp_loss_jpy_bn"].to_numpy(), color=LOSS_COLOR, alpha=0.8, label="central estimate")
        if "gdp_loss_jpy_bn_p05" in em.columns:
            lo, hi = em["gdp_loss_jpy_bn_p05"].to_numpy(), em["gdp_loss_jpy_bn_p95"].to_numpy()
            ax.vlines(x, np.minimum(lo, hi), np.maximum(lo, hi), color=LOSS_DARK, lw=1.2,
                      label="90 % band (5-95 % of draws)")
        ax.axhline(0, color=CAP_COLOR, lw=0.8)
        ax.set_ylabel("Monthly GDP loss, net\n(JPY bn per month)")
        ax.legend(frameon=False, loc="upper right", fontsize=9)
        ax.text(0.99, 0.03, "below zero: deferred orders made up", transform=ax.transAxes, ha="right",
                va="bottom", fontsize=8.5, color="0.35")
        ax = axes[3]
        if "cumulative_gdp_loss_pct_p05" in em.columns:
            ax.fill_between(x, em["cumulative_gdp_loss_pct_p05"], em["cumulative_gdp_loss_pct_p95"],
                            color=CENTRAL_COLOR, alpha=0.15, linewidth=0, label="90 % band (5-95 % of draws)")
        ax.plot(x, em["cumulative_gdp_loss_pct"], color=CENTRAL_COLOR, lw=2, label="central estimate")
        ax.axhline(0, color=CAP_COLOR, lw=0.8)
        ax.set_ylabel("Cumulative GDP loss\n(% of annual GDP)")
        ax.legend(frameon=False, loc="upper left", fontsize=9)
        _date_axis(ax, x, em["date"].tolist())
        ax.set_xlabel("Month")
        if title is None:
            from simulator.core.bands import format_band

            band = format_band(sm["gdp_loss_pct"], sm.get("gdp_loss_pct_p05"), sm.get("gdp_loss_pct_p95"),
                               "%")
            title = f"{sentence(literal(s.name or 'scenario', MAX_LABEL))}: GDP loss {band} of annual GDP"
        fig.suptitle(title)
    return fig


def _align_zeros(left, right) -> None:
    """Put zero at the same height on both y axes (monthly bars go negative while orders are made up)."""
    lo, hi = left.get_ylim()
    rlo, rhi = right.get_ylim()
    rhi = max(rhi, 1e-12)
    if lo < 0 < hi:
        frac = -lo / (hi - lo)                          # where zero sits on the left axis
        rlo_needed = -frac * rhi / (1 - frac)
        right.set_ylim(min(rlo, rlo_needed), rhi)
        rlo = right.get_ylim()[0]
        if rlo < rlo_needed:                            # the right axis goes lower: stretch the left instead
            rfrac = -rlo / (rhi - rlo)
            left.set_ylim(-rfrac * hi / (1 - rfrac), hi)


# --------------------------------------------------------------------------
# Sweeps, comparisons and Monte Carlo (frames from simulator.sweep)
# --------------------------------------------------------------------------

def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return f"{float(v):g}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.3g}"
    return literal(v, MAX_LABEL)


def _noun(name: str) -> str:
    return noun(name)


def _key_value(key: str, value) -> str:
    """'restriction.duration_months', 3 -> 'restriction length = 3'."""
    return f"{noun(key)} = {_fmt(value)}"


def _date_axis(ax, months, dates, every: int | None = None) -> None:
    """Month indices shown as 'Jan 2026' ticks (horizontal when they fit)."""
    months = np.asarray(months)
    every = every or (3 if len(months) <= 18 else 6 if len(months) <= 48 else 12)
    idx = list(range(0, len(months), every))
    ax.set_xticks(months[idx])
    fig = ax.get_figure()
    width_in = fig.get_figwidth() * ax.get_position().width
    flat = width_in / max(1, len(idx)) >= 0.85
    ax.set_xticklabels([date_label(dates[int(i)]) for i in idx], rotation=0 if flat else 35,
                       ha="center" if flat else "right", rotation_mode="anchor" if not flat else "default")


def _gdp_bn(df) -> float | None:
    """Annual GDP (JPY bn) implied by a frame's gdp_loss columns, if consistent."""
    if not {"gdp_loss_pct", "gdp_loss_jpy_bn"} <= set(df.columns):
        return None
    pct = df["gdp_loss_pct"].to_numpy(dtype=float)
    ok = pct > 1e-9
    if not ok.any():
        return None
    ratio = 100.0 * df["gdp_loss_jpy_bn"].to_numpy(dtype=float)[ok] / pct[ok]
    if np.ptp(ratio) > 1e-6 * ratio.mean():
        return None
    return float(ratio.mean())


_DASHES = ["-", "--", ":", "-."]


def plot_sweep(df, x: str, line: str | list | None = None, metric: str = "gdp_loss_pct",
               title: str | None = None, note: str | None = None):
    """Plot a metric against one swept key, one line per value of the others, with bands.

    When the frame has ``<metric>_p05`` and ``<metric>_p95`` (a sweep with
    ``draws``), each line's 5-95 % band is shaded in its colour. One ordered
    key with more than :data:`~simulator.plots.style.MAX_LEGEND_LINES` values
    gets a colour bar instead of a legend.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`simulator.analysis.sweep.sweep` (one row per combination).
    x : str
        The key on the x axis, e.g. ``"restriction.duration_months"``.
    line : str or list of str, optional
        Key(s) that make one line each; default: every other swept key
        (``df.attrs["keys"]``).
    metric : str
        Summary column, e.g. ``"gdp_loss_pct"`` (% of annual GDP).
    title, note : str, optional
        Title; a small caption under the plot.

    Returns
    -------
    matplotlib.figure.Figure
    """
    cols = set(df.columns)
    for c in [x, metric]:
        if c not in cols:
            raise ValueError(f"column {c!r} is not in the frame")
    if line is None:
        line = [k for k in df.attrs.get("keys", []) if k != x and k in cols]
    lines = [line] if isinstance(line, str) else list(line)
    lo_col, hi_col = f"{metric}_p05", f"{metric}_p95"
    banded = lo_col in cols and hi_col in cols
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8.5, 5.2), constrained_layout=True)
        groups = list(df.groupby(lines, sort=True)) if lines else [((), df)]
        firsts = [(vals if isinstance(vals, tuple) else (vals,)) for vals, _ in groups]
        ordered = len(lines) == 1 and is_ordered([v[0] for v in firsts])
        values = [v[0] for v in firsts] if ordered else list(range(len(groups)))
        colors, mappable = line_colors(values, ordered)
        many = ordered and len(groups) > MAX_LEGEND_LINES
        alpha = BAND_ALPHA if len(groups) <= 4 else max(0.04, BAND_ALPHA * 3 / len(groups))
        for i, ((_, g), vals, color) in enumerate(zip(groups, firsts, colors, strict=False)):
            g = g.sort_values(x)
            if len(lines) == 1:
                lab = _fmt(vals[0])
            else:
                lab = ", ".join(_key_value(k, v) for k, v in zip(lines, vals, strict=False)) or "all"
            if banded:
                ax.fill_between(g[x], g[lo_col], g[hi_col], color=color, alpha=alpha, lw=0)
                if len(groups) <= 4:                # edges, so a few overlapping bands stay readable
                    for edge in (lo_col, hi_col):
                        ax.plot(g[x], g[edge], color=color, lw=0.8, ls=(0, (2, 2)), alpha=0.8)
            ax.plot(g[x], g[metric], marker="o", ms=3.5 if many else 5, lw=1.6 if many else 2, color=color,
                    ls="-" if ordered else _DASHES[(i // len(QUALITATIVE)) % len(_DASHES)],
                    label=lab if lines else "central estimate")
        ax.set_xlabel(label_for(x))
        ax.set_ylabel(label_for(metric))
        top = float(np.nanmax(df[x])) if is_ordered(list(df[x].head(1))) else 0.0
        if x.endswith("_months") and top >= 12:         # months: ticks every quarter, half-year or year
            from matplotlib.ticker import MultipleLocator

            ax.xaxis.set_major_locator(MultipleLocator(3 if top <= 24 else 6 if top <= 60 else 12))
        low = float(np.nanmin(df[lo_col])) if banded else float(np.nanmin(df[metric]))
        ax.set_ylim(bottom=min(0.0, low))
        ax.set_xlim(left=min(0.0, float(np.nanmin(df[x]))))
        band_label = _band_words(df.attrs.get("band_draws")) + (" of each line" if len(groups) > 1 else "")
        extra = [_band_patch(band_label)] if banded else []
        if many:
            colorbar(fig, mappable, ax, label_for(lines[0]), [v[0] for v in firsts])
            if extra:
                ax.legend(handles=extra, frameon=False, loc="upper left")
        elif lines or extra:
            handles, labs = ax.get_legend_handles_labels()
            ax.legend(handles + extra, labs + [p.get_label() for p in extra],
                      title=(label_for(lines[0]) if len(lines) == 1 else "Scenario") if lines else None,
                      frameon=False, loc="upper left", alignment="left")
        gdp = _gdp_bn(df) if metric == "gdp_loss_pct" else None
        if gdp is not None:
            # matplotlib calls these with arrays or scalars
            def to_trillion(p: Any) -> Any:
                return p * gdp / 100 / 1000

            def to_pct(t: Any) -> Any:
                return t * 1000 * 100 / gdp

            sec = ax.secondary_yaxis("right", functions=(to_trillion, to_pct))
            sec.set_ylabel(f"{without_unit(label_for(metric))} (JPY trillion)")
        ax.set_title(title or f"{without_unit(label_for(metric))} vs {noun(x)}")
        if note:
            import textwrap

            fig.text(0.01, -0.01, textwrap.fill(note, 125), fontsize=8.5, color="0.35", ha="left", va="top")
    return fig


def plot_headline(df, title: str | None = None, note: str | None = None):
    """Plot the headline chart: GDP loss vs restriction length, one line per stockpile size, with bands.

    Parameters
    ----------
    df : pandas.DataFrame
        A sweep over ``restriction.duration_months`` and
        ``stockpile.national.cover_days`` (with ``draws``, the 5-95 % bands
        are shaded).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return plot_sweep(
        df, x="restriction.duration_months", line="stockpile.national.cover_days", metric="gdp_loss_pct",
        title=title or ("Japan's GDP loss from a Chinese rare-earth restriction,\n"
                        "by length of the restriction and size of the national stockpile"),
        note=note,
    )


def _line_labels(monthly, by):
    """(labels per scenario_id in order, label -> first row) for a monthly frame."""
    firsts = monthly.drop_duplicates("scenario_id")
    if by is None:
        if "label" in monthly.columns:
            by = ["label"]
        else:
            by = [k for k in monthly.attrs.get("keys", []) if k in monthly.columns]
    by = [by] if isinstance(by, str) else list(by)
    out = {}
    for _, r in firsts.iterrows():
        if not by:
            lab = f"scenario {r['scenario_id']}"
        elif by == ["label"]:
            lab = literal(r["label"], MAX_LABEL)
        elif len(by) == 1:
            lab = _fmt(r[by[0]])
        else:
            lab = ", ".join(_key_value(c, r[c]) for c in by)
        out[r["scenario_id"]] = lab
    return out, by


def _restriction_of(monthly, sid):
    """(start, duration) months of a scenario in a monthly frame, if known."""
    first = monthly[monthly["scenario_id"] == sid].iloc[0]
    info = dict(monthly.attrs.get("restriction", {}))
    cols = monthly.columns
    start = first["restriction.start_month"] if "restriction.start_month" in cols else info.get("start_month")
    dur = (first["restriction.duration_months"] if "restriction.duration_months" in cols
           else info.get("duration_months"))
    return start, dur


def plot_paths(monthly, by=None, title: str | None = None, materials=None):
    """Monthly GDP loss, cumulative loss and material stocks, one line per scenario.

    Bands: where the frame has the variables ``gdp_loss_jpy_bn_p05``/``_p95``
    and ``cumulative_gdp_loss_pct_p05``/``_p95`` (``resim compare``), each
    line's 5-95 % band is shaded in its colour. More than
    :data:`~simulator.plots.style.MAX_LEGEND_LINES` ordered lines (e.g.
    restriction lengths) get a colour bar instead of a legend.

    Parameters
    ----------
    monthly : pandas.DataFrame
        A monthly table from :func:`simulator.analysis.sweep.sweep` (``monthly=True``)
        or from ``resim compare``; needs the economy variables
        ``gdp_loss_jpy_bn`` and ``cumulative_gdp_loss_pct`` and the material
        variables ``corporate_stock_t``, ``national_stock_t`` and
        ``demand_baseline_t``.
    by : str or list of str, optional
        Column(s) that label the lines; default ``label`` if present,
        else the swept keys.
    materials : list of str, optional
        Materials to show (default all).

    Returns
    -------
    matplotlib.figure.Figure
    """
    need = {"gdp_loss_jpy_bn", "cumulative_gdp_loss_pct", "corporate_stock_t", "national_stock_t",
            "demand_baseline_t"}
    variables = set(monthly["variable"].unique())
    missing = need - variables
    if missing:
        raise ValueError(f"the monthly frame lacks {', '.join(sorted(missing))}")
    labels, by = _line_labels(monthly, by)
    firsts = monthly.drop_duplicates("scenario_id")
    ordered = len(by) == 1 and by != ["label"] and is_ordered(list(firsts[by[0]]))
    values = list(firsts[by[0]]) if ordered else list(range(len(labels)))
    color_list, mappable = line_colors(values, ordered)
    colors = dict(zip(labels, color_list, strict=False))
    n = len(labels)
    many = ordered and n > MAX_LEGEND_LINES
    band_vars = {key: (f"{v}_p05", f"{v}_p95")
                 for key, v in (("gdp", "gdp_loss_jpy_bn"), ("cum", "cumulative_gdp_loss_pct"))
                 if {f"{v}_p05", f"{v}_p95"} <= variables}
    alpha = BAND_ALPHA if n <= 4 else max(0.04, BAND_ALPHA * 3 / n)
    mats = list(materials) if materials is not None else list(
        monthly.loc[monthly["kind"] == "material", "item"].drop_duplicates())
    ncol = max(2, len(mats))
    wide = monthly.pivot_table(index=["scenario_id", "month"], columns=["item", "variable"],
                               values="value", aggfunc="first", sort=False)
    dates = (monthly.drop_duplicates("month").sort_values("month")["date"].tolist())
    with plt.rc_context(STYLE):
        mosaic = [["gdp"] * ncol + ["cum"] * ncol, sum(([m] * 2 for m in mats), [])]
        if len(mats) < ncol:
            mosaic[1] += ["."] * (2 * ncol - len(mosaic[1]))
        fig, axd = plt.subplot_mosaic(mosaic, figsize=(13 if many else 12, 8.4), constrained_layout=True,
                                      gridspec_kw={"height_ratios": [1.15, 1]})
        for i, (sid, lab) in enumerate(labels.items()):
            w = wide.loc[sid]
            x = w.index.to_numpy()
            c = colors[sid]
            # more unordered lines than colours: the next round of colours is dashed, and so on
            ls = "-" if ordered else _DASHES[(i // len(QUALITATIVE)) % len(_DASHES)]
            z = 3 + n - i   # earlier lines on top, so shared stretches show every colour
            for key, var in (("gdp", "gdp_loss_jpy_bn"), ("cum", "cumulative_gdp_loss_pct")):
                if key in band_vars:
                    lo, hi = band_vars[key]
                    axd[key].fill_between(x, w[("japan", lo)], w[("japan", hi)], color=c, alpha=alpha, lw=0,
                                          zorder=2)
                    if key == "cum" and n <= 4:     # edges, so a few overlapping bands stay readable
                        for edge in (lo, hi):
                            axd[key].plot(x, w[("japan", edge)], color=c, lw=0.8, ls=(0, (2, 2)), alpha=0.8,
                                          zorder=2)
                axd[key].plot(x, w[("japan", var)], color=c, lw=2, ls=ls, label=lab, zorder=z)
            for m in mats:
                stock = ((w[(m, "corporate_stock_t")] + w[(m, "national_stock_t")])
                         / w[(m, "demand_baseline_t")])
                axd[m].plot(x, stock, color=c, lw=1.6, ls=ls, label=lab, zorder=z)
            start, dur = _restriction_of(monthly, sid)
            if start is not None and dur is not None and dur > 0:
                for key in ["gdp", "cum"] + mats:
                    axd[key].axvline(start + dur, color=c, lw=0.8 if many else 1, ls=":", alpha=0.9)
        starts = {_restriction_of(monthly, sid)[0] for sid in labels}
        if len(starts) == 1 and None not in starts:
            start = next(iter(starts))
            for key in ["gdp", "cum"] + mats:
                axd[key].axvline(start, color="0.25", lw=1.2, ls="--")
        axd["gdp"].axhline(0, color=CAP_COLOR, lw=0.8)
        axd["gdp"].set_ylabel("GDP loss, net of catch-up\n(JPY bn per month)")
        axd["gdp"].set_title("Monthly GDP loss")
        axd["cum"].set_ylabel(label_for("cumulative_gdp_loss_pct"))
        axd["cum"].set_title("Cumulative GDP loss")
        for m in mats:
            axd[m].set_ylabel("Stocks (months of demand)")
            axd[m].set_title(f"{literal(material_name(m), MAX_LABEL)}: corporate + national stocks")
            axd[m].set_ylim(bottom=0)
        for key in ["gdp", "cum"] + mats:
            _date_axis(axd[key], np.arange(len(dates)), dates)
        legend_title = label_for(by[0]) if len(by) == 1 and by != ["label"] else "Scenario"
        extra = [_band_patch("90 % band of each line")] if band_vars else []
        if many:
            colorbar(fig, mappable, list(axd.values()), label_for(by[0]), values)
            if extra:
                axd["cum"].legend(handles=extra, frameon=False, loc="upper left", fontsize=9)
        elif max(len(lab) for lab in labels.values()) <= 16:
            handles, labs = axd["cum"].get_legend_handles_labels()
            axd["cum"].legend(handles + extra, labs + [p.get_label() for p in extra], title=legend_title,
                              frameon=False, loc="upper left", fontsize=9, alignment="left")
        else:  # long labels would hide the lines: legend under the figure
            handles, labs = axd["cum"].get_legend_handles_labels()
            fig.legend(handles + extra, labs + [p.get_label() for p in extra], title=legend_title,
                       frameon=False, loc="outside lower center", ncol=min(3, len(labs) + len(extra)),
                       fontsize=9)
        how = "dashed grey line: the restriction starts; dotted lines: it ends, in each scenario's colour"
        if band_vars:
            how += "; shaded: 90 % bands"
        fig.suptitle((title or "GDP loss and rare-earth stocks over time") + f"\n({how})")
    return fig


def plot_compare(monthly, title: str | None = None, by=None):
    """Scenarios compared over time (``resim compare``), with their bands: see :func:`plot_paths`.

    ``by`` defaults to the ``label`` column (one line per compared scenario).
    """
    if by is None and "label" in monthly.columns:
        by = "label"
    return plot_paths(monthly, by=by, title=title)


def plot_sectors(sectors, top: int = 10, title: str | None = None, sequential: bool = False):
    """GDP loss by sector, largest first; grouped bars for several scenarios; 5-95 % whiskers.

    Parameters
    ----------
    sectors : pandas.DataFrame or dict
        :attr:`simulator.core.results.Result.sectors` (``code, name,
        gdp_loss_jpy_bn``, and with a band ``gdp_loss_jpy_bn_p05``/``_p95``),
        or a dict label -> such a frame.
    top : int
        Sectors shown (largest loss in any scenario).
    sequential : bool
        Colour scenarios on a sequential scale (e.g. increasing durations).

    Returns
    -------
    matplotlib.figure.Figure
    """
    frames = sectors if isinstance(sectors, dict) else {"": sectors}
    if not frames:
        raise ValueError("no sector tables to plot")
    import textwrap

    import pandas as pd

    def col(name):
        return pd.concat({lab: f.set_index("code")[name] for lab, f in frames.items()}, axis=1)

    wide = col("gdp_loss_jpy_bn").fillna(0.0)
    banded = all({"gdp_loss_jpy_bn_p05", "gdp_loss_jpy_bn_p95"} <= set(f.columns) for f in frames.values())
    names = {}
    for f in frames.values():
        names.update(dict(zip(f["code"], f["name"], strict=False)))
    order = wide.max(axis=1).sort_values(ascending=False).index[:top]
    wide = wide.loc[order][::-1]
    if banded:
        lo_w = col("gdp_loss_jpy_bn_p05").reindex(wide.index)
        hi_w = col("gdp_loss_jpy_bn_p95").reindex(wide.index)
    k = len(frames)
    with plt.rc_context(STYLE):
        height = 0.36 * len(order) * max(1.0, 0.45 * k) + 1.7
        fig, ax = plt.subplots(figsize=(9.5, height), constrained_layout=True)
        y = np.arange(len(order))
        h = 0.8 / k
        colors = line_colors(list(range(k)), ordered=sequential)[0] if k > 1 else [PALETTE["blue"]]
        for i, (lab, color) in enumerate(zip(wide.columns, colors, strict=False)):
            # first scenario on top within each sector, as in the legend
            yy = y + 0.4 - h * (i + 0.5)
            v = wide[lab].to_numpy(dtype=float)
            ax.barh(yy, v, height=h, color=color, label=literal(lab, MAX_LABEL) if lab else None)
            if banded:
                lo, hi = lo_w[lab].to_numpy(dtype=float), hi_w[lab].to_numpy(dtype=float)
                ok = np.isfinite(lo) & np.isfinite(hi)
                err = np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])[:, ok]
                ax.errorbar(v[ok], yy[ok], xerr=err, fmt="none", color="black", ecolor="black", elinewidth=1,
                            capsize=2.5 if k <= 3 else 1.5, label="90 % band (5-95 %)" if i == 0 else None)
        ax.set_yticks(y)
        ax.set_yticklabels([literal(textwrap.fill(f"{names.get(c, c)} ({c})", 32), 3 * MAX_LABEL)
                            for c in wide.index])
        ax.set_xlabel("GDP loss over the horizon (JPY bn)")
        ax.set_xlim(left=0)
        ax.grid(axis="y", alpha=0)
        if k > 1 or banded:
            handles, labs = ax.get_legend_handles_labels()
            order = [i for i, lb in enumerate(labs) if not lb.startswith("90 %")] + \
                [i for i, lb in enumerate(labs) if lb.startswith("90 %")]
            ax.legend([handles[i] for i in order], [labs[i] for i in order],
                      title="Scenario" if k > 1 else None, frameon=False, loc="lower right")
        ax.set_title(title or f"Sectors with the largest GDP loss (top {len(order)})")
    return fig


def plot_fan(monthly, variable: str = "cumulative_gdp_loss_pct", item: str = "japan", central=None,
             title: str | None = None):
    """Monte Carlo fan chart: median, 25-75 % and 5-95 % bands over time.

    Parameters
    ----------
    monthly : pandas.DataFrame
        From :func:`simulator.analysis.sweep.sample` with ``monthly`` including ``variable``.
    variable, item : str
        The monthly series (default cumulative GDP loss, % of annual GDP).
    central : simulator.core.results.Result, optional
        Draw the central scenario's path as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from simulator.analysis.sweep import monthly_percentiles

    q = monthly_percentiles(monthly, variable=variable, item=item, percentiles=(5, 25, 50, 75, 95))
    x = q["month"].to_numpy()
    n = monthly["scenario_id"].nunique()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(9, 5.2), constrained_layout=True)
        blue = PALETTE["blue"]
        ax.fill_between(x, q["p5"], q["p95"], color=blue, alpha=0.18, lw=0, label="5-95 % of draws")
        ax.fill_between(x, q["p25"], q["p75"], color=blue, alpha=0.38, lw=0, label="25-75 % of draws")
        ax.plot(x, q["p50"], color=PALETTE["blue"], lw=2.2, label="median")
        if central is not None:
            em = (central.economy_monthly if item == "japan"
                  else central.materials_monthly.query("material == @item"))
            ax.plot(em["month"], em[variable], color=CENTRAL_COLOR, lw=1.5, ls="--", label="central scenario")
        info = monthly.attrs.get("restriction", {})
        if info.get("duration_months"):
            ax.axvspan(info["start_month"], info["start_month"] + info["duration_months"],
                       color=RESTRICTION_SHADE, alpha=RESTRICTION_ALPHA, lw=0, label="restriction (central)")
        ax.set_ylabel(label_for(variable) if item == "japan"
                      else f"{material_name(item)}: {label_for(variable)}")
        ax.set_xlabel("Month")
        _date_axis(ax, x, q["date"].tolist())
        ax.set_ylim(bottom=min(0.0, float(q["p5"].min())))
        ax.legend(frameon=False, loc="upper left")
        ax.set_title(title or f"Uncertainty in {noun(variable)}: {n} Monte Carlo draws")
    return fig


def plot_distribution(df, metric: str = "gdp_loss_pct", title: str | None = None):
    """Histogram of a metric over Monte Carlo draws, with 5/50/95 % lines.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = df[metric].to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    p5, p50, p95 = np.percentile(x, [5, 50, 95])
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 4.6), constrained_layout=True)
        ax.fill_betweenx([0, 1], p5, p95, transform=ax.get_xaxis_transform(), color=PALETTE["sky"], alpha=0.2,
                         lw=0, label="90 % band (5-95 %)")
        ax.hist(x, bins=min(50, max(10, len(x) // 20)), color=PALETTE["blue"], alpha=0.8)
        for v, lab, ls in ((p5, "5 %", ":"), (p50, "median", "-"), (p95, "95 %", ":")):
            ax.axvline(v, color=CENTRAL_COLOR, ls=ls, lw=1.3, label=f"{lab}: {v:.3g}")
        ax.set_xlabel(label_for(metric))
        ax.set_ylabel("Number of draws")
        ax.legend(frameon=False)
        ax.set_title(title or f"Distribution of {noun(metric)} over {len(x)} draws")
    return fig


def plot_rank_correlations(corr, metric: str = "gdp_loss_pct", title: str | None = None):
    """Show what drives the spread: rank correlation of each sampled input with a metric.

    Parameters
    ----------
    corr : pandas.DataFrame
        From :func:`simulator.analysis.sweep.rank_correlations`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    c = corr.dropna(subset=["spearman_rho"]).iloc[::-1]
    up, down = PALETTE["vermillion"], PALETTE["blue"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(9.5, 0.42 * len(c) + 1.8), constrained_layout=True)
        colors = [up if r > 0 else down for r in c["spearman_rho"]]
        ax.barh(np.arange(len(c)), c["spearman_rho"], color=colors)
        ax.set_yticks(np.arange(len(c)))
        ax.set_yticklabels([literal(label_for(k), 2 * MAX_LABEL) for k in c["key"]])
        ax.axvline(0, color=CENTRAL_COLOR, lw=0.8)
        ax.set_xlim(-1, 1)
        ax.set_xlabel(f"Spearman rank correlation with {noun(metric)} (-1 to 1)")
        ax.grid(axis="y", alpha=0)
        signs = [Patch(color=up, label="raises the loss"), Patch(color=down, label="lowers the loss")]
        ax.legend(handles=signs, frameon=False, loc="lower right")
        ax.set_title(title or f"What drives the spread of the {noun(metric)}")
    return fig
