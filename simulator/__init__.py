"""resim: rare-earth supply-disruption impact simulator for Japan.

Typical use::

    import simulator
    sc = simulator.load_scenario()                  # the bundled one-year default
    res = simulator.run(sc)
    res.summary["gdp_loss_pct"], res.sectors.head(), res.monthly

The package is layered (``docs/architecture.md``): :mod:`simulator.model`
(pure equations), :mod:`simulator.io` (scenario schema, data files, caches,
output files), :mod:`simulator.core` (parameter batches, the engine, results),
:mod:`simulator.analysis` (sweeps, Monte Carlo, calibration, sensitivity,
policy), :mod:`simulator.plots` and :mod:`simulator.cli`. This module is the
public facade; its names are imported on first use, so ``import simulator``
stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from simulator._version import __version__
from simulator.errors import DataError, ResimError, ScenarioError

#: Public name -> module that defines it (imported on first access).
_LAZY = {
    "Scenario": "simulator.io.scenario",
    "load_scenario": "simulator.io.scenario",
    "run": "simulator.core.runner",
    "Result": "simulator.core.results",
    "sweep": "simulator.analysis.sweep",
    "sample": "simulator.analysis.sweep",
    "calibrate": "simulator.analysis.calibrate",
    "optimize_stockpile": "simulator.analysis.policy",
}

__all__ = ["Scenario", "load_scenario", "run", "Result", "sweep", "sample", "optimize_stockpile",
           "calibrate", "ResimError", "ScenarioError", "DataError", "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
