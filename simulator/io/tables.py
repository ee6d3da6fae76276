"""Loading input-output tables.

This is the I/O edge of the economy layer: it reads CSV files, checks them
and hands plain numpy arrays to :mod:`simulator.model.economy`.

A table is a directory in the MIC layout (see ``data/SOURCES_io_tables.md``):

- ``Z.csv``: intermediate transactions, rows = supplying sectors,
  columns = using sectors, first column ``row_sector_code``;
- ``final_demand.csv``: ``sector_code`` then final-demand columns; the
  import columns (``fd_impo``, ``fd_imta``, ``fd_imtx``) are negative;
- ``value_added.csv``: ``va_code`` then one column per sector; the row
  ``ohcr`` (consumption outside households) is excluded from GDP;
- ``sectors.csv`` (optional): ``sector_code``, ``name_en`` and, if known,
  ``sector13_code`` (MIC 13-sector group; ``03`` = manufacturing).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np


class _LazyPandas:
    """``pd`` imported on first use: a cached table never needs pandas, and
    importing it costs ~0.3 s of every ``resim run`` (see structure_cache)."""

    def __getattr__(self, name):
        import pandas

        return getattr(pandas, name)


pd = _LazyPandas()

from simulator.errors import DataError
from simulator.io.files import TABLE_MAX_BYTES, check_directory, read_bounded  # noqa: E402
from simulator.io.text import clip, one_line  # noqa: E402

#: What pandas raises for a malformed CSV (ParserError and EmptyDataError are ValueErrors).
#: Anything else (an ImportError, MemoryError, a bug) is not "cannot parse CSV" and propagates.
CSV_ERRORS = (ValueError, UnicodeError, csv.Error, IndexError, KeyError, OverflowError, TypeError)

IMPORT_COLUMNS = ("fd_impo", "fd_imta", "fd_imtx")
NON_GDP_VA_ROWS = ("ohcr",)
MANUFACTURING_13 = "03"


@dataclass(frozen=True)
class IOTable:
    """An input-output table as arrays (million yen, one year).

    Attributes
    ----------
    name : str
    codes, names : tuple of str
        Sector codes and English names, in table order.
    Z_jpy_mn : ndarray (n, n)
        Intermediate use, supplier rows x user columns.
    output_jpy_mn : ndarray (n,)
        Gross output.
    value_added_gdp_jpy_mn : ndarray (n,)
        Value added excluding consumption outside households (GDP basis).
    import_share : ndarray (n,)
        Imports over domestic use (MIC's import coefficient), in [0, 1].
    manufacturing : ndarray of bool (n,)
        Sectors in MIC's 13-sector group 03 (all True if unknown).
    parent_codes : tuple of str or None
        37-sector code of each sector, for tables finer than 37 sectors.
    """

    name: str
    codes: tuple
    names: tuple
    Z_jpy_mn: np.ndarray
    output_jpy_mn: np.ndarray
    value_added_gdp_jpy_mn: np.ndarray
    import_share: np.ndarray
    manufacturing: np.ndarray
    parent_codes: tuple | None = None

    @property
    def n(self) -> int:
        return len(self.codes)


def _numeric(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The frame as floats, or a DataError naming the first cell that is not a number."""
    vals = df.apply(pd.to_numeric, errors="coerce")
    bad = (vals.isna() & df.notna()).to_numpy()
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"not a number: {df.iat[r, c]!r} (row {df.index[r]}, column {df.columns[c]})",
                        file=str(path), key="economy.table")
    return vals.astype(float)


def _read_csv(path: Path, key: str = "economy.table", **kw) -> pd.DataFrame:
    """Read a CSV data file (a regular file of at most 200 MB) as a frame, or raise one :class:`DataError`.

    The file is read once, bounded (:func:`simulator.io.files.read_bounded`: no FIFO,
    device, directory or symbolic-link loop), and parsed from memory.
    """
    if not os.path.lexists(path):
        hint = (" (an input-output table needs Z.csv, final_demand.csv and value_added.csv)"
                if key == "economy.table" else "")
        raise DataError(f"file not found{hint}", file=str(path), key=key)
    data = read_bounded(path, TABLE_MAX_BYTES, what="data files", key=key, error=DataError)
    try:
        return pd.read_csv(io.BytesIO(data), **kw)
    except CSV_ERRORS as exc:  # malformed CSV, in any of the ways pandas reports it
        raise DataError(f"cannot parse CSV: {clip(one_line(str(exc)), 200)}", file=str(path),
                        key=key) from None


@lru_cache(maxsize=16)
def load_table(directory: str) -> IOTable:
    """Read and check a table directory. Cached: tables are immutable."""
    d = check_directory(Path(directory), key="economy.table", error=DataError,
                        what="input-output table directory")
    z = _read_csv(d / "Z.csv", index_col=0, dtype={0: str})
    z.index = z.index.astype(str)
    z.columns = z.columns.astype(str)
    codes = tuple(z.index)
    if z.shape[0] != z.shape[1] or list(z.columns) != list(codes):
        raise DataError(
            f"Z must be square with the same sector codes in rows and columns (got {z.shape[0]} rows x {z.shape[1]} columns)",
            file=str(d / "Z.csv"), key="economy.table",
        )
    fd = _read_csv(d / "final_demand.csv", dtype={"sector_code": str})
    if "sector_code" not in fd.columns:
        raise DataError("needs a sector_code column", file=str(d / "final_demand.csv"))
    if fd["sector_code"].duplicated().any():
        raise DataError("duplicate sector_code rows", file=str(d / "final_demand.csv"), key="economy.table")
    fd = fd.set_index("sector_code").reindex(list(codes))
    if fd.isna().any().any():
        raise DataError("missing sectors or values (every Z sector needs a row)", file=str(d / "final_demand.csv"))
    va = _read_csv(d / "value_added.csv", dtype={"va_code": str})
    if "va_code" not in va.columns:
        raise DataError("needs a va_code column", file=str(d / "value_added.csv"))
    va = va.set_index("va_code")
    va.columns = va.columns.astype(str)
    missing = [c for c in codes if c not in va.columns]
    if missing:
        raise DataError(f"no column for sectors {missing[:5]}", file=str(d / "value_added.csv"))
    va = va[list(codes)]
    z, fd, va = (_numeric(f, d / name) for f, name in ((z, "Z.csv"), (fd, "final_demand.csv"), (va, "value_added.csv")))

    Z = z.to_numpy(dtype=float)
    fd_vals = fd.to_numpy(dtype=float)
    if not (np.isfinite(Z).all() and np.isfinite(fd_vals).all() and np.isfinite(va.to_numpy(dtype=float)).all()):
        raise DataError("contains non-finite numbers", file=str(d), key="economy.table")
    output = Z.sum(axis=1) + fd_vals.sum(axis=1)
    if (output <= 0).any():
        bad = [codes[i] for i in np.flatnonzero(output <= 0)[:5]]
        raise DataError(f"sectors with zero or negative output: {bad}", file=str(d), key="economy.table")
    col_output = Z.sum(axis=0) + va.to_numpy(dtype=float).sum(axis=0)
    rel = np.abs(col_output - output) / output
    if rel.max() > 1e-3:
        i = int(rel.argmax())
        raise DataError(
            f"rows and columns do not balance for sector {codes[i]} (row total {output[i]:.0f}, column total {col_output[i]:.0f})",
            file=str(d), key="economy.table",
        )
    gdp_rows = [r for r in va.index if r not in NON_GDP_VA_ROWS]
    va_gdp = va.loc[gdp_rows].to_numpy(dtype=float).sum(axis=0)
    imports = -sum(fd[c].to_numpy(dtype=float) for c in IMPORT_COLUMNS if c in fd.columns)
    domestic_fd_cols = [c for c in fd.columns if c not in IMPORT_COLUMNS and c != "fd_expo"]
    domestic_use = Z.sum(axis=1) + fd[domestic_fd_cols].to_numpy(dtype=float).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(domestic_use > 0, imports / domestic_use, 0.0)
    m = np.clip(np.nan_to_num(m), 0.0, 1.0)

    names = codes
    manufacturing = np.ones(len(codes), dtype=bool)
    parents = None
    sectors_path = d / "sectors.csv"
    if os.path.lexists(sectors_path):
        sec = _read_csv(sectors_path, dtype=str)
        if "sector_code" not in sec.columns or sec["sector_code"].duplicated().any():
            raise DataError("needs a sector_code column with one row per sector", file=str(sectors_path), key="economy.table")
        sec = sec.set_index("sector_code").reindex(list(codes))
        if "name_en" in sec.columns:
            names = tuple(sec["name_en"].fillna("").where(sec["name_en"].notna(), pd.Series(codes, index=sec.index)))
        if "sector13_code" in sec.columns and sec["sector13_code"].notna().all():
            manufacturing = (sec["sector13_code"] == MANUFACTURING_13).to_numpy()
        if "sector37_code" in sec.columns and sec["sector37_code"].notna().all():
            parents = tuple(sec["sector37_code"])
    try:
        np.linalg.inv(np.eye(len(codes)) - Z / output[None, :])
    except np.linalg.LinAlgError:
        raise DataError("the Leontief matrix I - A is singular", file=str(d), key="economy.table") from None
    # The economy's fixed points need a productive table: spectral radius of the
    # (non-negative part of the) input coefficients below 1, else losses diverge.
    rho = float(np.abs(np.linalg.eigvals(np.clip(Z / output[None, :], 0.0, None))).max())
    if rho >= 1.0 - 1e-9:
        raise DataError(
            f"the table is not productive: the input coefficients' spectral radius is {rho:.3g} (must be "
            "below 1; look for sectors whose inputs exceed their output, i.e. negative value added)",
            file=str(d), key="economy.table",
        )
    return IOTable(
        name=d.name,
        codes=codes,
        names=tuple(str(x) for x in names),
        Z_jpy_mn=Z,
        output_jpy_mn=output,
        value_added_gdp_jpy_mn=va_gdp,
        import_share=m,
        manufacturing=manufacturing,
        parent_codes=parents,
    )
