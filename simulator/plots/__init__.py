"""Plots: functions that take results or tidy frames and return a Figure.

No ``plt.show()`` inside and no backend choice: the caller (a notebook, a
script, the CLI) decides where the figure goes. Colours (Okabe-Ito and a cut
``viridis``, both safe for colour-blind readers), rc settings and axis words
with units are defined once, in :mod:`simulator.plots.style`.
"""

from simulator.plots.charts import (
    plot_compare,
    plot_distribution,
    plot_fan,
    plot_headline,
    plot_paths,
    plot_rank_correlations,
    plot_run,
    plot_sectors,
    plot_sweep,
)
from simulator.plots.policy import plot_cost_benefit, plot_stockpile_curve
from simulator.plots.sensitivity import plot_tornado
from simulator.plots.style import label_for

__all__ = ['plot_run', 'plot_sweep', 'plot_headline', 'plot_paths', 'plot_compare', 'plot_sectors',
           'plot_fan', 'plot_distribution', 'plot_rank_correlations', 'plot_cost_benefit',
           'plot_stockpile_curve', 'plot_tornado', 'label_for']
