"""Figures of runs, sweeps, comparisons and Monte Carlo samples.

Text that comes from the user (scenario names, compared labels, swept
string values, sector names of a custom table) is drawn literally: through
:func:`simulator.io.text.literal`, which escapes ``$`` (no mathtext is
parsed, so ``$x^{$`` can neither fail nor render as a formula), shows
control characters as escapes and caps the length.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from simulator.io.text import literal

#: Longest user text in a title, a legend entry or a tick label, characters.
MAX_LABEL = 80


def plot_run(result, title: str | None = None):
    """Stocks, shortfall and GDP loss over time for one scenario.

    Parameters
    ----------
    result : simulator.core.results.Result

    Returns
    -------
    matplotlib.figure.Figure
    """
    mm = result.materials_monthly
    em = result.economy_monthly
    fig, axes = plt.subplots(3, 1, figsize=(9, 9.5), sharex=True, constrained_layout=True)
    s = result.scenario
    x = em["month"].to_numpy()
    ticks = x[:: max(1, len(x) // 12)]
    for mat, g in mm.groupby("material", sort=False):
        base = g["demand_baseline_t"].to_numpy()
        cover = (g["corporate_stock_t"] + g["national_stock_t"]).to_numpy() / base
        axes[0].plot(g["month"], cover, label=mat)
        axes[1].plot(g["month"], 100 * g["shortage_share"], label=mat)
    start, dur = s.restriction.start_month, s.restriction.duration_months
    for ax in axes:
        if dur > 0:
            ax.axvspan(start, min(start + dur, s.horizon_months), color="tab:red", alpha=0.08, lw=0)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Stocks (corporate + national)\nmonths of baseline demand")
    axes[0].legend(title="material", frameon=False, ncol=3)
    axes[1].set_ylabel("Shortfall\n% of demand")
    axes[1].legend(title="material", frameon=False, ncol=3)
    axes[2].bar(x, em["gdp_loss_jpy_bn"], color="tab:purple", alpha=0.7, label="monthly")
    axes[2].set_ylabel("GDP loss\nbillion yen per month")
    ax2 = axes[2].twinx()
    sm = result.summary
    if "cumulative_gdp_loss_pct_p05" in em.columns:
        ax2.fill_between(x, em["cumulative_gdp_loss_pct_p05"], em["cumulative_gdp_loss_pct_p95"], color="black",
                         alpha=0.12, linewidth=0, label="cumulative, 90 % band")
    ax2.plot(x, em["cumulative_gdp_loss_pct"], color="black", label="cumulative")
    ax2.set_ylabel("cumulative, % of annual GDP")
    ax2.legend(frameon=False, loc="upper left")
    _align_zeros(axes[2], ax2)
    axes[2].set_xticks(ticks)
    axes[2].set_xticklabels([em["date"].iloc[i] for i in ticks], rotation=45, ha="right")
    axes[2].set_xlabel("month (shaded: restriction in force)")
    if title is None:
        from simulator.core.bands import format_band

        loss = format_band(sm["gdp_loss_pct"], sm.get("gdp_loss_pct_p05"), sm.get("gdp_loss_pct_p95"), "%")
        title = f"{literal(s.name or 'scenario', MAX_LABEL)}: GDP loss {loss} of annual GDP"
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

#: Axis labels (with units) for keys and metrics; other names carry their unit.
LABELS = {
    "restriction.duration_months": "Restriction length (months)",
    "restriction.severity": "Share of Chinese shipments withheld (0-1)",
    "restriction.lead_time_restricted_months": "Lead time under restriction (months)",
    "stockpile.national.cover_days": "National stockpile (days of demand)",
    "inventory.cover_scale": "Corporate inventory (x default)",
    "economy.dependence_scale": "Sector dependence on rare earths (x default)",
    "gdp_loss_pct": "Cumulative GDP loss (% of annual GDP)",
    "gdp_loss_jpy_bn": "Cumulative GDP loss (JPY bn)",
    "output_loss_jpy_bn": "Cumulative gross output loss (JPY bn)",
    "peak_monthly_gdp_loss_jpy_bn": "Worst month's GDP loss (JPY bn)",
    "cumulative_gdp_loss_pct": "Cumulative GDP loss (% of annual GDP)",
    "cumulative_gdp_loss_jpy_bn": "Cumulative GDP loss (JPY bn)",
    "gdp_loss_pct_of_month": "GDP loss (% of the month's GDP)",
    "months_with_loss": "Months with a GDP loss",
}
_STYLE = {
    "font.size": 11, "axes.titlesize": 12.5, "axes.labelsize": 11, "legend.fontsize": 10,
    "legend.title_fontsize": 10, "xtick.labelsize": 10, "ytick.labelsize": 10,
    "axes.spines.top": False, "axes.grid": True, "grid.alpha": 0.3,
}


def label_for(name: str) -> str:
    """Axis label with unit for a key or metric name."""
    return LABELS.get(name, name)


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return f"{float(v):g}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.3g}"
    return literal(v, MAX_LABEL)


def _noun(name: str) -> str:
    """'Cumulative GDP loss (% of ...)' -> 'cumulative GDP loss' for use inside a sentence."""
    words = label_for(name).split(" (")[0].split()
    if words and not words[0].isupper():
        words[0] = words[0].lower()
    return " ".join(words)


def _short(key: str) -> str:
    return key.split(".")[-1]


def _colors(n: int, ordered: bool):
    """Sequential colours for ordered values (dark = first), else qualitative."""
    if ordered:
        cmap = plt.get_cmap("viridis")
        return [cmap(0.82 * i / max(1, n - 1)) for i in range(n)]
    cmap = plt.get_cmap("tab10")
    return [cmap(i % 10) for i in range(n)]


def _is_ordered(values) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)


def _date_axis(ax, months, dates, every: int | None = None) -> None:
    months = np.asarray(months)
    every = every or (3 if len(months) <= 18 else 6 if len(months) <= 48 else 12)
    ticks = months[::every]
    ax.set_xticks(ticks)
    ax.set_xticklabels([dates[int(i)] for i in range(0, len(months), every)], rotation=45, ha="right")


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


def plot_sweep(df, x: str, line: str | list | None = None, metric: str = "gdp_loss_pct",
               title: str | None = None, note: str | None = None):
    """A metric against one swept key, one line per value of the others.

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
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(8.5, 5.2), constrained_layout=True)
        groups = list(df.groupby(lines, sort=True)) if lines else [((), df)]
        colors = _colors(len(groups), ordered=len(lines) == 1 and _is_ordered([g[0][0] for g in groups]))
        for (vals, g), color in zip(groups, colors):
            vals = vals if isinstance(vals, tuple) else (vals,)
            g = g.sort_values(x)
            if len(lines) == 1:
                lab = _fmt(vals[0])
            else:
                lab = ", ".join(f"{_short(k)}={_fmt(v)}" for k, v in zip(lines, vals)) or "all"
            ax.plot(g[x], g[metric], marker="o", ms=5, lw=2, color=color, label=lab)
        ax.set_xlabel(label_for(x))
        ax.set_ylabel(label_for(metric))
        ax.set_ylim(bottom=min(0.0, float(np.nanmin(df[metric]))))
        ax.set_xlim(left=min(0.0, float(np.nanmin(df[x]))))
        if lines:
            ax.legend(title=label_for(lines[0]) if len(lines) == 1 else "scenario", frameon=False,
                      loc="upper left", alignment="left")
        gdp = _gdp_bn(df) if metric == "gdp_loss_pct" else None
        if gdp is not None:
            sec = ax.secondary_yaxis("right", functions=(lambda p: p * gdp / 100 / 1000,
                                                          lambda t: t * 1000 * 100 / gdp))
            sec.set_ylabel(f"{label_for(metric).split(' (')[0]} (JPY trillion)")
        ax.set_title(title or f"{label_for(metric).split(' (')[0]} vs {_noun(x)}")
        if note:
            import textwrap

            fig.text(0.01, -0.01, textwrap.fill(note, 125), fontsize=8.5, color="0.35", ha="left", va="top")
    return fig


def plot_headline(df, title: str | None = None, note: str | None = None):
    """The headline chart: GDP loss vs restriction length, one line per stockpile size.

    Parameters
    ----------
    df : pandas.DataFrame
        A sweep over ``restriction.duration_months`` and
        ``stockpile.national.cover_days``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return plot_sweep(
        df, x="restriction.duration_months", line="stockpile.national.cover_days", metric="gdp_loss_pct",
        title=title or "Japan's GDP loss from a Chinese rare-earth restriction,\nby length of the restriction and size of the national stockpile",
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
            lab = ", ".join(f"{_short(c)}={_fmt(r[c])}" for c in by)
        out[r["scenario_id"]] = lab
    return out, by


def _restriction_of(monthly, sid):
    """(start, duration) months of a scenario in a monthly frame, if known."""
    first = monthly[monthly["scenario_id"] == sid].iloc[0]
    info = dict(monthly.attrs.get("restriction", {}))
    start = first["restriction.start_month"] if "restriction.start_month" in monthly.columns else info.get("start_month")
    dur = first["restriction.duration_months"] if "restriction.duration_months" in monthly.columns else info.get("duration_months")
    return start, dur


def plot_paths(monthly, by=None, title: str | None = None, materials=None):
    """Monthly GDP loss, cumulative loss and material stocks, one line per scenario.

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
    need = {"gdp_loss_jpy_bn", "cumulative_gdp_loss_pct", "corporate_stock_t", "national_stock_t", "demand_baseline_t"}
    missing = need - set(monthly["variable"].unique())
    if missing:
        raise ValueError(f"the monthly frame lacks {', '.join(sorted(missing))}")
    labels, by = _line_labels(monthly, by)
    ordered = len(by) == 1 and by != ["label"] and _is_ordered(list(monthly.drop_duplicates("scenario_id")[by[0]]))
    colors = dict(zip(labels.values(), _colors(len(labels), ordered)))
    mats = list(materials) if materials is not None else list(
        monthly.loc[monthly["kind"] == "material", "item"].drop_duplicates())
    ncol = max(2, len(mats))
    wide = monthly.pivot_table(index=["scenario_id", "month"], columns=["item", "variable"],
                               values="value", aggfunc="first", sort=False)
    dates = (monthly.drop_duplicates("month").sort_values("month")["date"].tolist())
    with plt.rc_context(_STYLE):
        mosaic = [["gdp"] * ncol + ["cum"] * ncol, sum(([m] * 2 for m in mats), [])]
        if len(mats) < ncol:
            mosaic[1] += ["."] * (2 * ncol - len(mosaic[1]))
        fig, axd = plt.subplot_mosaic(mosaic, figsize=(12, 8), constrained_layout=True,
                                      gridspec_kw={"height_ratios": [1.15, 1]})
        for i, (sid, lab) in enumerate(labels.items()):
            w = wide.loc[sid]
            x = w.index.to_numpy()
            c = colors[lab]
            z = 3 + len(labels) - i   # earlier lines on top, so shared stretches show every colour
            axd["gdp"].plot(x, w[("japan", "gdp_loss_jpy_bn")], color=c, lw=2, label=lab, zorder=z)
            axd["cum"].plot(x, w[("japan", "cumulative_gdp_loss_pct")], color=c, lw=2, label=lab, zorder=z)
            for m in mats:
                stock = (w[(m, "corporate_stock_t")] + w[(m, "national_stock_t")]) / w[(m, "demand_baseline_t")]
                axd[m].plot(x, stock, color=c, lw=1.6, label=lab, zorder=z)
            start, dur = _restriction_of(monthly, sid)
            if start is not None and dur is not None and dur > 0:
                for key in ["gdp", "cum"] + mats:
                    axd[key].axvline(start + dur, color=c, lw=1, ls=":", alpha=0.9)
        starts = {_restriction_of(monthly, sid)[0] for sid in labels}
        if len(starts) == 1 and None not in starts:
            start = next(iter(starts))
            for key in ["gdp", "cum"] + mats:
                axd[key].axvline(start, color="0.25", lw=1.2, ls="--")
        axd["gdp"].set_ylabel("GDP loss (JPY bn per month)")
        axd["gdp"].set_title("Monthly GDP loss")
        axd["cum"].set_ylabel(label_for("cumulative_gdp_loss_pct"))
        axd["cum"].set_title("Cumulative GDP loss")
        for m in mats:
            axd[m].set_ylabel("Stocks (months of demand)")
            axd[m].set_title(f"{m}: corporate + national stocks")
            axd[m].set_ylim(bottom=0)
        for key in ["gdp", "cum"] + mats:
            _date_axis(axd[key], np.arange(len(dates)), dates)
        legend_title = "scenario" if by in ([], ["label"]) else (label_for(by[0]) if len(by) == 1 else "scenario")
        if max(len(lab) for lab in labels.values()) <= 16:
            axd["cum"].legend(title=legend_title, frameon=False, loc="upper left", fontsize=9, alignment="left")
        else:  # long labels would hide the lines: legend under the figure
            handles, labs = axd["cum"].get_legend_handles_labels()
            fig.legend(handles, labs, title=legend_title, frameon=False, loc="outside lower center",
                       ncol=min(3, len(labs)), fontsize=9)
        fig.suptitle((title or "GDP loss and rare-earth stocks over time")
                     + "\n(dashed grey line: the restriction starts; dotted lines: it ends, in each scenario's colour)",
                     fontsize=12.5)
    return fig


def plot_compare(monthly, title: str | None = None, by=None):
    """Scenarios compared over time (``resim compare``): see :func:`plot_paths`.

    ``by`` defaults to the ``label`` column (one line per compared scenario).
    """
    if by is None and "label" in monthly.columns:
        by = "label"
    return plot_paths(monthly, by=by, title=title)


def plot_sectors(sectors, top: int = 10, title: str | None = None, sequential: bool = False):
    """GDP loss by sector, largest first; grouped bars for several scenarios.

    Parameters
    ----------
    sectors : pandas.DataFrame or dict
        :attr:`simulator.core.results.Result.sectors` (``code, name,
        gdp_loss_jpy_bn``), or a dict label -> such a frame.
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

    wide = pd.concat({lab: f.set_index("code")["gdp_loss_jpy_bn"] for lab, f in frames.items()}, axis=1).fillna(0.0)
    names = {}
    for f in frames.values():
        names.update(dict(zip(f["code"], f["name"])))
    order = wide.max(axis=1).sort_values(ascending=False).index[:top]
    wide = wide.loc[order][::-1]
    k = len(frames)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(9.5, 0.36 * len(order) * max(1.0, 0.45 * k) + 1.6), constrained_layout=True)
        y = np.arange(len(order))
        h = 0.8 / k
        colors = _colors(k, ordered=sequential) if k > 1 else ["tab:purple"]
        for i, (lab, color) in enumerate(zip(wide.columns, colors)):
            # first scenario on top within each sector, as in the legend
            ax.barh(y + 0.4 - h * (i + 0.5), wide[lab], height=h, color=color,
                    label=literal(lab, MAX_LABEL) if lab else None)
        ax.set_yticks(y)
        ax.set_yticklabels([literal(textwrap.fill(f"{names.get(c, c)} ({c})", 32), 3 * MAX_LABEL)
                            for c in wide.index])
        ax.set_xlabel("GDP loss over the horizon (JPY bn)")
        ax.grid(axis="y", alpha=0)
        if k > 1:
            ax.legend(title="scenario", frameon=False, loc="lower right")
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
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(9, 5.2), constrained_layout=True)
        ax.fill_between(x, q["p5"], q["p95"], color="tab:blue", alpha=0.18, lw=0, label="5-95 % of draws")
        ax.fill_between(x, q["p25"], q["p75"], color="tab:blue", alpha=0.38, lw=0, label="25-75 % of draws")
        ax.plot(x, q["p50"], color="tab:blue", lw=2.2, label="median")
        if central is not None:
            em = central.economy_monthly if item == "japan" else central.materials_monthly.query("material == @item")
            ax.plot(em["month"], em[variable], color="black", lw=1.5, ls="--", label="central scenario")
        info = monthly.attrs.get("restriction", {})
        if info.get("duration_months"):
            ax.axvspan(info["start_month"], info["start_month"] + info["duration_months"], color="tab:red",
                       alpha=0.07, lw=0, label="restriction (central)")
        ax.set_ylabel(label_for(variable) if item == "japan" else f"{item}: {label_for(variable)}")
        ax.set_xlabel("month")
        _date_axis(ax, x, q["date"].tolist())
        ax.set_ylim(bottom=min(0.0, float(q["p5"].min())))
        ax.legend(frameon=False, loc="upper left")
        ax.set_title(title or f"Uncertainty in {_noun(variable)}: {n} Monte Carlo draws")
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
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(8, 4.6), constrained_layout=True)
        ax.hist(x, bins=min(50, max(10, len(x) // 20)), color="tab:blue", alpha=0.7)
        for v, lab, ls in ((p5, "5 %", ":"), (p50, "median", "-"), (p95, "95 %", ":")):
            ax.axvline(v, color="black", ls=ls, lw=1.3, label=f"{lab}: {v:.3g}")
        ax.set_xlabel(label_for(metric))
        ax.set_ylabel("Number of draws")
        ax.legend(frameon=False)
        ax.set_title(title or f"Distribution of {_noun(metric)} over {len(x)} draws")
    return fig


def plot_rank_correlations(corr, metric: str = "gdp_loss_pct", title: str | None = None):
    """What drives the spread: rank correlation of each sampled input with a metric.

    Parameters
    ----------
    corr : pandas.DataFrame
        From :func:`simulator.analysis.sweep.rank_correlations`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    c = corr.dropna(subset=["spearman_rho"]).iloc[::-1]
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(9, 0.42 * len(c) + 1.6), constrained_layout=True)
        colors = ["tab:red" if r > 0 else "tab:green" for r in c["spearman_rho"]]
        ax.barh(np.arange(len(c)), c["spearman_rho"], color=colors)
        ax.set_yticks(np.arange(len(c)))
        ax.set_yticklabels(c["key"])
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlim(-1, 1)
        ax.set_xlabel(f"Spearman rank correlation with {_noun(metric)} (-1 to 1)")
        ax.grid(axis="y", alpha=0)
        ax.set_title(title or "What drives the spread (red: raises the loss, green: lowers it)")
    return fig
