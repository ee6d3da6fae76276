"""Plots: functions that take results or tidy frames and return a Figure.

No ``plt.show()`` inside and no backend choice: the caller (a notebook, a
script, the CLI) decides where the figure goes.
"""

from simulator.plots.charts import (
    plot_run,
    plot_sweep,
    plot_headline,
    plot_paths,
    plot_compare,
    plot_sectors,
    plot_fan,
    plot_distribution,
    plot_rank_correlations,
)
from simulator.plots.policy import plot_cost_benefit, plot_stockpile_curve
from simulator.plots.sensitivity import plot_tornado

__all__ = ['plot_run', 'plot_sweep', 'plot_headline', 'plot_paths', 'plot_compare', 'plot_sectors', 'plot_fan', 'plot_distribution', 'plot_rank_correlations', 'plot_cost_benefit', 'plot_stockpile_curve', 'plot_tornado']
