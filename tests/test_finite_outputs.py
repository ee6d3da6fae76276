"""Issue #10, class 7: numbers that pass validation give finite results.

Over the hypothesis strategy of random valid scenarios (``scenarios()`` of
``tests/test_properties.py``: the whole schema, every release strategy), the
engine's every output array and every summary metric is finite. The only
exceptions are the documented "never" markers: a first-shortage month is
``inf`` (or NaN) when no shortage occurs, and ``peak_month`` is NaN when no
month has a loss. Those must then be the marker or a month inside the horizon.

The extremes of the schema are run as well: every numeric key at its lower
and at its upper bound (one scenario each, as one batch).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given
from test_properties import BASE, examples, run, scenarios

from simulator.core.params import field_bounds, stack
from simulator.core.results import summary_arrays
from simulator.errors import ResimError

#: Outputs where a non-finite value is a documented marker ("never"), not a number.
MARKERS = ("first_shortage", "peak_month")


def non_finite_outputs(batch) -> list[str]:
    """Names of output arrays (and summary metrics) holding NaN or infinity outside the markers."""
    bad = []

    def walk(obj, prefix: str) -> None:
        for f in dataclasses.fields(obj):
            if f.name in ("params", "spec"):
                continue
            value = getattr(obj, f.name)
            name = prefix + f.name
            if dataclasses.is_dataclass(value):
                walk(value, name + ".")
            elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
                if any(m in name for m in MARKERS):
                    horizon = batch.spec.horizon_months
                    ok = ~np.isfinite(value) | ((value >= 0) & (value <= horizon))
                    if not ok.all():
                        bad.append(f"{name} (outside the horizon)")
                elif not np.isfinite(value).all():
                    bad.append(name)

    walk(batch, "")
    for key, value in summary_arrays(batch).items():
        arr = np.asarray(value, dtype=float)
        if not any(m in key for m in MARKERS) and not np.isfinite(arr).all():
            bad.append(f"summary.{key}")
    return bad


@given(sc=scenarios())
@examples(60)
def test_every_output_of_a_valid_scenario_is_finite(sc):
    batch = run(sc, keep=True)
    assert non_finite_outputs(batch) == []


def test_every_numeric_key_at_its_bounds_gives_finite_outputs():
    scenarios_at_bounds = []
    for key, value in BASE.flat().items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        try:
            ge, gt, le, lt = field_bounds(key)
        except ResimError:
            continue
        for bound in (ge, gt, le, lt):
            if bound is None:
                continue
            v = type(value)(bound) if isinstance(value, int) else float(bound)
            try:
                scenarios_at_bounds.append(BASE.with_overrides({key: v}))
            except ResimError:
                continue                     # a cross-field rule (e.g. start before the horizon's end)
    from simulator.core.spec import batch_key

    groups: dict = {}
    for s in scenarios_at_bounds:
        groups.setdefault(batch_key(s), []).append(s)
    from simulator.core.engine import simulate

    bad = []
    for group in groups.values():
        for lo in range(0, len(group), 16):          # small batches: the numpy loop, no compile
            bad += non_finite_outputs(simulate(stack(group[lo:lo + 16]), keep_sector_paths=True))
    assert bad == []
