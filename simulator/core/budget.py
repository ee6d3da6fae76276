"""How much memory and time a batch needs, estimated before anything is allocated.

Sweeps, Monte Carlo runs and grids call :func:`check_batch` before they build
their parameter table: a batch that cannot fit in the memory this process
may use is refused in one line that says how big it is and how to run it
anyway (in pieces with :func:`simulator.core.executor.iter_summary`, with a
smaller ``--chunk``, or on a Dask cluster), instead of running for minutes
and dying with ``MemoryError``.

The estimate is deliberately simple and on the safe side. Per scenario it
counts

- the parameter table (one float per numeric key, with copies);
- the summary metrics and their data frame;
- the monthly table, if one is kept (one tidy row per month, variable and item);
- the engine's working arrays for the scenarios in flight (a chunk per
  worker): about ``8 x steps x materials`` floats for the material loop and
  ``2 x months x sectors`` for the economy, measured on the model of
  docs/performance.md with a 1.5x margin.

The memory available is the smallest of what the system has free
(``MemAvailable``), the address-space limit of the process (``ulimit -v``)
and the cgroup's limit, less what the process already uses.
"""

from __future__ import annotations

import math
import resource
from dataclasses import dataclass

from simulator.errors import ResimError

#: Share of the available memory a batch may plan to use.
USABLE_SHARE = 0.8
#: Bytes of one row of a tidy monthly table (values, labels, index), measured with pandas.
MONTHLY_ROW_BYTES = 120
#: Engine time per scenario and per (step x material) / (month x sector) cell, seconds
#: (compiled loop, one core; docs/performance.md).
SECONDS_PER_STEP_MATERIAL = 1.2e-7
SECONDS_PER_MONTH_SECTOR = 2.0e-8


@dataclass(frozen=True)
class Estimate:
    """What a batch needs.

    Attributes
    ----------
    scenarios, months, steps_per_month, materials, sectors : int
        The batch's size.
    bytes : int
        Memory needed at the peak (estimate).
    seconds : float
        Run time on one core (estimate; divide by the cores used).
    """

    scenarios: int
    months: int
    steps_per_month: int
    materials: int
    sectors: int
    bytes: int
    seconds: float

    def describe(self) -> str:
        """``"1,000 scenarios (36 months x 3 materials x 37 sectors)"``."""
        return (f"{self.scenarios:,} scenarios ({self.months} months x {self.materials} materials x "
                f"{self.sectors} sectors)")


def engine_bytes_per_scenario(months: int, steps_per_month: int, materials: int, sectors: int,
                              groups: int = 4) -> float:
    """Working memory of the engine for one scenario in flight, bytes (with a 1.5x margin)."""
    steps = months * steps_per_month
    floats = 8 * steps * materials * (1 + groups / 8) + 2 * months * sectors + 512
    return 1.5 * 8 * floats


def estimate(scenarios: int, months: int, steps_per_month: int, materials: int, sectors: int,
             numeric_keys: int = 60, groups: int = 4, monthly_rows: int = 0, grid_keys: int = 0,
             chunk: int = 2000, workers: int = 2) -> Estimate:
    """Memory and time of a batch (see the module docstring for what is counted).

    Parameters
    ----------
    scenarios : int
        Scenarios in the batch.
    months, steps_per_month, materials, sectors, groups : int
        The structure every scenario shares.
    numeric_keys : int
        Numbers per scenario in the parameter table.
    monthly_rows : int
        Rows of a tidy monthly table kept per scenario (0 = none).
    grid_keys : int
        Keys of a grid (its combinations are listed once).
    chunk, workers : int
        Scenarios per engine call, and calls in flight at once.
    """
    n = int(scenarios)
    params = n * numeric_keys * 8 * 2
    summary = n * (24 + 6 * materials) * 8 * 3
    monthly = n * monthly_rows * MONTHLY_ROW_BYTES
    grid = n * (72 + 24 * grid_keys) if grid_keys else 0
    in_flight = min(n, max(1, chunk)) * max(1, workers) * engine_bytes_per_scenario(
        months, steps_per_month, materials, sectors, groups)
    seconds = n * (SECONDS_PER_STEP_MATERIAL * months * steps_per_month * materials
                   + SECONDS_PER_MONTH_SECTOR * months * sectors)
    return Estimate(n, months, steps_per_month, materials, sectors,
                    int(params + summary + monthly + grid + in_flight), seconds)


def _proc_kb(path: str, field: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            limit = fh.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as fh:
            used = int(fh.read().strip())
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None


def available_memory() -> int | None:
    """Bytes this process can still allocate (None if unknown): free memory, ``ulimit -v``, cgroup."""
    room = []
    free = _proc_kb("/proc/meminfo", "MemAvailable")
    if free is not None:
        room.append(free)
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError, AttributeError):
        soft = resource.RLIM_INFINITY
    if soft != resource.RLIM_INFINITY:
        used = _proc_kb("/proc/self/status", "VmSize") or 0
        room.append(max(0, soft - used))
    cg = _cgroup_room()
    if cg is not None:
        room.append(cg)
    return min(room) if room else None


def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1024 or unit == "EB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EB"  # pragma: no cover


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.0f} days"


def dimensions(scenario) -> dict:
    """Return the sizes of a scenario's batches: months, steps, materials, sectors, groups, keys."""
    from simulator.core.spec import batch_spec

    spec = batch_spec(scenario)
    flat = scenario.flat()
    numeric = sum(len(v) if isinstance(v, list) else 1 for v in flat.values()
                  if isinstance(v, (int, float, list)) and not isinstance(v, bool))
    return {
        "months": int(scenario.horizon_months),
        "steps_per_month": int(scenario.steps_per_month),
        "materials": len(scenario.materials),
        "sectors": len(getattr(spec, "sector_codes", ())) or 37,
        "groups": int(getattr(spec, "n_groups", 4) or 4),
        "numeric_keys": max(numeric, 1),
    }


def check_batch(scenario, scenarios: int, source: str = "sweep", monthly=False,
                grid_keys: int = 0, chunk: int | None = None, workers: int | None = None) -> Estimate:
    """Refuse a batch that cannot fit in memory, before anything is allocated.

    Parameters
    ----------
    scenario : Scenario
        The batch's base scenario (its structure sets the per-scenario size).
    scenarios : int
        How many scenarios (draws, grid combinations).
    source : str
        What the error line names (``--samples``, ``--grid``, ``sample``, ``sweep``).
    monthly : bool or list of str
        The monthly table kept: none (False), every variable (True), or these variables.
    grid_keys : int
        Keys of the grid, if it is one.
    chunk, workers : int, optional
        Scenarios per engine call and calls in flight (defaults: the executor's).

    Returns
    -------
    Estimate
        The estimate, when the batch fits.

    Raises
    ------
    ResimError
        Naming ``source``: how big the batch is, what is available, and how to run it.
    """
    from simulator.core.executor import DEFAULT_CHUNK, cores

    dims = dimensions(scenario)
    m = dims["materials"]
    if monthly is True:
        rows = dims["months"] * (11 * m + 5)
    elif monthly:
        rows = dims["months"] * len([monthly] if isinstance(monthly, str) else list(monthly)) * (m + 1)
    else:
        rows = 0
    chunk = DEFAULT_CHUNK if chunk is None else chunk
    workers = cores() if workers is None else workers
    est = estimate(scenarios, dims["months"], dims["steps_per_month"], m, dims["sectors"],
                   numeric_keys=dims["numeric_keys"], groups=dims["groups"], monthly_rows=rows,
                   grid_keys=grid_keys, chunk=chunk, workers=workers)
    room = available_memory()
    if room is None or est.bytes <= USABLE_SHARE * room:
        return est
    per = max(est.bytes / max(est.scenarios, 1), 1.0)
    fit = max(0, int(USABLE_SHARE * room / per))
    fit = int(10 ** math.floor(math.log10(fit))) * int(str(fit)[0]) if fit >= 10 else fit
    raise ResimError(
        f"{est.describe()} need about {_human(est.bytes)} of memory, more than the {_human(room)} available "
        f"(and about {_duration(est.seconds / max(1, workers))} on {max(1, workers)} core(s)); at most about "
        f"{fit:,} fit at once. Run them in pieces (from Python: simulator.core.executor.iter_summary "
        "streams summaries chunk by chunk), with a smaller --chunk, without --monthly, or on a Dask "
        "cluster (--scheduler)",
        file=source)
