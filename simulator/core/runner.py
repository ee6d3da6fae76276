"""Run one scenario: the engine on a batch of its central run and its band draws."""

from __future__ import annotations

import numpy as np

from simulator.core.bands import DEFAULT_DRAWS, band_values, central_and_draws
from simulator.core.engine import BatchResult, simulate
from simulator.core.params import stack, with_values
from simulator.core.results import Result
from simulator.io.scenario import Scenario


def simulate_scenarios(scenarios: list[Scenario], keep_sector_paths: bool = False) -> BatchResult:
    """Stack scenarios that share a structure and run them as one batch."""
    return simulate(stack(scenarios), keep_sector_paths=keep_sector_paths)


def run(scenario: Scenario, keep_sector_paths: bool = True, *, draws: int = DEFAULT_DRAWS,
        seed: int = 0) -> Result:
    """Run one scenario, with its uncertainty band, and return a :class:`~simulator.core.results.Result`.

    Parameters
    ----------
    scenario : Scenario
        From :func:`simulator.load_scenario`.
    keep_sector_paths : bool
        Keep monthly output loss per sector (in ``Result.monthly``).
    draws : int
        Posterior draws for the 5-95 % band (:mod:`simulator.core.bands`),
        run in one batch with the central run; 0 runs the central scenario
        only (no band).
    seed : int
        Chooses the posterior rows and draws the scenario's ``[uncertainty]``.

    Returns
    -------
    Result
        ``summary`` has ``gdp_loss_pct`` (central) and ``gdp_loss_pct_p05``,
        ``_p50``, ``_p95`` (and so on for the metrics of
        :data:`~simulator.core.bands.BAND_METRICS`); ``economy_monthly`` and
        ``sectors`` have ``_p05``/``_p95`` columns.
    """
    if draws:
        values = band_values(scenario, draws, seed)
        if values:
            table = with_values(scenario, draws + 1, central_and_draws(scenario, values))
            batch = simulate(table, keep_sector_paths=keep_sector_paths)
            return Result(scenario=scenario, batch=batch, band_rows=np.arange(1, draws + 1),
                          band_keys=tuple(values), band_seed=seed)
    batch = simulate_scenarios([scenario], keep_sector_paths=keep_sector_paths)
    return Result(scenario=scenario, batch=batch)


def banded_summary(scenario: Scenario, n: int, arrays: dict[str, np.ndarray], *, draws: int = DEFAULT_DRAWS,
                   seed: int = 0, progress=None, workers: int | None = None,
                   block_rows: int = 2048) -> dict[str, np.ndarray]:
    """Summary metrics of ``n`` points, each with its band: (points x (1 + draws)) runs, streamed.

    Every point (``arrays``: dotted key -> (n,), the swept values) runs
    centrally and on the same ``draws`` posterior rows (common random
    numbers: differences between points are not blurred by different draws).
    Keys swept in ``arrays`` are never drawn. Blocks of about ``block_rows``
    scenarios are built and reduced to percentiles one at a time, so memory
    does not grow with the grid. 2,048 rows (10 points of 201 runs) beat
    8,192 on both counts: a 250-point banded sweep took 5.5-5.9 s and 560-590
    MiB peak RSS against 7.2 s and 1,344 MiB (benchmarks/bench_bands.py).

    Returns
    -------
    dict
        Every summary metric (B = n) at the central values, plus
        ``<metric>_p05``, ``_p50``, ``_p95`` for the metrics of
        :data:`~simulator.core.bands.BAND_METRICS`.
    """
    from simulator.core.bands import BAND_METRICS, BAND_SUFFIXES, percentiles
    from simulator.core.executor import iter_summary

    band = {k: v for k, v in band_values(scenario, draws, seed).items() if k not in arrays} if draws else {}
    width = 1 + (draws if band else 0)
    per_block = max(1, block_rows // width)
    band_rows = central_and_draws(scenario, band) if band else {}

    def tables():
        for lo in range(0, n, per_block):
            hi = min(n, lo + per_block)
            values = {k: np.repeat(np.asarray(v, float)[lo:hi], width) for k, v in arrays.items()}
            values.update({k: np.tile(v, hi - lo) for k, v in band_rows.items()})
            yield with_values(scenario, (hi - lo) * width, values)

    parts: dict[str, list[np.ndarray]] = {}
    for lo, got in zip(range(0, n, per_block), iter_summary(tables(), workers=workers), strict=True):
        points = min(per_block, n - lo)
        for key, v in got.items():
            grid = np.asarray(v, float).reshape(points, width)
            parts.setdefault(key, []).append(grid[:, 0])
            if band and key in BAND_METRICS:
                q = percentiles(grid[:, 1:], axis=1)
                for suffix, row in zip(BAND_SUFFIXES, q, strict=True):
                    parts.setdefault(key + suffix, []).append(row)
        if progress is not None:
            progress(points)
    return {k: np.concatenate(v) for k, v in parts.items()}
