"""The batch specification: what every scenario of a batch shares.

A scenario (the validated TOML schema, :mod:`simulator.io.scenario`) is
resolved here, once, into a plain frozen :class:`BatchSpec`: the time grid,
the materials and their firm groups (the applications of the physical use
table, highest bidder first), the stockpile and allocation rules, and the
economy's precomputed structure with the use table wired into the table's
sectors. The engine (:mod:`simulator.core.engine`) reads only a
``BatchSpec`` and the parameter arrays of :mod:`simulator.core.params`; it
never sees the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from simulator.errors import DataError, ScenarioError
from simulator.io import cache
from simulator.io.datafiles import FINE_TABLE, DataFiles, bundled_table_dir
from simulator.io.scenario import Scenario
from simulator.io.tables import IOTable, load_table
from simulator.io.usetable import UseTable, load_use_table
from simulator.model import economy

#: Scenario keys that must be equal across a batch (sweeps group by them).
STRUCTURAL_KEYS = (
    "horizon_months", "steps_per_month", "start_date",
    "inventory.pooled",
    "stockpile.national.strategy",
    "economy.table", "economy.region", "economy.use_table", "economy.criticality",
    "economy.critical_input_min_share", "economy.allocation", "economy.priority_sectors",
)


@dataclass(frozen=True)
class Groups:
    """The firm groups of every material: the applications that use it, highest bidder first.

    Attributes
    ----------
    app : ndarray of int (M, K)
        Application index of each group (-1: an unused slot of a material with fewer applications).
    share : ndarray (M, K)
        Share of the material's demand (sums to 1 per material).
    cover_months : ndarray (M, K)
        Inventory cover of the group's buyers, months of its use.
    criticality : ndarray (M, K)
        Short-run output lost per unit share of material missing.
    first : ndarray of bool (M, K)
        Served before the others (``economy.allocation = "priority"``).
    reserved : ndarray of bool (M, K)
        May get national releases under ``reserve_for_priority``.
    bid : ndarray (M, K)
        What ranks the groups, yen per kg.
    """

    app: np.ndarray
    share: np.ndarray
    cover_months: np.ndarray
    criticality: np.ndarray
    first: np.ndarray
    reserved: np.ndarray
    bid: np.ndarray


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
    groups : Groups
        The firm groups of every material.
    applications, application_names : tuple of str
        The use table's applications (product lines).
    pooled : bool
        Firms hold one pool instead of each group its own stock.
    strategy : str
        National stockpile release rule.
    allocation : str
        How scarce material is shared among firm groups.
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
    groups: Groups
    applications: tuple[str, ...]
    application_names: tuple[str, ...]
    pooled: bool
    strategy: str
    allocation: str
    economy: economy.EconomyStructure
    sector_codes: tuple[str, ...]
    sector_names: tuple[str, ...]
    table: str
    data: DataFiles

    @property
    def n_groups(self) -> int:
        """Firm groups per material (K)."""
        return int(self.groups.app.shape[1])


def batch_key(s: Scenario) -> tuple:
    """What scenarios must share to run in one batch."""
    def frozen(v):
        return tuple(v) if isinstance(v, list) else v

    return (tuple(frozen(s.get(k)) for k in STRUCTURAL_KEYS), tuple(s.materials), s.data_files())


# --------------------------------------------------------------------------
# The use table wired into a table's sectors
# --------------------------------------------------------------------------

def wire_use_table(table: IOTable, use: UseTable, fine: IOTable | None) -> economy.UseLinks:
    """Map the use table's sectors (``F``: buyers and assemblers) to the table's.

    When the table has the use table's codes, the map is the identity. When
    it is coarser (the 37-sector table), each use-table sector goes to its
    parent sector with its share of the parent's output (2015 outputs of the
    185-sector table): direct losses, restart and catch-up are computed at
    the use table's sectors, then aggregated, so both tables see the same shock.

    Raises
    ------
    DataError
        When a use-table sector has no place in the table.
    """
    F = sorted(set(use.buyer) | set(use.link_sector))
    to_table = _sector_map(table, fine, F, use.folder)
    col = {c: i for i, c in enumerate(F)}
    line_buyer = np.zeros((len(use.applications), len(F)))
    for a, code in enumerate(use.buyer):
        line_buyer[a, col[code]] = use.direct_share[a]
    # made-to-order sectors the use table hits directly (others are never directly short)
    source = table if all(c in table.codes for c in F) else fine
    assert source is not None
    src_index = {c: i for i, c in enumerate(source.codes)}
    final = np.clip(1.0 - economy.output_shares(economy.input_coefficients(source.Z_jpy_mn, source.output_jpy_mn),
                                                source.output_jpy_mn, source.import_share).sum(axis=1), 0.0, 1.0)
    rows = [i for i, c in enumerate(use.deferred_sector) if c in col]
    cols = np.array([col[use.deferred_sector[i]] for i in rows], dtype=np.intp)
    return economy.UseLinks(
        line_buyer=line_buyer,
        link_app=use.link_app.copy(),
        link_col=np.array([col[c] for c in use.link_sector], dtype=np.intp),
        link_share=use.link_share.copy(),
        link_import=use.link_import.copy(),
        to_table=to_table,
        deferred_col=cols,
        deferred_share=use.deferred_share[rows].copy(),
        deferred_final=np.array([final[src_index[use.deferred_sector[i]]] for i in rows]),
        deferred_weight=_output_share(table, fine, [use.deferred_sector[i] for i in rows]),
        deferred_table=to_table[cols].argmax(axis=1).astype(np.intp) if len(cols) else np.zeros(0, np.intp),
    )


def _sector_map(table: IOTable, fine: IOTable | None, codes: list[str], folder: str) -> np.ndarray:
    """Weights (len(codes), n): the table-sector output lost per unit direct loss of each code.

    At the table's own codes this is the identity. For a coarser table,
    a direct loss ``d`` of a fine sector ``j`` costs its parent ``I`` the share
    ``m_j d`` of its output, where ``m_j`` counts ``j``'s own output and the
    output its suppliers inside ``I`` lose with it (the fine table's
    upstream chain within the parent: parts makers lose when car makers
    stop, though both are "transportation equipment"):
    ``m_j = sum_{i in I} x_i q_i / x_I`` with ``q = (1 - B'_II)^-1 e_j`` and
    ``B'`` the fine output-share matrix with ``j``'s own row cleared (its
    output is set by its loss). Without it the coarse table would lose the
    chain inside the aggregate and report a smaller loss.
    """
    index = {c: i for i, c in enumerate(table.codes)}
    out = np.zeros((len(codes), table.n))
    if all(c in index for c in codes):
        for r, c in enumerate(codes):
            out[r, index[c]] = 1.0
        return out
    if fine is None or not fine.parent_codes or set(fine.parent_codes) != set(table.codes):
        missing = sorted(c for c in codes if c not in index)[:5]
        raise DataError(f"sector codes {missing} are not in table {table.name!r}; give a use table at this "
                        "table's codes (economy.use_table)", file=folder, key="economy.use_table")
    fine_index = {c: i for i, c in enumerate(fine.codes)}
    x = fine.output_jpy_mn
    B = economy.output_shares(economy.input_coefficients(fine.Z_jpy_mn, x), x, fine.import_share)
    parents = np.array([index[c] for c in fine.parent_codes])
    for r, c in enumerate(codes):
        if c not in fine_index:
            raise DataError(f"sector code {c!r} is not in table {fine.name!r}", file=folder, key="economy.use_table")
        j = fine_index[c]
        members = np.flatnonzero(parents == parents[j])
        sub = B[np.ix_(members, members)].copy()
        own = int(np.flatnonzero(members == j)[0])
        sub[own] = 0.0
        unit = np.zeros(len(members))
        unit[own] = 1.0
        q = np.linalg.solve(np.eye(len(members)) - sub, unit)
        out[r, parents[j]] = x[members] @ q / x[members].sum()
    return out


def _output_share(table: IOTable, fine: IOTable | None, codes: list[str]) -> np.ndarray:
    """Each code's output as a share of its table sector's output (1 at the table's own codes)."""
    if all(c in table.codes for c in codes) or fine is None or not fine.parent_codes:
        return np.ones(len(codes))
    x = dict(zip(fine.codes, fine.output_jpy_mn, strict=True))
    parent = dict(zip(fine.codes, fine.parent_codes, strict=True))
    total: dict[str, float] = {}
    for c, par in parent.items():
        total[par] = total.get(par, 0.0) + x[c]
    return np.array([x[c] / total[parent[c]] for c in codes])


@lru_cache(maxsize=32)
def _economy(data: DataFiles, criticality: float, min_share: float
             ) -> tuple[economy.EconomyStructure, tuple[str, ...], tuple[str, ...]]:
    """The economy structure of a table and use table, from the disk cache when valid."""
    args = ("v2", str(data.table_dir), str(data.use_table_dir), criticality, min_share)
    try:
        name = cache.key(args, [path for _, path in data.files()])
    except OSError:
        name = None                                    # a missing file: let the loaders say which
    cached = cache.load(name, economy.EconomyStructure) if name else None
    if cached:
        return cached
    table = load_table(str(data.table_dir))
    use = load_use_table(str(data.use_table_dir))
    fine = None if set(use.sectors()) <= set(table.codes) else load_table(str(bundled_table_dir(FINE_TABLE)))
    links = wire_use_table(table, use, fine)
    st = economy.build_structure(table, links, gdp_jpy_bn=1.0, criticality=criticality, min_share=min_share)
    if name:
        cache.store(name, st, table.codes, table.names)
    return st, table.codes, table.names


# --------------------------------------------------------------------------
# Firm groups: the applications of each material, ranked
# --------------------------------------------------------------------------

def value_at_risk_per_share(st: economy.EconomyStructure) -> np.ndarray:
    """Monthly value added (per unit of annual GDP) an application puts at risk when it stops, (A,).

    Its own share of the buyer's value added, plus the assemblers' value
    added that needs it (net of imported components).
    """
    va_month = st.output_jpy_bn_per_month * st.va_ratio                 # (n,)
    f_value = st.to_table @ va_month                                     # (F,) value added of each F sector
    stake = st.line_buyer @ f_value
    if len(st.link_app):
        np.add.at(stake, st.link_app, st.link_share * (1.0 - st.link_import) * f_value[st.link_col])
    return stake


def groups_of(s: Scenario, use: UseTable, st: economy.EconomyStructure, codes: tuple[str, ...]) -> Groups:
    """The firm groups of the scenario's materials, highest bidder first.

    Bids: ``market`` and ``priority`` rank by criticality x value of the final
    product per kg (what a buyer can pay); ``value_added`` by the value added
    at risk per tonne; ``proportional`` keeps the table's order (it does not
    rank). Priority applications (bought or assembled by a sector of
    ``economy.priority_sectors``) come first, in the listed order.
    """
    missing = [m for m in s.materials if m not in use.materials]
    if missing:
        raise DataError(f"materials {missing} are not in the use table (it has {list(use.materials)})",
                        file=use.folder, key="economy.use_table")
    rows = [use.materials.index(m) for m in s.materials]
    share, crit = use.share[rows], use.criticality[rows]                  # (M, A)
    if s.economy.allocation == "value_added":
        stake = value_at_risk_per_share(st)
        with np.errstate(divide="ignore", invalid="ignore"):
            bid = np.where(share > 0, crit * stake[None, :] / share, 0.0)
    else:
        bid = crit * use.value_jpy_per_kg[rows]
    rank = _priority_rank(s, use, st, codes)                              # (A,) position among priority apps
    M = len(rows)
    K = int((share > 0).sum(axis=1).max())
    out = {name: np.zeros((M, K)) for name in ("share", "cover", "crit", "bid")}
    app = np.full((M, K), -1, dtype=np.intp)
    first = np.zeros((M, K), bool)
    for i in range(M):
        used = np.flatnonzero(share[i] > 0)
        if s.economy.allocation == "priority":
            used = used[np.lexsort((-bid[i, used], rank[used]))]
        elif s.economy.allocation != "proportional":
            used = used[np.argsort(-bid[i, used], kind="stable")]
        app[i, : len(used)] = used
        out["share"][i, : len(used)] = share[i, used]
        out["cover"][i, : len(used)] = use.cover_months[rows[i], used]
        out["crit"][i, : len(used)] = crit[i, used]
        out["bid"][i, : len(used)] = bid[i, used]
        first[i, : len(used)] = rank[used] < len(rank)
    none = np.zeros((M, K), bool)
    return Groups(app=app, share=out["share"], cover_months=out["cover"], criticality=out["crit"],
                  first=first if s.economy.allocation == "priority" else none,
                  reserved=first if s.stockpile.national.strategy == "reserve_for_priority" else none,
                  bid=out["bid"])


def _priority_rank(s: Scenario, use: UseTable, st: economy.EconomyStructure, codes: tuple[str, ...]) -> np.ndarray:
    """Position of each application among the priority ones (A,); ``A`` for the others."""
    A = len(use.applications)
    rank = np.full(A, A)
    wanted = s.economy.priority_sectors
    if not wanted or not (s.economy.allocation == "priority"
                          or s.stockpile.national.strategy == "reserve_for_priority"):
        return rank
    index = {c: i for i, c in enumerate(codes)}
    unknown = [c for c in wanted if c not in index]
    if unknown:
        raise ScenarioError(f"unknown sector codes {unknown} for table {s.economy.table!r}",
                            file=s.source_file, key="economy.priority_sectors")
    # the table sectors each application reaches: its buyer and its assemblers
    reach = [set(np.flatnonzero(st.line_buyer[a] @ st.to_table > 0)) for a in range(A)]
    for a, col in zip(st.link_app, st.link_col, strict=True):
        reach[a] |= set(np.flatnonzero(st.to_table[col] > 0))
    for pos, code in enumerate(wanted):
        for a in range(A):
            if index[code] in reach[a]:
                rank[a] = min(rank[a], pos)
    return rank


def batch_spec(s: Scenario) -> BatchSpec:
    """Resolve a scenario's structural choices into a :class:`BatchSpec` (reads data files once, cached).

    Raises
    ------
    ScenarioError, DataError
        For priority sectors that are not in the table, or a use table that
        does not fit the scenario's materials or table.
    """
    data = s.data_files()
    est, codes, names = _economy(data, s.economy.criticality, s.economy.critical_input_min_share)
    use = load_use_table(str(data.use_table_dir))
    return BatchSpec(
        horizon_months=s.horizon_months, steps_per_month=s.steps_per_month, start_date=s.start_date,
        materials=tuple(s.materials), groups=groups_of(s, use, est, codes), applications=use.applications,
        application_names=use.names, pooled=s.inventory.pooled, strategy=s.stockpile.national.strategy,
        allocation=s.economy.allocation, economy=est, sector_codes=tuple(codes), sector_names=tuple(names),
        table=s.economy.table, data=data,
    )
