"""Charts of stockpile sizing and cost-benefit (:mod:`simulator.analysis.policy`)."""

from __future__ import annotations

import math

import pandas as pd

from simulator.analysis.policy import _short


def plot_stockpile_curve(curve: pd.DataFrame, answers: pd.DataFrame | None = None,
                         max_gdp_loss_pct: float | None = None, title: str | None = None):
    """GDP loss against national stockpile size, one line per case.

    Parameters
    ----------
    curve : DataFrame from :func:`stockpile_curve`
    answers : DataFrame from :func:`optimize_stockpile`, optional
        Marks the required stockpile of each case.
    max_gdp_loss_pct : float, optional
        Draws the cap (taken from ``answers`` when omitted).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), constrained_layout=True)
    colors = {}
    for case, g in curve.groupby("case", sort=False):
        (line,) = ax.plot(g["stockpile_days"], g["gdp_loss_pct"], label=_short(case))
        colors[case] = line.get_color()
    if max_gdp_loss_pct is None and answers is not None and len(answers):
        max_gdp_loss_pct = float(answers["max_gdp_loss_pct"].iloc[0])
    if max_gdp_loss_pct is not None:
        ax.axhline(max_gdp_loss_pct, color="black", ls="--", lw=1, label=f"cap {max_gdp_loss_pct:g}% of GDP")
    if answers is not None:
        for row in answers.itertuples():
            if math.isfinite(row.stockpile_days):
                ax.plot([row.stockpile_days], [row.gdp_loss_pct], "o", color=colors.get(row.case, "black"))
                ax.annotate(f"{row.stockpile_days:.0f} d", (row.stockpile_days, row.gdp_loss_pct),
                            textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_xlabel(f"National stockpile (days of baseline demand; {curve['materials'].iloc[0]})")
    ax.set_ylabel("Cumulative GDP loss (% of annual GDP)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    ax.set_title(title or "GDP loss against stockpile size")
    return fig


def plot_cost_benefit(curve: pd.DataFrame, title: str | None = None):
    """GDP loss avoided and yearly holding cost against stockpile size, and
    the break-even yearly probability of the restriction.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    for case, g in curve.groupby("case", sort=False):
        pos = g["gdp_loss_avoided_jpy_bn"].to_numpy() > 0
        ax.plot(g["stockpile_days"][pos], g["gdp_loss_avoided_jpy_bn"][pos], label=f"loss avoided, {_short(case)}")
        ok = g["breakeven_probability_per_year"].to_numpy() > 0
        bx.plot(g["stockpile_days"][ok], 100 * g["breakeven_probability_per_year"][ok], label=_short(case))
    first = curve[curve["case"] == curve["case"].iloc[0]]
    pos = first["holding_cost_jpy_bn_per_year"].to_numpy() > 0
    ax.plot(first["stockpile_days"][pos], first["holding_cost_jpy_bn_per_year"][pos], color="black", ls="--",
            label="holding cost per year")
    ax.set_yscale("log")
    ax.set_xlabel("National stockpile (days of baseline demand)")
    ax.set_ylabel("JPY bn (loss avoided per restriction; cost per year)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(frameon=False, fontsize=8)
    bx.set_yscale("log")
    bx.set_xlabel("National stockpile (days of baseline demand)")
    bx.set_ylabel("Break-even chance of the restriction (% per year)")
    bx.grid(alpha=0.3, which="both")
    bx.legend(frameon=False, fontsize=8)
    fig.suptitle(title or "Stockpile cost and benefit")
    return fig
