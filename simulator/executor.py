"""Running large batches: chunks, so memory stays bounded.

:func:`run_summary` is what sweeps and Monte Carlo call: it runs a
:class:`~simulator.params.ParamTable` in chunks and returns only the
summary metrics, never holding all monthly paths at once.
"""

from __future__ import annotations

import numpy as np

from .engine import build_structure, simulate
from .params import ParamTable

DEFAULT_CHUNK = 2000


def _slice(table: ParamTable, lo: int, hi: int) -> ParamTable:
    return ParamTable(structure=table.structure, values={k: v[lo:hi] for k, v in table.values.items()})


def run_summary(table: ParamTable, chunk_size: int = DEFAULT_CHUNK, progress=None) -> dict[str, np.ndarray]:
    """Summary metrics (each an array of length ``table.size``) for a batch.

    Parameters
    ----------
    chunk_size : int
        Scenarios per engine call (bounds memory).
    progress : callable, optional
        Called with the number of scenarios finished after each chunk.
    """
    from .results import summary_arrays

    structure = build_structure(table.structure)
    parts: list[dict] = []
    for lo in range(0, table.size, chunk_size):
        hi = min(table.size, lo + chunk_size)
        res = simulate(_slice(table, lo, hi), structure=structure)
        parts.append(summary_arrays(res))
        if progress is not None:
            progress(hi - lo)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
