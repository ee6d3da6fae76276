"""The batch specification: what every scenario of a batch shares.

A scenario (the validated TOML schema, :mod:`simulator.io.scenario`) is
resolved here, once, into a plain frozen :class:`BatchSpec`: the time grid,
the materials and firm groups, the stockpile and allocation rules, the
priority sectors as table indices, and the economy's precomputed structure.
The engine (:mod:`simulator.core.engine`) reads only a ``BatchSpec`` and the
parameter arrays of :mod:`simulator.core.params`; it never sees the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from simulator.errors import ScenarioError
from simulator.io import cache
from simulator.io.datafiles import DataFiles
from simulator.io.scenario import Scenario
from simulator.io.tables import dependence_matrix, load_table
from simulator.model import economy

#: Scenario keys that must be equal across a batch (sweeps group by them).
STRUCTURAL_KEYS = (
    "horizon_months", "steps_per_month", "start_date",
    "inventory.pooled",
    "stockpile.national.strategy",
    "economy.table", "economy.dependence_file", "economy.criticality",
    "economy.critical_input_min_share", "economy.allocation", "economy.priority_sectors",
)


@dataclass(frozen=True)
class BatchSpec:
    """What a batch shares; everything the engine needs besides the parameter arrays.

    Attributes
    ----------
    horizon_months, steps_per_month : int
        The time grid (months; internal steps per month).
    start_date : str
        Calendar month of month 0, ``YYYY-MM``.
    materials : tuple of str
        Material ids, in the order of the material axis.
    n_groups : int
        Corporate firm groups (1 when stocks are pooled).
    pooled : bool
        Firms hold one pool instead of each group its own stock.
    strategy : str
        National stockpile release rule.
    allocation : str
        How scarce material is shared among sectors.
    priority : tuple of int
        Priority sectors as indices into the table, first served first.
    economy : simulator.model.economy.EconomyStructure
        The economy's precomputed structure (per unit of GDP).
    sector_codes, sector_names : tuple of str
    table : str
        The table's name as the scenario gives it.
    data : simulator.io.datafiles.DataFiles
        The data files the structure was built from.
    """

    horizon_months: int
    steps_per_month: int
    start_date: str
    materials: tuple[str, ...]
    n_groups: int
    pooled: bool
    strategy: str
    allocation: str
    priority: tuple[int, ...]
    economy: economy.EconomyStructure
    sector_codes: tuple[str, ...]
    sector_names: tuple[str, ...]
    table: str
    data: DataFiles


def batch_key(s: Scenario) -> tuple:
    """What scenarios must share to run in one batch."""
    def frozen(v):
        return tuple(v) if isinstance(v, list) else v

    return (tuple(frozen(s.get(k)) for k in STRUCTURAL_KEYS), tuple(s.materials),
            len(s.inventory.cover_months), s.data_files())


@lru_cache(maxsize=32)
def _economy(data: DataFiles, materials: tuple[str, ...], criticality: float,
             min_share: float) -> tuple[economy.EconomyStructure, tuple[str, ...], tuple[str, ...]]:
    """The economy structure of a table and dependence file, from the disk cache when valid."""
    args = (str(data.table_dir), str(data.dependence_file), materials, criticality, min_share)
    try:
        name = cache.key(args, [path for _, path in data.files()])
    except OSError:
        name = None                                    # a missing file: let load_table say which
    cached = cache.load(name, economy.EconomyStructure) if name else None
    if cached:
        return cached
    table = load_table(str(data.table_dir))
    dep = dependence_matrix(table, materials, str(data.dependence_file))
    st = economy.build_structure(table, dep, gdp_jpy_bn=1.0, criticality=criticality, min_share=min_share)
    if name:
        cache.store(name, st, table.codes, table.names)
    return st, table.codes, table.names


def batch_spec(s: Scenario) -> BatchSpec:
    """Resolve a scenario's structural choices into a :class:`BatchSpec` (reads data files once, cached).

    Raises
    ------
    ScenarioError
        For priority sectors that are not in the table.
    """
    data = s.data_files()
    est, codes, names = _economy(data, tuple(s.materials), s.economy.criticality,
                                 s.economy.critical_input_min_share)
    priority: tuple[int, ...] = ()
    if s.economy.allocation == "priority" or s.stockpile.national.strategy == "reserve_for_priority":
        index = {c: i for i, c in enumerate(codes)}
        unknown = [c for c in s.economy.priority_sectors if c not in index]
        if unknown:
            raise ScenarioError(f"unknown sector codes {unknown} for table {s.economy.table!r}",
                                file=s.source_file, key="economy.priority_sectors")
        priority = tuple(index[c] for c in s.economy.priority_sectors)
    return BatchSpec(
        horizon_months=s.horizon_months, steps_per_month=s.steps_per_month, start_date=s.start_date,
        materials=tuple(s.materials), n_groups=1 if s.inventory.pooled else len(s.inventory.cover_months),
        pooled=s.inventory.pooled, strategy=s.stockpile.national.strategy, allocation=s.economy.allocation,
        priority=priority, economy=est, sector_codes=tuple(codes), sector_names=tuple(names),
        table=s.economy.table, data=data,
    )

