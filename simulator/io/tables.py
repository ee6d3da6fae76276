"""Loading input-output tables.

This is the I/O edge of the economy layer: it reads CSV files, checks them
and hands plain numpy arrays to :mod:`simulator.model.economy`.

A table is a directory in the MIC layout (see ``data/SOURCES_io_tables.md``;
``docs/byo-data.md`` documents every file, column and check for your own tables):

- ``Z.csv``: intermediate transactions, rows = supplying sectors,
  columns = using sectors, first column ``row_sector_code``;
- ``final_demand.csv``: ``sector_code`` then final-demand columns; the
  import columns (``fd_impo``, ``fd_imta``, ``fd_imtx``) are negative;
- ``value_added.csv``: ``va_code`` then one column per sector; the row
  ``ohcr`` (consumption outside households) is excluded from GDP;
- ``sectors.csv`` (optional): ``sector_code``, ``name_en`` and, if known,
  ``sector13_code`` (MIC 13-sector group; ``03`` = manufacturing) or a
  ``manufacturing`` column (1/0), and ``sector37_code`` (parent sector).

Two import forms load. *Competitive* (MIC): Z and final demand include
imported goods and the import columns subtract them; the import share of
each product is then imports / domestic use. *Non-competitive*: Z and final
demand hold domestic goods only, no import column, and the imported inputs
of each using sector are a value-added row ``imported_inputs`` (excluded
from GDP); the import shares are then zero (the Z of a pymrio region,
:mod:`simulator.io.pymrio_table`).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.errors import DataError
from simulator.io.files import TABLE_MAX_BYTES, check_directory, read_bounded
from simulator.io.text import clip, one_line


class _LazyPandas:
    """``pd`` imported on first use.

    A cached table never needs pandas, and importing it costs ~0.3 s of every
    ``resim run`` (see structure_cache).
    """

    def __getattr__(self, name):
        import pandas

        return getattr(pandas, name)


if TYPE_CHECKING:
    import pandas as pd
else:
    pd = _LazyPandas()

#: What pandas raises for a malformed CSV (ParserError and EmptyDataError are ValueErrors).
#: Anything else (an ImportError, MemoryError, a bug) is not "cannot parse CSV" and propagates.
CSV_ERRORS = (ValueError, UnicodeError, csv.Error, IndexError, KeyError, OverflowError, TypeError)

IMPORT_COLUMNS = ("fd_impo", "fd_imta", "fd_imtx")
#: Value-added row of a non-competitive table: imported intermediate inputs of each sector.
IMPORTED_INPUTS_ROW = "imported_inputs"
NON_GDP_VA_ROWS = ("ohcr", IMPORTED_INPUTS_ROW)
MANUFACTURING_13 = "03"
#: Accepted values of a ``manufacturing`` column of sectors.csv.
_TRUE, _FALSE = ("1", "true", "yes", "y"), ("0", "false", "no", "n")
#: Text read as text, not as a missing value: a sector may be called "NA" (an empty cell stays missing).
_NA: dict[str, Any] = {"keep_default_na": False, "na_values": [""]}


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
        """Number of sectors."""
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


def _codes_text(codes) -> str:
    """At most five codes for an error line."""
    codes = [str(c) for c in codes]
    return f"{codes[:5]}" + (f" and {len(codes) - 5} more" if len(codes) > 5 else "")


@lru_cache(maxsize=16)
def load_table(directory: str) -> IOTable:
    """Read and check a table directory. Cached: tables are immutable.

    Raises
    ------
    DataError
        One line naming the file and what is wrong (``docs/byo-data.md`` lists every check).
    """
    key = "economy.table"
    d = check_directory(Path(directory), key=key, error=DataError,
                        what="input-output table directory")
    z = _read_csv(d / "Z.csv", index_col=0, dtype={0: str}, **_NA)
    z.index = z.index.astype(str)
    z.columns = z.columns.astype(str)
    codes = tuple(z.index)
    if z.shape[0] != z.shape[1] or list(z.columns) != list(codes):
        raise DataError(
            f"Z must be square with the same sector codes in rows and columns (got {z.shape[0]} rows x "
            f"{z.shape[1]} columns)",
            file=str(d / "Z.csv"), key=key,
        )
    if len(set(codes)) != len(codes):
        dup = sorted({c for c in codes if codes.count(c) > 1})
        raise DataError(f"duplicate sector codes {_codes_text(dup)}", file=str(d / "Z.csv"), key=key)
    fd_path = d / "final_demand.csv"
    fd = _read_csv(fd_path, dtype={"sector_code": str}, **_NA)
    if "sector_code" not in fd.columns:
        raise DataError("needs a sector_code column", file=str(fd_path), key=key)
    if fd["sector_code"].duplicated().any():
        raise DataError("duplicate sector_code rows", file=str(fd_path), key=key)
    extra = [c for c in fd["sector_code"] if c not in set(codes)]
    if extra:
        raise DataError(f"rows for sectors that are not in Z.csv: {_codes_text(extra)}", file=str(fd_path),
                        key=key)
    missing = [c for c in codes if c not in set(fd["sector_code"])]
    if missing:
        raise DataError(f"missing sectors {_codes_text(missing)} (every Z sector needs a row)",
                        file=str(fd_path), key=key)
    fd = fd.set_index("sector_code").reindex(list(codes))
    if fd.isna().any().any():
        raise DataError("missing sectors or values (every Z sector needs a row)", file=str(fd_path), key=key)
    va_path = d / "value_added.csv"
    va = _read_csv(va_path, dtype={"va_code": str}, **_NA)
    if "va_code" not in va.columns:
        raise DataError("needs a va_code column", file=str(va_path), key=key)
    if va["va_code"].duplicated().any():
        raise DataError("duplicate va_code rows", file=str(va_path), key=key)
    va = va.set_index("va_code")
    va.columns = va.columns.astype(str)
    missing = [c for c in codes if c not in va.columns]
    if missing:
        raise DataError(f"no column for sectors {_codes_text(missing)}", file=str(va_path), key=key)
    extra = [c for c in va.columns if c not in set(codes)]
    if extra:
        raise DataError(f"columns for sectors that are not in Z.csv: {_codes_text(extra)}", file=str(va_path),
                        key=key)
    va = va[list(codes)]
    z, fd, va = (_numeric(f, d / name)
                 for f, name in ((z, "Z.csv"), (fd, "final_demand.csv"), (va, "value_added.csv")))

    Z = z.to_numpy(dtype=float)
    fd_vals = fd.to_numpy(dtype=float)
    va_vals = va.to_numpy(dtype=float)
    if not (np.isfinite(Z).all() and np.isfinite(fd_vals).all() and np.isfinite(va_vals).all()):
        raise DataError("contains non-finite numbers", file=str(d), key=key)
    imports_cols = [c for c in IMPORT_COLUMNS if c in fd.columns]
    positive = [c for c in imports_cols if (fd[c].to_numpy(dtype=float) > 0).any()]
    if positive:
        raise DataError(f"import column {positive[0]!r} has positive entries; imports are subtracted, so "
                        "they must be zero or negative", file=str(fd_path), key=key)
    if IMPORTED_INPUTS_ROW in va.index and any(fd[c].to_numpy(dtype=float).any() for c in imports_cols):
        raise DataError(f"has a {IMPORTED_INPUTS_ROW!r} row (non-competitive form: Z holds domestic goods "
                        f"only) while final_demand.csv has import columns {imports_cols} (competitive form); "
                        "use one form", file=str(va_path), key=key)
    output = Z.sum(axis=1) + fd_vals.sum(axis=1)
    if (output <= 0).any():
        bad = [codes[i] for i in np.flatnonzero(output <= 0)[:5]]
        raise DataError(f"sectors with zero or negative output: {bad}", file=str(d), key=key)
    col_output = Z.sum(axis=0) + va_vals.sum(axis=0)
    rel = np.abs(col_output - output) / output
    if rel.max() > 1e-3:
        i = int(rel.argmax())
        raise DataError(
            f"rows and columns do not balance for sector {codes[i]} (row total {output[i]:.0f}, column total "
            f"{col_output[i]:.0f})",
            file=str(d), key=key,
        )
    gdp_rows = [r for r in va.index if r not in NON_GDP_VA_ROWS]
    va_gdp = va.loc[gdp_rows].to_numpy(dtype=float).sum(axis=0)
    if va_gdp.sum() <= 0:
        raise DataError(f"total value added (GDP basis, rows {gdp_rows}) is {va_gdp.sum():.6g}; it must be "
                        "positive", file=str(va_path), key=key)
    imports = -sum((fd[c].to_numpy(dtype=float) for c in imports_cols), np.zeros(len(codes)))
    domestic_fd_cols = [c for c in fd.columns if c not in IMPORT_COLUMNS and c != "fd_expo"]
    domestic_use = Z.sum(axis=1) + fd[domestic_fd_cols].to_numpy(dtype=float).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(domestic_use > 0, imports / domestic_use, 0.0)
    m = np.clip(np.nan_to_num(m), 0.0, 1.0)

    names, manufacturing, parents = _sector_labels(d, codes)
    try:
        np.linalg.inv(np.eye(len(codes)) - Z / output[None, :])
    except np.linalg.LinAlgError:
        raise DataError("the Leontief matrix I - A is singular", file=str(d), key=key) from None
    # The economy's fixed points need a productive table: spectral radius of the
    # (non-negative part of the) input coefficients below 1, else losses diverge.
    rho = float(np.abs(np.linalg.eigvals(np.clip(Z / output[None, :], 0.0, None))).max())
    if rho >= 1.0 - 1e-9:
        raise DataError(
            f"the table is not productive: the input coefficients' spectral radius is {rho:.3g} (must be "
            "below 1; look for sectors whose inputs exceed their output, i.e. negative value added)",
            file=str(d), key=key,
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


def _sector_labels(d: Path, codes: tuple) -> tuple[tuple, np.ndarray, tuple | None]:
    """Names, manufacturing flags and parent codes from the optional ``sectors.csv``."""
    names = codes
    manufacturing = np.ones(len(codes), dtype=bool)
    parents = None
    path = d / "sectors.csv"
    if not os.path.lexists(path):
        return names, manufacturing, parents
    sec = _read_csv(path, dtype=str, **_NA)
    if "sector_code" not in sec.columns or sec["sector_code"].duplicated().any():
        raise DataError("needs a sector_code column with one row per sector", file=str(path),
                        key="economy.table")
    sec = sec.replace("", np.nan).set_index("sector_code").reindex(list(codes))
    if "name_en" in sec.columns:
        names = tuple(sec["name_en"].where(sec["name_en"].notna(), pd.Series(codes, index=sec.index)))
    if "manufacturing" in sec.columns:
        flags = sec["manufacturing"].fillna("").str.strip().str.lower()
        bad = [c for c, f in zip(codes, flags, strict=True) if f not in _TRUE + _FALSE]
        if bad:
            raise DataError(f"column 'manufacturing' must be 1 or 0 (true/false, yes/no) for every sector; "
                            f"not for {_codes_text(bad)}", file=str(path), key="economy.table")
        manufacturing = flags.isin(_TRUE).to_numpy()
    elif "sector13_code" in sec.columns and sec["sector13_code"].notna().all():
        manufacturing = (sec["sector13_code"] == MANUFACTURING_13).to_numpy()
    if "sector37_code" in sec.columns and sec["sector37_code"].notna().all():
        parents = tuple(sec["sector37_code"])
    return names, manufacturing, parents
