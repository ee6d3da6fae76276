"""The physical use table: who buys each rare earth, how much, and what it costs them to lack it.

A use table is a folder of CSV files (the bundled one is ``simulator/data``;
``economy.use_table`` names another), documented in ``data/USE_TABLE.md``:

- ``use_table.csv``: per material and application, the share of the
  material's tonnes the application uses and the 185-sector code of the
  sector that buys it directly (the magnet or catalyst maker, not the car
  assembler);
- ``criticality.csv``: per material and application, the short-run
  criticality (output lost per unit share of material missing), the
  inventory cover its buyers hold, and the value per kg that ranks
  applications in a market allocation;
- ``applications.csv``: per application, its share of the buying sector's output;
- ``final_links.csv``: per application, the downstream sectors that cannot
  ship part of their output without the component, that share, and the
  share of the component they import ready-made;
- ``made_to_order.csv``: sectors whose lost deliveries are deferred, not cancelled.

Only arrays leave this module (:class:`UseTable`); the equations that use
them are in :mod:`simulator.model.economy` and :mod:`simulator.model.supply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from simulator.errors import DataError

KEY = "economy.use_table"
FILES = ("use_table.csv", "criticality.csv", "applications.csv", "final_links.csv", "made_to_order.csv")


@dataclass(frozen=True)
class UseTable:
    """A use table as arrays; materials in the table's order, applications ``A`` in file order.

    Attributes
    ----------
    materials : tuple of str
        Material ids of the table (``Mt``).
    applications, names : tuple of str
        Application ids and names (``A``).
    share, share_low, share_high : ndarray (Mt, A)
        Share of the material's tonnes used by the application (rows sum to 1; 0 = not used).
    criticality, criticality_low, criticality_high : ndarray (Mt, A)
        Share of the application's output lost per unit share of its material missing.
    cover_months, cover_low, cover_high : ndarray (Mt, A)
        Inventory its buyers hold, months of the application's use.
    value_jpy_per_kg : ndarray (Mt, A)
        Value of the final product per kg of material (ranks bids).
    buyer : tuple of str (A,)
        185-sector code of the sector that buys the material directly.
    direct_share, direct_share_low, direct_share_high : ndarray (A,)
        The application's share of the buyer's output.
    link_app : ndarray of int (L,)
        Application of each final link.
    link_sector : tuple of str (L,)
        Downstream sector of each link.
    link_share, link_share_low, link_share_high : ndarray (L,)
        Share of that sector's output that needs the component.
    link_import, link_import_low, link_import_high : ndarray (L,)
        Share of the component the sector imports ready-made (not hit).
    deferred_sector : tuple of str
        Sectors with deferred (made-to-order) output.
    deferred_share, deferred_share_low, deferred_share_high : ndarray
        Share of their lost final deliveries that is deferred and made up later.
    folder : str
    """

    materials: tuple[str, ...]
    applications: tuple[str, ...]
    names: tuple[str, ...]
    share: np.ndarray
    share_low: np.ndarray
    share_high: np.ndarray
    criticality: np.ndarray
    criticality_low: np.ndarray
    criticality_high: np.ndarray
    cover_months: np.ndarray
    cover_low: np.ndarray
    cover_high: np.ndarray
    value_jpy_per_kg: np.ndarray
    buyer: tuple[str, ...]
    direct_share: np.ndarray
    direct_share_low: np.ndarray
    direct_share_high: np.ndarray
    link_app: np.ndarray
    link_sector: tuple[str, ...]
    link_share: np.ndarray
    link_share_low: np.ndarray
    link_share_high: np.ndarray
    link_import: np.ndarray
    link_import_low: np.ndarray
    link_import_high: np.ndarray
    deferred_sector: tuple[str, ...]
    deferred_share: np.ndarray
    deferred_share_low: np.ndarray
    deferred_share_high: np.ndarray
    folder: str

    def sectors(self) -> set[str]:
        """Every sector code the table names."""
        return set(self.buyer) | set(self.link_sector) | set(self.deferred_sector)


class _Csv:
    """A small CSV file as columns (the use table is read on every run: no pandas, which costs ~0.3 s)."""

    def __init__(self, path: Path, header: list[str], rows: list[list[str]]):
        self.path, self.header, self.rows = path, header, rows
        self.cols: dict[str, object] = {h: [r[i] for r in rows] for i, h in enumerate(header)}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, col: str):
        return self.cols[col]

    def get(self, col: str, default=None):
        return self.cols.get(col, default)


def _frame(folder: Path, name: str, need: list[str], codes: tuple[str, ...] = ()) -> _Csv:
    """Read one file of the use table; text columns stay text, the other needed columns become float arrays."""
    import csv
    import io

    from simulator.io.files import TABLE_MAX_BYTES, read_bounded
    from simulator.io.text import clip, one_line

    path = folder / name
    if not path.exists() and not path.is_symlink():
        raise DataError("file not found", file=str(path), key=KEY)
    data = read_bounded(path, TABLE_MAX_BYTES, what="data files", key=KEY, error=DataError)
    try:
        lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeError, csv.Error) as exc:
        raise DataError(f"cannot parse CSV: {clip(one_line(str(exc)), 200)}", file=str(path), key=KEY) from None
    lines = [r for r in lines if any(c.strip() for c in r)]
    if not lines:
        raise DataError("cannot parse CSV: the file is empty", file=str(path), key=KEY)
    header = [h.strip() for h in lines[0]]
    body = lines[1:]
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise DataError(f"cannot parse CSV: row {i + 2} has {len(r)} fields, the header {len(header)}",
                            file=str(path), key=KEY)
    df = _Csv(path, header, [[c.strip() for c in r] for r in body])
    missing = [c for c in need if c not in df.cols]
    if missing:
        raise DataError(f"needs columns {missing}", file=str(path), key=KEY)
    for col in need:
        if col in ("material", "application") + codes:
            if any(v == "" for v in df[col]):
                raise DataError(f"column {col!r} has empty cells", file=str(path), key=KEY)
            continue
        values = np.empty(len(df))
        for i, v in enumerate(df[col]):
            try:
                values[i] = float(v)
            except ValueError:
                values[i] = np.nan
            if not np.isfinite(values[i]):
                raise DataError(f"column {col!r}: not a number in row {i + 2}", file=str(path), key=KEY)
        df.cols[col] = values
    return df


def _ranged(df: _Csv, path: Path, col: str, lo: float, hi: float) -> None:
    """Check ``low <= col <= high`` and that every value is within ``[lo, hi]``."""
    for c in (col, f"{col}_low", f"{col}_high"):
        v = df[c]
        if ((v < lo) | (v > hi)).any():
            raise DataError(f"column {c!r} must be within [{lo:g}, {hi:g}]", file=str(path), key=KEY)
    bad = (df[f"{col}_low"] > df[col]) | (df[col] > df[f"{col}_high"])
    if bad.any():
        raise DataError(f"{col}_low <= {col} <= {col}_high fails in row {int(np.flatnonzero(bad)[0]) + 2}",
                        file=str(path), key=KEY)


def _unique(df: _Csv, path: Path, cols: list[str]) -> None:
    keys = list(zip(*(df[c] for c in cols), strict=True))
    if len(set(keys)) != len(keys):
        raise DataError(f"duplicate rows for {cols}", file=str(path), key=KEY)


@lru_cache(maxsize=8)
def load_use_table(folder: str) -> UseTable:
    """Read and check a use-table folder (cached: the files are immutable).

    Raises
    ------
    DataError
        Naming the file and what is wrong.
    """
    d = Path(folder)
    if not d.is_dir():
        raise DataError("use-table folder not found", file=str(d), key=KEY)
    use = _frame(d, "use_table.csv", ["material", "application", "sector_code", "share", "share_low",
                                      "share_high"], ("sector_code",))
    if not len(use):
        raise DataError("has no rows: a use table needs at least one application", file=str(d / "use_table.csv"),
                        key=KEY)
    _unique(use, d / "use_table.csv", ["material", "application"])
    _ranged(use, d / "use_table.csv", "share", 0.0, 1.0)
    totals: dict[str, float] = {}
    for m, v in zip(use["material"], use["share"], strict=True):
        totals[m] = totals.get(m, 0.0) + float(v)
    off = [(m, t) for m, t in totals.items() if abs(t - 1.0) > 1e-6]
    if off:
        raise DataError(f"shares of material {off[0][0]!r} sum to {off[0][1]:.6g}; they must sum to 1",
                        file=str(d / "use_table.csv"), key=KEY)
    crit = _frame(d, "criticality.csv", ["material", "application", "criticality", "criticality_low",
                                         "criticality_high", "cover_months", "cover_months_low",
                                         "cover_months_high", "value_jpy_per_kg"])
    _unique(crit, d / "criticality.csv", ["material", "application"])
    _ranged(crit, d / "criticality.csv", "criticality", 0.0, 1.0)
    _ranged(crit, d / "criticality.csv", "cover_months", 0.0, 120.0)
    apps = _frame(d, "applications.csv", ["application", "buyer_sector", "direct_output_share",
                                          "direct_output_share_low", "direct_output_share_high"], ("buyer_sector",))
    _unique(apps, d / "applications.csv", ["application"])
    _ranged(apps, d / "applications.csv", "direct_output_share", 0.0, 1.0)
    links = _frame(d, "final_links.csv", ["application", "final_sector", "final_output_share",
                                          "final_output_share_low", "final_output_share_high", "import_share",
                                          "import_share_low", "import_share_high"], ("final_sector",))
    _unique(links, d / "final_links.csv", ["application", "final_sector"])
    _ranged(links, d / "final_links.csv", "final_output_share", 0.0, 1.0)
    _ranged(links, d / "final_links.csv", "import_share", 0.0, 1.0)
    mto = _frame(d, "made_to_order.csv", ["sector_code", "deferred_share", "deferred_share_low",
                                          "deferred_share_high"], ("sector_code",))
    _unique(mto, d / "made_to_order.csv", ["sector_code"])
    _ranged(mto, d / "made_to_order.csv", "deferred_share", 0.0, 1.0)
    return _assemble(d, use, crit, apps, links, mto)


def _assemble(d: Path, use: _Csv, crit: _Csv, apps: _Csv, links: _Csv, mto: _Csv) -> UseTable:
    materials = tuple(dict.fromkeys(use["material"]))
    applications = tuple(dict.fromkeys(use["application"]))
    a_index = {a: i for i, a in enumerate(applications)}
    m_index = {m: i for i, m in enumerate(materials)}
    pairs = set(zip(use["material"], use["application"], strict=True))
    for name, frame in (("criticality.csv", crit),):
        other = set(zip(frame["material"], frame["application"], strict=True))
        if other != pairs:
            diff = sorted(pairs ^ other)[:3]
            raise DataError(f"(material, application) rows differ from use_table.csv, e.g. {diff}",
                            file=str(d / name), key=KEY)
    for name, frame in (("applications.csv", apps), ("final_links.csv", links)):
        unknown = sorted(set(frame["application"]) - set(applications))
        if unknown:
            raise DataError(f"applications {unknown[:5]} are not in use_table.csv", file=str(d / name), key=KEY)
    missing = sorted(set(applications) - set(apps["application"]))
    if missing:
        raise DataError(f"no row for applications {missing[:5]}", file=str(d / "applications.csv"), key=KEY)
    buyer_of: dict[str, set[str]] = {}
    for a, code in zip(use["application"], use["sector_code"], strict=True):
        buyer_of.setdefault(a, set()).add(code)
    several = [a for a, codes in buyer_of.items() if len(codes) > 1]
    if several:
        raise DataError(f"application {several[0]!r} has several buying sectors",
                        file=str(d / "use_table.csv"), key=KEY)
    row_of = {a: i for i, a in enumerate(apps["application"])}
    order = [row_of[a] for a in applications]
    app_buyer = [apps["buyer_sector"][i] for i in order]
    if any(b != next(iter(buyer_of[a])) for a, b in zip(applications, app_buyer, strict=True)):
        raise DataError("buyer_sector differs from use_table.csv's sector_code", file=str(d / "applications.csv"),
                        key=KEY)

    def grid(frame: _Csv, col: str) -> np.ndarray:
        out = np.zeros((len(materials), len(applications)))
        for m, a, v in zip(frame["material"], frame["application"], frame[col], strict=True):
            out[m_index[m], a_index[a]] = v
        return out

    return UseTable(
        materials=materials, applications=applications,
        names=tuple(apps["application_name"][i] for i in order) if apps.get("application_name") else applications,
        share=grid(use, "share"), share_low=grid(use, "share_low"), share_high=grid(use, "share_high"),
        criticality=grid(crit, "criticality"), criticality_low=grid(crit, "criticality_low"),
        criticality_high=grid(crit, "criticality_high"),
        cover_months=grid(crit, "cover_months"), cover_low=grid(crit, "cover_months_low"),
        cover_high=grid(crit, "cover_months_high"), value_jpy_per_kg=grid(crit, "value_jpy_per_kg"),
        buyer=tuple(app_buyer),
        direct_share=apps["direct_output_share"][order],
        direct_share_low=apps["direct_output_share_low"][order],
        direct_share_high=apps["direct_output_share_high"][order],
        link_app=np.array([a_index[a] for a in links["application"]], dtype=np.intp),
        link_sector=tuple(links["final_sector"]),
        link_share=links["final_output_share"].copy(),
        link_share_low=links["final_output_share_low"].copy(),
        link_share_high=links["final_output_share_high"].copy(),
        link_import=links["import_share"].copy(),
        link_import_low=links["import_share_low"].copy(),
        link_import_high=links["import_share_high"].copy(),
        deferred_sector=tuple(mto["sector_code"]),
        deferred_share=mto["deferred_share"].copy(),
        deferred_share_low=mto["deferred_share_low"].copy(),
        deferred_share_high=mto["deferred_share_high"].copy(),
        folder=str(d),
    )
