"""Tables that pymrio can read: ``economy.table = "pymrio:PATH"``, one region as resim's table.

`pymrio <https://github.com/IndEcol/pymrio>`_ reads multi-regional
input-output systems: EXIOBASE 3 (as downloaded, zip or folder), the OECD
ICIO tables (one ``ICIO*.csv`` or ``.zip`` file), and any system saved with
``IOSystem.save_all`` (a folder, or a zip made with ``pymrio.archive``; use
this for WIOD, Eora26, GLORIA and the others pymrio parses with their own
arguments). :func:`region_table` cuts one region out of such a system in
resim's non-competitive layout (:mod:`simulator.io.tables`):

- ``Z.csv``: the region's domestic intermediate use, Z[(r, i), (r, j)];
- ``final_demand.csv``: the region's final-demand categories, domestic
  goods only, Y[(r, i), (r, c)], and ``fd_expo``: everything the region's
  sectors sell to other regions (their intermediate use and final demand);
- ``value_added.csv``: ``value_added`` = output less all intermediate
  inputs (domestic and imported; so taxes on products and any row pymrio
  keeps outside Z are in it), and ``imported_inputs``, the intermediate
  inputs from other regions (excluded from GDP);
- ``sectors.csv``: the sector labels as codes and names;
- ``source.json``: where the table came from, the region, the versions and
  a few totals (the provenance of every run lists and hashes it).

The rows and columns of the result balance exactly by construction. Sectors
with nothing at all (no output, no purchases, no sales) are dropped and
listed in ``source.json``. The conversion runs once per source, region and
version: the files are written under the cache folder (``tables/`` in
``$RESIM_CACHE_DIR``, see :mod:`simulator._cachedir`) and reused while the
source's files keep their sizes and modification times; with the cache off
(or not writable) they go to a temporary folder removed at exit. ``python -m
simulator.io.pymrio_table SOURCE REGION OUT`` writes the same files to a
folder of your choice, to edit (for example a ``manufacturing`` column in
``sectors.csv``) and use as a plain table folder, with no pymrio at run time.

pymrio is an optional dependency (``pip install 'resim[pymrio]'``); only
:func:`read_system` imports it.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from simulator._cachedir import cache_root
from simulator.errors import DataError
from simulator.io.files import describe_problem

if TYPE_CHECKING:
    import pandas as pd

PREFIX = "pymrio:"
KEY = "economy.table"
REGION_KEY = "economy.region"
#: Region labels taken as Japan when ``economy.region`` is not set.
JAPAN = ("JP", "JPN", "JAPAN")
#: Part of the key of a converted table: bump when the conversion changes.
CONVERTER_VERSION = "1"
#: The file that marks a complete conversion (written last) and records its provenance.
SOURCE_FILE = "source.json"
#: Most files looked at to fingerprint a source folder.
MAX_SOURCE_FILES = 100_000
#: The marker file of a system saved by pymrio (``pymrio.core.constants.DEFAULT_FILE_NAMES``).
PYMRIO_PARAMETERS = "file_parameters.json"
MISSING = "pymrio is not installed; install it with: pip install 'resim[pymrio]'"

_temp_dirs: dict[str, Path] = {}


def is_pymrio(table: str) -> bool:
    """True for an ``economy.table`` of the form ``pymrio:PATH``."""
    return table.startswith(PREFIX)


def source_path(table: str, relative_to: Path | None = None) -> Path:
    """The path of a ``pymrio:PATH`` table, relative paths starting at ``relative_to``."""
    raw = table[len(PREFIX):].strip()
    if not raw:
        raise DataError(f"{table!r} names no path; write pymrio:PATH (a folder or zip pymrio can read)",
                        key=KEY)
    path = Path(raw)
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    return path.absolute()


# --------------------------------------------------------------------------
# One region of a multi-regional system (pandas only: testable without pymrio)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class RegionTable:
    """One region of a multi-regional table in resim's non-competitive layout.

    Attributes
    ----------
    region : str
    Z : pandas.DataFrame (n, n)
        Domestic intermediate use, supplying sectors x using sectors.
    final_demand : pandas.DataFrame (n, categories + 1)
        Domestic final demand for domestic goods by category, and ``fd_expo``.
    value_added : pandas.DataFrame (2, n)
        Rows ``value_added`` and ``imported_inputs``.
    dropped : tuple of str
        Sectors with no output, purchases or sales, left out.
    totals : dict
        Output, value added, exports and imports (intermediate, final) of the region.
    """

    region: str
    Z: pd.DataFrame
    final_demand: pd.DataFrame
    value_added: pd.DataFrame
    dropped: tuple[str, ...]
    totals: dict


def _levels(frame, axis: str, what: str, source: str):
    index = frame.index if axis == "rows" else frame.columns
    if getattr(index, "nlevels", 1) != 2:
        raise DataError(f"{what} is not indexed by (region, sector) on its {axis}; pymrio systems are",
                        file=source, key=KEY)
    return index


def pick_region(regions: list[str], region: str | None, source: str) -> str:
    """The region asked for (exact, else the one equal ignoring case); Japan when none is asked for."""
    shown = f"{regions[:60]}" + (f" and {len(regions) - 60} more" if len(regions) > 60 else "")
    if region is None:
        japan = [r for r in regions if str(r).strip().upper() in JAPAN]
        if len(japan) == 1:
            return japan[0]
        raise DataError(f"set economy.region: the table has no single region JP, JPN or Japan; its regions "
                        f"are {shown}", file=source, key=REGION_KEY)
    if region in regions:
        return region
    folded = [r for r in regions if str(r).casefold() == region.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise DataError(f"region {region!r} is not in the table; its regions are {shown}", file=source,
                    key=REGION_KEY)


def region_table(Z, Y, region: str | None, source: str = "") -> RegionTable:
    """Cut ``region`` out of a multi-regional system (``Z``, ``Y`` as pymrio holds them).

    Parameters
    ----------
    Z : pandas.DataFrame
        Intermediate use, rows and columns indexed by (region, sector).
    Y : pandas.DataFrame
        Final demand, rows (region, sector), columns (region, category).
    region : str or None
        The region (``economy.region``); None: Japan (a region labelled JP, JPN or Japan).
    source : str
        Where the system came from, for error lines.

    Raises
    ------
    DataError
        When the frames are not a multi-regional system, the region is not
        there, its sector labels repeat, or a value is not finite.
    """
    import pandas as pd

    zr, zc = _levels(Z, "rows", "Z", source), _levels(Z, "columns", "Z", source)
    yr, yc = _levels(Y, "rows", "Y", source), _levels(Y, "columns", "Y", source)
    if not zr.equals(zc) or not zr.equals(yr):
        raise DataError("Z's rows, Z's columns and Y's rows must list the same (region, sector) pairs in the "
                        "same order", file=source, key=KEY)
    regions = [str(r) for r in dict.fromkeys(zr.get_level_values(0))]
    r = pick_region(regions, region, source)
    in_r = np.asarray([str(x) == r for x in zr.get_level_values(0)])
    sectors = [str(s) for s in zr.get_level_values(1)[in_r]]
    if len(set(sectors)) != len(sectors) or any(not s.strip() for s in sectors):
        dup = sorted({s for s in sectors if sectors.count(s) > 1 or not s.strip()})[:5]
        raise DataError(f"region {r!r} has repeated or empty sector labels {dup}", file=source, key=KEY)
    z = Z.to_numpy(dtype=float)
    y = Y.to_numpy(dtype=float)
    if not (np.isfinite(z).all() and np.isfinite(y).all()):
        raise DataError("Z or Y holds non-finite numbers", file=source, key=KEY)
    y_r = np.asarray([str(x) == r for x in yc.get_level_values(0)])
    categories = [str(c) for c in yc.get_level_values(1)[y_r]]

    z_dom = z[np.ix_(in_r, in_r)]
    fd_dom = y[np.ix_(in_r, y_r)]
    exports = z[np.ix_(in_r, ~in_r)].sum(axis=1) + y[np.ix_(in_r, ~y_r)].sum(axis=1)
    output = z[in_r].sum(axis=1) + y[in_r].sum(axis=1)
    inputs_all = z[:, in_r].sum(axis=0)
    imported = z[np.ix_(~in_r, in_r)].sum(axis=0)
    value_added = output - inputs_all

    activity = np.abs(z[in_r]).sum(axis=1) + np.abs(y[in_r]).sum(axis=1) + np.abs(z[:, in_r]).sum(axis=0)
    empty = activity == 0
    keep = ~empty
    codes = [s for s, k in zip(sectors, keep, strict=True) if k]
    if not codes:
        raise DataError(f"region {r!r} has no sector with any output", file=source, key=KEY)
    bad = [s for s, x, k in zip(sectors, output, keep, strict=True) if k and x <= 0]
    if bad:
        raise DataError(f"region {r!r}: sectors with zero or negative output but some purchases or sales: "
                        f"{bad[:5]}", file=source, key=KEY)
    names = _unique_columns(categories)
    fd = pd.DataFrame(fd_dom[keep], index=pd.Index(codes, name="sector_code"), columns=names)
    fd["fd_expo"] = exports[keep]
    return RegionTable(
        region=r,
        Z=pd.DataFrame(z_dom[np.ix_(keep, keep)], index=pd.Index(codes, name="row_sector_code"),
                       columns=codes),
        final_demand=fd,
        value_added=pd.DataFrame([value_added[keep], imported[keep]], columns=codes,
                                 index=pd.Index(["value_added", "imported_inputs"], name="va_code")),
        dropped=tuple(s for s, e in zip(sectors, empty, strict=True) if e),
        totals={
            "output": float(output.sum()),
            "value_added": float(value_added.sum()),
            "exports": float(exports.sum()),
            "imports_intermediate": float(imported.sum()),
            "imports_final": float(y[np.ix_(~in_r, y_r)].sum()),
        },
    )


def _unique_columns(categories: list[str]) -> list[str]:
    """Final-demand column names: the categories, never a name resim reads as something else."""
    reserved = {"sector_code", "fd_expo", "fd_impo", "fd_imta", "fd_imtx"}
    out: list[str] = []
    for c in categories:
        name = c if c not in reserved else f"{c} (domestic)"
        while name in out or name in reserved:
            name += "'"
        out.append(name)
    return out


def write_table(t: RegionTable, folder: Path, provenance: dict | None = None) -> None:
    """Write a :class:`RegionTable` as a resim table folder (``folder`` must exist)."""
    t.Z.to_csv(folder / "Z.csv")
    t.final_demand.to_csv(folder / "final_demand.csv")
    t.value_added.to_csv(folder / "value_added.csv")
    import pandas as pd

    pd.DataFrame({"sector_code": list(t.Z.index), "name_en": list(t.Z.index)}).to_csv(folder / "sectors.csv",
                                                                                     index=False)
    info = {"region": t.region, "sectors": len(t.Z.index), "dropped_sectors": list(t.dropped),
            "totals": t.totals, "converter_version": CONVERTER_VERSION, **(provenance or {})}
    (folder / SOURCE_FILE).write_text(json.dumps(info, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------
# Reading with pymrio, and the converted folder
# --------------------------------------------------------------------------

def _import_pymrio():
    try:
        import pymrio
    except ImportError:
        raise DataError(MISSING, key=KEY) from None
    return pymrio


def _pymrio_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("pymrio")
    except metadata.PackageNotFoundError:
        raise DataError(MISSING, key=KEY) from None


def _is_saved_system(path: Path) -> bool:
    if path.is_dir():
        return (path / PYMRIO_PARAMETERS).is_file()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            return any(Path(n).name == PYMRIO_PARAMETERS for n in zf.namelist())
    return False


def read_system(path: Path):
    """Read a system with pymrio: a saved system (EXIOBASE 3 included) or an OECD ICIO file.

    Returns
    -------
    (Z, Y, unit) : the frames of :func:`region_table` and the unit label (or "").
    """
    pymrio = _import_pymrio()
    source = str(path)
    try:
        if _is_saved_system(path):
            io = pymrio.load_all(path, subfolders=[], subset=["Z", "Y", "x", "A", "unit"])
        elif path.name.upper().startswith("ICIO"):
            io = pymrio.parse_oecd(path)
        else:
            raise DataError(f"pymrio cannot tell what this is: not a saved system (no {PYMRIO_PARAMETERS}; "
                            "EXIOBASE 3 downloads have one) nor an OECD ICIO file (ICIO*.csv or .zip). Parse "
                            "it with pymrio and save it with IOSystem.save_all(FOLDER); use pymrio:FOLDER",
                            file=source, key=KEY)
    except DataError:
        raise
    except Exception as exc:  # pymrio's parsers raise many kinds; the user's file is at fault: one line
        from simulator.io.text import clip, one_line

        raise DataError(f"pymrio could not read it: {type(exc).__name__}: {clip(one_line(str(exc)), 200)}",
                        file=source, key=KEY) from None
    Z, Y = getattr(io, "Z", None), getattr(io, "Y", None)
    if Y is None:
        raise DataError("the system has no final demand Y", file=source, key=KEY)
    if Z is None:
        A, x = getattr(io, "A", None), getattr(io, "x", None)
        if A is None:
            raise DataError("the system has neither Z nor A", file=source, key=KEY)
        if x is None:
            x_vals = np.linalg.solve(np.eye(len(A)) - A.to_numpy(dtype=float),
                                     Y.to_numpy(dtype=float).sum(axis=1))
        else:
            x_vals = x.to_numpy(dtype=float).reshape(-1)
        Z = A.mul(x_vals, axis=1)
    unit = getattr(io, "unit", None)
    label = ""
    if unit is not None and len(unit):
        label = str(unit.iloc[0, 0])
    return Z, Y, label


def _fingerprint(path: Path) -> list:
    """Names, sizes and modification times of the source's files (not their contents: sources are large)."""
    if path.is_file():
        st = path.stat()
        return [[path.name, st.st_size, st.st_mtime_ns]]
    out = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for f in sorted(files):
            p = Path(root) / f
            try:
                st = p.stat()
            except OSError:
                continue
            out.append([p.relative_to(path).as_posix(), st.st_size, st.st_mtime_ns])
            if len(out) > MAX_SOURCE_FILES:
                raise DataError(f"more than {MAX_SOURCE_FILES} files under the folder; point at the system's "
                                "own folder or zip", file=str(path), key=KEY)
    return out


def converted_table_dir(table: str, region: str | None, relative_to: Path | None = None) -> Path:
    """The resim table folder of ``pymrio:PATH`` for ``region``, converting it on first use.

    Raises
    ------
    DataError
        One line: the path is missing, pymrio is not installed, pymrio cannot
        read it, or the region or its sectors cannot be found.
    """
    src = source_path(table, relative_to)
    problem = describe_problem(src, want="file")
    if problem and problem != "is a directory":
        raise DataError(f"pymrio source {problem}", file=str(src), key=KEY)
    version = _pymrio_version()
    ident = json.dumps([CONVERTER_VERSION, version, str(src), region, _fingerprint(src)])
    key = hashlib.sha256(ident.encode()).hexdigest()[:32]
    name = f"pymrio-{key}"
    root = cache_root()
    if root is not None:
        dest = root / "tables" / name
        if (dest / SOURCE_FILE).is_file():
            return dest
        try:
            (root / "tables").mkdir(parents=True, exist_ok=True, mode=0o700)
            _convert(src, region, dest, version)
            return dest
        except OSError:
            pass                  # an unwritable cache folder: a temporary one, as with the cache off
    if key not in _temp_dirs or not (_temp_dirs[key] / SOURCE_FILE).is_file():
        tmp = Path(tempfile.mkdtemp(prefix="resim-pymrio-"))
        atexit.register(shutil.rmtree, tmp, True)
        _convert(src, region, tmp / name, version)
        _temp_dirs[key] = tmp / name
    return _temp_dirs[key]


def _convert(src: Path, region: str | None, dest: Path, version: str) -> None:
    """Read ``src`` with pymrio and write ``region`` to ``dest`` atomically (a temporary folder, renamed)."""
    Z, Y, unit = read_system(src)
    t = region_table(Z, Y, region, str(src))
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        write_table(t, tmp, {"source": str(src), "unit": unit, "pymrio_version": version})
        try:
            os.rename(tmp, dest)
        except OSError:
            if not (dest / SOURCE_FILE).is_file():    # not another process that finished first
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m simulator.io.pymrio_table SOURCE REGION OUT``: write one region as a table folder."""
    import sys

    from simulator.errors import ResimError

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m simulator.io.pymrio_table SOURCE REGION OUT  (REGION '-' = Japan)",
              file=sys.stderr)
        return 2
    source, region, out = Path(args[0]).absolute(), (None if args[1] == "-" else args[1]), Path(args[2])
    try:
        if out.exists():
            raise DataError("already exists; give a new folder", file=str(out))
        Z, Y, unit = read_system(source)
        t = region_table(Z, Y, region, str(source))
        out.mkdir(parents=True)
        write_table(t, out, {"source": str(source), "unit": unit, "pymrio_version": _pymrio_version()})
    except ResimError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    print(f"{out}: region {t.region}, {len(t.Z.index)} sectors ({len(t.dropped)} empty ones left out)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
