"""From scenarios to batched arrays.

A batch is one *structure* (what must be shared: horizon, time step,
materials, firm groups, table, propagation settings, rules) and a table of
parameter arrays keyed by dotted key with a leading scenario axis. Both
stacked scenario objects and vectorised sweeps produce such a table, so
one code path builds the engine's inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ScenarioError
from .scenario import Scenario

#: Keys that must be equal across a batch (the engine groups by them).
STRUCTURAL_KEYS = (
    "horizon_months", "steps_per_month", "start_date",
    "inventory.pooled",
    "stockpile.national.strategy",
    "economy.table", "economy.dependence_file", "economy.criticality",
    "economy.critical_input_min_share", "economy.allocation", "economy.priority_sectors",
)
#: Keys that only label a scenario.
LABEL_KEYS = ("name", "description")


def structure_key(s: Scenario) -> tuple:
    """What scenarios must share to run in one batch."""
    base_dir = str(Path(s.source_file).parent) if s.source_file else "."
    return (
        tuple(s.get(k) if not isinstance(s.get(k), list) else tuple(s.get(k)) for k in STRUCTURAL_KEYS),
        tuple(s.materials), len(s.inventory.cover_months),
        base_dir if not _is_bundled(s.economy.table) or s.economy.dependence_file else "",
    )


def _is_bundled(table: str) -> bool:
    from .iotable import BUNDLED_TABLES
    return table in BUNDLED_TABLES


@dataclass(frozen=True)
class ParamTable:
    """Per-scenario values of every non-structural key, (B,) or (B, L)."""

    structure: Scenario
    values: dict

    @property
    def size(self) -> int:
        return len(next(iter(self.values.values())))

    def __getitem__(self, key: str) -> np.ndarray:
        return self.values[key]


def _as_row(value, length: int | None = None) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if length is not None and len(arr) < length:
        arr = np.concatenate([arr, np.full(length - len(arr), arr[-1])])
    return arr


def stack(scenarios: list[Scenario]) -> ParamTable:
    """Stack scenarios that share a structure into a :class:`ParamTable`."""
    if not scenarios:
        raise ScenarioError("no scenarios to run")
    first = scenarios[0]
    key0 = structure_key(first)
    for s in scenarios[1:]:
        if structure_key(s) != key0:
            raise ScenarioError(
                "scenarios in one batch must share horizon, time step, materials, firm groups, "
                "table and rules; run them in separate batches (simulator.sweep groups them for you)"
            )
    flats = [s.flat() for s in scenarios]
    values: dict[str, np.ndarray] = {}
    for key in flats[0]:
        if key in STRUCTURAL_KEYS or key in LABEL_KEYS or key.endswith(".name"):
            continue
        col = [f[key] for f in flats]
        if key == "restriction.severity":
            length = max(len(np.atleast_1d(v)) for v in col)
            values[key] = np.stack([_as_row(v, length) for v in col])
        elif isinstance(col[0], list):
            values[key] = np.stack([_as_row(v) for v in col])
        elif col[0] is None or any(v is None for v in col):
            values[key] = np.array([np.nan if v is None else float(v) for v in col])
        else:
            values[key] = np.asarray(col, dtype=float)
    return ParamTable(structure=first, values=values)
