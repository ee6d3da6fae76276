"""From scenarios to batched arrays.

A batch is one *structure* (what must be shared: horizon, time step,
materials, firm groups, table, propagation settings, rules) and a table of
parameter arrays keyed by dotted key with a leading scenario axis. Both
stacked scenario objects and vectorised sweeps produce such a table, so
one code path builds the engine's inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simulator.core.spec import STRUCTURAL_KEYS, BatchSpec, batch_key, batch_spec
from simulator.errors import ScenarioError
from simulator.io.scenario import Scenario

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

#: Keys that only label a scenario.
LABEL_KEYS = ("name", "description")


@dataclass(frozen=True)
class ParamTable:
    """A batch of scenarios sharing one structure.

    What the scenarios share (:class:`~simulator.core.spec.BatchSpec`) and the
    per-scenario values of every other numeric key, (B,) or (B, L), by dotted key.
    """

    spec: BatchSpec
    values: dict

    @property
    def size(self) -> int:
        """Scenarios in the batch."""
        return len(next(iter(self.values.values())))

    def __getitem__(self, key: str) -> np.ndarray:
        return self.values[key]

    def rows(self, lo: int, hi: int) -> "ParamTable":
        """The scenarios ``lo:hi`` (views)."""
        return ParamTable(spec=self.spec, values={k: v[lo:hi] for k, v in self.values.items()})


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
    key0 = batch_key(first)
    for s in scenarios[1:]:
        if batch_key(s) != key0:
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
    return ParamTable(spec=batch_spec(first), values=values)


def field_bounds(key: str) -> tuple:
    """(ge, gt, le, lt) of the scenario field at a dotted key (None where unset)."""
    from pydantic import BaseModel

    from simulator.io.scenario import Material

    model: type[BaseModel] | None = Scenario
    parts = key.split(".")
    info: FieldInfo | None = None
    i = 0
    while i < len(parts):
        part = parts[i]
        if model is Scenario and part == "materials" and i + 2 < len(parts) + 1:
            model, i = Material, i + 2
            info = Material.model_fields.get(parts[i]) if i < len(parts) else None
            if info is None:
                raise ScenarioError("unknown key", key=key)
            i += 1
            break
        info = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if info is None:
            raise ScenarioError("unknown key", key=key)
        ann = info.annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        i += 1
    assert info is not None                     # a key has at least one part, each found or raised on
    bounds = {"ge": None, "gt": None, "le": None, "lt": None}
    for meta in info.metadata:
        for name in bounds:
            if hasattr(meta, name) and getattr(meta, name) is not None:
                bounds[name] = getattr(meta, name)
    # Share-typed fields carry their bounds inside the annotation
    for meta in getattr(info.annotation, "__metadata__", ()):
        for sub in getattr(meta, "metadata", ()):
            for name in bounds:
                if hasattr(sub, name) and getattr(sub, name) is not None:
                    bounds[name] = getattr(sub, name)
    return bounds["ge"], bounds["gt"], bounds["le"], bounds["lt"]


def check_values(key: str, values: np.ndarray) -> None:
    """Vectorised range check of swept values against the schema's bounds."""
    values = np.asarray(values, dtype=float)
    ge, gt, le, lt = field_bounds(key)
    bad = ~np.isfinite(values)
    if ge is not None:
        bad |= values < ge
    if gt is not None:
        bad |= values <= gt
    if le is not None:
        bad |= values > le
    if lt is not None:
        bad |= values >= lt
    if bad.any():
        allowed = " and ".join(
            f"{op} {v:g}" for op, v in ((">=", ge), (">", gt), ("<=", le), ("<", lt)) if v is not None
        ) or "finite numbers"
        raise ScenarioError(f"value {float(values[bad][0]):g} is out of range; allowed: {allowed}",
                            file="sweep", key=key)


def with_values(base: Scenario, n: int, overrides: dict[str, np.ndarray]) -> ParamTable:
    """A batch of ``n`` copies of ``base`` with some numeric keys set per scenario.

    The fast path for sweeps and Monte Carlo: no scenario objects are built.
    Values are range-checked with the schema's bounds, plus the cross-field
    rules (restricted lead time >= normal; start before the end of the horizon).

    Parameters
    ----------
    base : Scenario
    n : int
    overrides : dict
        Dotted key -> array of length n. Structural keys are refused.
    """
    one = stack([base])
    values = {k: np.repeat(v, n, axis=0) for k, v in one.values.items()}
    for key, arr in overrides.items():
        if key in STRUCTURAL_KEYS:
            raise ScenarioError("is structural; sweep it with separate scenarios", file="sweep", key=key)
        if key not in values:
            raise ScenarioError("unknown or non-numeric key", file="sweep", key=key)
        arr = np.asarray(arr, dtype=float)
        if arr.shape != (n,):
            raise ScenarioError(f"needs {n} values, got shape {arr.shape}", file="sweep", key=key)
        if values[key].ndim == 2 and key != "restriction.severity":
            raise ScenarioError("is a list; sweep it with separate scenarios", file="sweep", key=key)
        check_values(key, arr)
        values[key] = arr[:, None] if key == "restriction.severity" else arr
    lead_n = values["restriction.lead_time_normal_months"]
    lead_r = values["restriction.lead_time_restricted_months"]
    if (lead_r < lead_n).any():
        raise ScenarioError("must be at least lead_time_normal_months", file="sweep",
                            key="restriction.lead_time_restricted_months")
    if (values["restriction.start_month"] >= base.horizon_months).any():
        raise ScenarioError(f"must be before the end of the horizon ({base.horizon_months} months)",
                            file="sweep", key="restriction.start_month")
    return ParamTable(spec=one.spec, values=values)
