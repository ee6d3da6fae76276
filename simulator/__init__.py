"""resim: rare-earth supply-disruption impact simulator for Japan.

Typical use::

    import simulator
    sc = simulator.load_scenario()                  # the bundled one-year default
    res = simulator.run(sc)
    res.summary["gdp_loss_pct"], res.sectors.head(), res.monthly
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import DataError, ResimError, ScenarioError
from .scenario import Scenario, load_scenario


def run(scenario: "Scenario", keep_sector_paths: bool = True):
    """Run one scenario and return a :class:`~simulator.results.Result`.

    Parameters
    ----------
    scenario : Scenario
        From :func:`load_scenario`.
    keep_sector_paths : bool
        Keep monthly output loss per sector (in ``Result.monthly``).
    """
    from .engine import simulate_scenarios
    from .results import Result

    batch = simulate_scenarios([scenario], keep_sector_paths=keep_sector_paths)
    return Result(scenario=scenario, batch=batch)


def optimize_stockpile(scenario: "Scenario", max_gdp_loss_pct: float = 0.1, over=None, materials=None, **kwargs):
    """Smallest national stockpile (days of demand) keeping the GDP loss under a cap.

    ``simulator.optimize_stockpile(sc, max_gdp_loss_pct=0.1,
    over={"restriction.duration_months": [3, 6, 12]})`` returns one row per
    case; see :func:`simulator.policy.optimize_stockpile` (imported lazily:
    it needs scipy).
    """
    from .policy import optimize_stockpile as _optimize

    return _optimize(scenario, max_gdp_loss_pct=max_gdp_loss_pct, over=over, materials=materials, **kwargs)


# Bound after the submodule loads, so ``simulator.sweep`` is the function
# (import the helpers with ``from simulator.sweep import summarize_samples``).
from .sweep import sample, sweep  # noqa: E402

from .calibrate import calibrate  # noqa: E402  (scipy is imported only when it runs)

__all__ = ["Scenario", "load_scenario", "run", "sweep", "sample", "optimize_stockpile", "calibrate", "ResimError", "ScenarioError", "DataError", "__version__"]
