"""Report figures with bands, as inline SVG.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot,
no global backend), so they are safe to build in a web server's threads.
Colours are the Okabe-Ito palette (safe for colour-blind readers); text is
drawn as paths, so the SVG needs no fonts.
"""

from __future__ import annotations

import io
import re
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.io.text import literal
from simulator.report.format import date_label, material_name

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: Okabe-Ito colours.
COLORS = {"blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73", "orange": "#E69F00",
          "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000"}
MATERIAL_COLORS = {"ndfeb": COLORS["blue"], "dytb": COLORS["vermillion"], "celay": COLORS["green"]}
_OTHER = [COLORS["orange"], COLORS["sky"], COLORS["purple"], COLORS["black"]]
RESTRICTION_SHADE = "#999999"
_STYLE: dict[RcKeyType, Any] = {
    "font.size": 9.5, "axes.titlesize": 10.5, "axes.labelsize": 9.5, "legend.fontsize": 8.5,
    "xtick.labelsize": 8.5, "ytick.labelsize": 8.5, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "svg.fonttype": "path", "figure.dpi": 100,
}


def material_color(mid: str, i: int) -> str:
    """Colour of material ``mid``, the ``i``-th in the scenario (its own colour, else one of the others in turn)."""
    return MATERIAL_COLORS.get(mid, _OTHER[i % len(_OTHER)])


def _figure(w: float, h: float, nrows: int = 1, sharex: bool = False):
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context(_STYLE):
        fig = Figure(figsize=(w, h), layout="constrained")
        axes = fig.subplots(nrows, 1, sharex=sharex, squeeze=False)[:, 0]
    return fig, axes


def _date_axis(ax, months, dates) -> None:
    n = len(months)
    every = 3 if n <= 18 else 6 if n <= 48 else 12
    idx = list(range(0, n, every))
    ax.set_xticks([months[i] for i in idx])
    ax.set_xticklabels([date_label(dates[i]) for i in idx], rotation=0)
    ax.set_xlim(months[0] - 0.5, months[-1] + 0.5)


def _shade(ax, scenario) -> None:
    r = scenario.restriction
    if r.duration_months > 0:
        ax.axvspan(r.start_month - 0.5, min(r.start_month + r.duration_months, scenario.horizon_months) - 0.5,
                   color=RESTRICTION_SHADE, alpha=0.15, lw=0)


def timeline_figure(band, scenario):
    """Stocks, shortfall and monthly GDP loss, each with its band; restriction shaded."""
    import matplotlib as mpl
    from matplotlib.patches import Patch

    with mpl.rc_context(_STYLE):
        fig, axes = _figure(7.4, 7.6, nrows=3, sharex=True)
        mm = band.materials
        for i, (mid, g) in enumerate(mm.groupby("material", sort=False)):
            c = material_color(mid, i)
            x = g["month"].to_numpy()
            for ax, col in ((axes[0], "stock_months"), (axes[1], "shortage_pct")):
                ax.fill_between(x, g[f"{col}_p05"], g[f"{col}_p95"], color=c, alpha=0.18, lw=0, step=None)
                ax.plot(x, g[col], color=c, lw=1.8, label=literal(material_name(mid, scenario), 60))
        em = band.economy
        x = em["month"].to_numpy()
        ax = axes[2]
        ax.fill_between(x, em["gdp_loss_jpy_bn_p05"], em["gdp_loss_jpy_bn_p95"], color=COLORS["purple"],
                        alpha=0.3, lw=0, label="5–95 % band")
        ax.plot(x, em["gdp_loss_jpy_bn"], color="#6a3d5c", lw=1.8, label="central estimate")
        for a in axes:
            _shade(a, scenario)
        for a in axes[:2]:
            a.set_ylim(bottom=0)
        # negative months: deferred orders made up after the restriction (net of the catch-up)
        axes[2].axhline(0, color="#444444", lw=0.8)
        axes[0].set_ylabel("Stocks, corporate + national\n(months of normal demand)")
        axes[1].set_ylabel("Shortfall\n(% of demand)")
        axes[2].set_ylabel("GDP loss, net\n(bn yen per month)")
        axes[0].set_title("Stocks run down, shortages follow, output is lost", loc="left")
        handles, labels = axes[0].get_legend_handles_labels()
        handles.append(Patch(color=RESTRICTION_SHADE, alpha=0.3, lw=0))
        labels.append("restriction in force")
        axes[0].legend(handles, labels, frameon=False, ncol=4, loc="upper right")
        axes[2].legend(frameon=False, loc="upper right")
        _date_axis(axes[2], x, em["date"].tolist())
    return fig


def sectors_figure(band, top: int = 10):
    """Top sectors by GDP loss over the horizon, with 5–95 % whiskers."""
    import matplotlib as mpl

    sec = band.sectors
    sec = sec[sec["gdp_loss_jpy_bn"] > 0].head(top).iloc[::-1]
    with mpl.rc_context(_STYLE):
        fig, (ax,) = _figure(7.4, 0.32 * max(len(sec), 1) + 1.2)
        y = np.arange(len(sec))
        v = sec["gdp_loss_jpy_bn"].to_numpy(dtype=float)
        ax.barh(y, v, color=COLORS["blue"], height=0.62, label="central estimate")
        lo, hi = sec["gdp_loss_jpy_bn_p05"].to_numpy(dtype=float), sec["gdp_loss_jpy_bn_p95"].to_numpy(dtype=float)
        if np.isfinite(lo).any():
            err = np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])
            ax.errorbar(v, y, xerr=err, fmt="none", ecolor="black", elinewidth=1.1, capsize=3,
                        label="5–95 % band")
            ax.legend(frameon=False, loc="lower right")
        ax.set_yticks(y)
        ax.set_yticklabels([literal(textwrap.shorten(str(n), 34, placeholder="...")) for n in sec["name"]])
        ax.set_xlabel("GDP loss over the horizon (bn yen)")
        ax.grid(axis="y", alpha=0)
        ax.set_title(f"Sectors that lose the most (top {len(sec)})", loc="left")
    return fig


def comparison_figure(rows: list[dict], by_duration: bool):
    """GDP loss of several cases with bands.

    ``rows``: dicts with ``label``, ``months`` (restriction length),
    ``central``, ``low``, ``high`` (% of annual GDP).
    """
    import matplotlib as mpl

    with mpl.rc_context(_STYLE):
        if by_duration:
            fig, (ax,) = _figure(7.4, 3.2)
            rows = sorted(rows, key=lambda r: r["months"])
            x = np.array([r["months"] for r in rows], dtype=float)
            c = np.array([r["central"] for r in rows], dtype=float)
            lo = np.array([np.nan if r["low"] is None else r["low"] for r in rows], dtype=float)
            hi = np.array([np.nan if r["high"] is None else r["high"] for r in rows], dtype=float)
            ax.fill_between(x, lo, hi, color=COLORS["blue"], alpha=0.2, lw=0, label="5–95 % band")
            ax.plot(x, c, color=COLORS["blue"], lw=2, marker="o", label="central estimate")
            ax.set_xlabel("Restriction length (months)")
            ax.set_xticks(x)
            ax.set_ylim(bottom=0)
            ax.legend(frameon=False, loc="lower right")
        else:
            fig, (ax,) = _figure(7.4, 0.45 * len(rows) + 1.3)
            rows = rows[::-1]
            y = np.arange(len(rows))
            c = np.array([r["central"] for r in rows], dtype=float)
            lo = np.array([np.nan if r["low"] is None else r["low"] for r in rows], dtype=float)
            hi = np.array([np.nan if r["high"] is None else r["high"] for r in rows], dtype=float)
            ax.barh(y, c, color=COLORS["blue"], height=0.6)
            ax.errorbar(c, y, xerr=np.vstack([np.clip(c - lo, 0, None), np.clip(hi - c, 0, None)]), fmt="none",
                        ecolor="black", capsize=3)
            ax.set_yticks(y)
            ax.set_yticklabels([literal(textwrap.shorten(str(r["label"]), 40, placeholder="..."))
                                for r in rows])
            ax.grid(axis="y", alpha=0)
        ax.set_ylabel("GDP loss (% of annual GDP)" if by_duration else "")
        if not by_duration:
            ax.set_xlabel("GDP loss over the horizon (% of annual GDP; whiskers: 5–95 % band)")
        ax.set_title("GDP loss by case", loc="left")
    return fig


def to_svg(fig, salt: str) -> str:
    """Inline SVG text for an HTML page: no XML prologue, no metadata, scalable.

    ``salt`` makes the SVG's internal ids unique within the page.
    """
    import matplotlib as mpl

    buf = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r'\swidth="[\d.]+pt"', ' width="100%"', text, count=1)
    text = re.sub(r'\sheight="[\d.]+pt"', "", text, count=1)
    return text.strip()
