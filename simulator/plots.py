"""Plots: functions that take results or tidy frames and return a Figure.

No ``plt.show()`` inside; the caller decides where the figure goes.
"""

from __future__ import annotations

import matplotlib

if matplotlib.get_backend().lower() not in ("module://matplotlib_inline.backend_inline",):
    matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_run(result, title: str | None = None):
    """Stocks, shortfall and GDP loss over time for one scenario.

    Parameters
    ----------
    result : simulator.results.Result

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
    ax2.plot(x, em["cumulative_gdp_loss_pct"], color="black", label="cumulative")
    ax2.set_ylabel("cumulative, % of annual GDP")
    axes[2].set_xticks(ticks)
    axes[2].set_xticklabels([em["date"].iloc[i] for i in ticks], rotation=45, ha="right")
    axes[2].set_xlabel("month (shaded: restriction in force)")
    fig.suptitle(title or f"{s.name or 'scenario'}: GDP loss {result.summary['gdp_loss_pct']:.2f}% of annual GDP")
    return fig
