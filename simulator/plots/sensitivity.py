"""Tornado chart of one-at-a-time sensitivity swings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulator.io.text import literal
from simulator.plots.style import CENTRAL_COLOR, PALETTE, STYLE, label_for, sentence

if TYPE_CHECKING:
    from simulator.analysis.sensitivity import Sensitivity


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
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(9.5, 0.46 * len(t) + 1.8), constrained_layout=True)
        y = np.arange(len(t))
        lo = t[f"{m}_at_low"].to_numpy()
        hi = t[f"{m}_at_high"].to_numpy()
        ax.barh(y, lo - base, left=base, color=PALETTE["blue"], alpha=0.85, label="low end of the range")
        ax.barh(y, hi - base, left=base, color=PALETTE["orange"], alpha=0.85, label="high end of the range")
        ax.axvline(base, color=CENTRAL_COLOR, lw=1)
        ax.set_yticks(y)
        ticks = [literal(f"{a}\n({b})", 200) for a, b in zip(t["factor"], t["range"], strict=True)]
        ax.set_yticklabels(ticks, fontsize=8.5)
        span = max(np.abs(np.r_[lo, hi] - base).max(), 1e-12)
        for yi, a, b in zip(y, lo, hi, strict=False):
            if max(abs(a - base), abs(b - base)) <= 1e-3 * span:
                ax.text(base, float(yi), "  no effect here", va="center", ha="left", fontsize=8, color="0.4")
                continue
            for v in (a, b):
                if abs(v - base) > 1e-3 * span:
                    ax.text(v, float(yi), f" {v:.2f} ", va="center", ha="left" if v > base else "right", fontsize=8)
        ax.set_xlim(min(lo.min(), hi.min(), base) - 0.15 * span, max(lo.max(), hi.max(), base) + 0.15 * span)
        ax.set_xlabel(f"{label_for(m)}; vertical line: the scenario as given, {base:.3f}")
        ax.legend(loc="lower right", frameon=False, fontsize=9)
        ax.grid(axis="y", alpha=0)
        name = sentence(literal(sens.scenario.name or "scenario", 80))
        ax.set_title(title or f"{name}: one-at-a-time swings across documented ranges", fontsize=11.5)
    return fig
