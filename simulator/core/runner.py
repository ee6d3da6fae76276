"""Run one scenario: the engine on a batch of one, wrapped as a :class:`Result`."""

from __future__ import annotations

from simulator.core.engine import BatchResult, simulate
from simulator.core.params import stack
from simulator.core.results import Result
from simulator.io.scenario import Scenario


def simulate_scenarios(scenarios: list[Scenario], keep_sector_paths: bool = False) -> BatchResult:
    """Stack scenarios that share a structure and run them as one batch."""
    return simulate(stack(scenarios), keep_sector_paths=keep_sector_paths)


def run(scenario: Scenario, keep_sector_paths: bool = True) -> Result:
    """Run one scenario and return a :class:`~simulator.core.results.Result`.

    Parameters
    ----------
    scenario : Scenario
        From :func:`simulator.load_scenario`.
    keep_sector_paths : bool
        Keep monthly output loss per sector (in ``Result.monthly``).
    """
    batch = simulate_scenarios([scenario], keep_sector_paths=keep_sector_paths)
    return Result(scenario=scenario, batch=batch)
