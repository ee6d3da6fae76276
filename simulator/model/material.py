"""The material layer run: the step loop of :mod:`simulator.model.supply`, compiled or in numpy.

:func:`simulate_supply` picks the driver: :func:`simulator.model.supply.run_steps`
(numpy, vectorised over the batch) or :func:`simulator.model.supply_numba.run_blocks`
(the same step functions compiled). Both give the same numbers (tested to the last bit).
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

from simulator.model.supply import SupplyInputs, SupplyPaths, prepare, run_steps, to_paths

#: Smallest batch worth importing numba for: its import and cache load take ~0.85 s, which the
#: numpy loop needs a thousand scenarios to lose (a run's central value and 200 band draws take
#: 0.19 s in numpy, 0.10 s compiled; benchmarks/bench_engine.py).
MIN_COMPILED_BATCH = 1024


def compiled_module(inp: SupplyInputs, method: str) -> ModuleType | None:
    """The compiled loop's module if it should run this batch, else None."""
    if method == "numpy" or (method == "auto" and (
            os.environ.get("RESIM_ENGINE", "auto") == "numpy"
            # small batches: not worth importing numba (~0.5 s), but use it once loaded
            or (inp.demand_t_per_month.shape[0] < MIN_COMPILED_BATCH
                and "simulator.model.supply_numba" not in sys.modules))):
        return None
    try:
        from simulator.model import supply_numba
    except ImportError:
        if method == "numba":
            raise
        return None
    return supply_numba if supply_numba.available() or method == "numba" else None


def simulate_supply(inp: SupplyInputs, method: str = "auto") -> SupplyPaths:
    """Run the material layer for every scenario of the batch.

    Parameters
    ----------
    inp : SupplyInputs
    method : {"auto", "numpy", "numba"}
        ``numpy`` runs :func:`run_steps` in the interpreter, each operation
        vectorised over the batch. ``numba`` runs the same functions compiled
        (:mod:`simulator.model.supply_numba`) on lanes of scenarios. ``auto``
        uses the compiled loop when numba loads, the environment variable
        ``RESIM_ENGINE`` is not ``numpy``, and the batch has 1,024 or more
        scenarios or the compiled loop is already loaded.

    Returns
    -------
    SupplyPaths
        Monthly paths, tonnes.
    """
    params, state, record = prepare(inp)
    fast = compiled_module(inp, method)
    if fast is not None:
        fast.run(params, state, record)
    else:
        run_steps(params, state, record)
    return to_paths(inp, record)
