"""Tornado chart of one-at-a-time sensitivity swings."""

from __future__ import annotations

import numpy as np

from simulator.io.text import literal


def plot_tornado(sens: Sensitivity, top: int | None = None, title: str | None = None):
    """Tornado chart of the swings, largest at the top.

    Parameters
    ----------
    sens : Sensitivity
    top : int, optional
        Show only the ``top`` largest swings.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    m = sens.metric
    t = sens.table if top is None else sens.table.head(top)
    t = t.iloc[::-1]
    base = sens.base_value
    fig, ax = plt.subplots(figsize=(9.5, 0.42 * len(t) + 1.6), constrained_layout=True)
    y = np.arange(len(t))
    lo = t[f"{m}_at_low"].to_numpy()
    hi = t[f"{m}_at_high"].to_numpy()
    ax.barh(y, lo - base, left=base, color="tab:blue", alpha=0.8, label="low end of range")
    ax.barh(y, hi - base, left=base, color="tab:orange", alpha=0.8, label="high end of range")
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(y)
    ax.set_yticklabels([literal(f"{a}\n({b})", 200) for a, b in zip(t["factor"], t["range"], strict=True)],
                       fontsize=8)
    span = max(np.abs(np.r_[lo, hi] - base).max(), 1e-12)
    for yi, a, b in zip(y, lo, hi):
        if max(abs(a - base), abs(b - base)) <= 1e-3 * span:
            ax.text(base, yi, "  no effect here", va="center", ha="left", fontsize=7, color="0.4")
            continue
        for v in (a, b):
            if abs(v - base) > 1e-3 * span:
                ax.text(v, yi, f" {v:.2f} ", va="center", ha="left" if v > base else "right", fontsize=7)
    ax.set_xlim(min(lo.min(), hi.min(), base) - 0.15 * span, max(lo.max(), hi.max(), base) + 0.15 * span)
    unit = "% of annual GDP" if m == "gdp_loss_pct" else m
    ax.set_xlabel(f"{m} ({unit}); line: scenario as given, {base:.3f}")
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    name = literal(sens.scenario.name or "scenario", 80)
    ax.set_title(title or f"{name}: one-at-a-time swings across documented ranges", fontsize=10)
    return fig
