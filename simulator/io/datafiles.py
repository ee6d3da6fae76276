"""Which data files a scenario uses: resolved once, used by everything that needs them.

The economy structure is built from these files, the structure cache is
keyed by their contents, and provenance records their hashes, all through
:func:`resolve_data_files`, so the three can never disagree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from simulator.io.pymrio_table import converted_table_dir, is_pymrio

#: Input-output tables bundled with the package, by name.
BUNDLED_TABLES = ("mic2015_37", "mic2015_185")
#: The table whose sector codes the bundled use table uses (its parents aggregate it to 37 sectors).
FINE_TABLE = "mic2015_185"


def data_dir() -> Path:
    """The package's data folder."""
    return Path(str(resources.files("simulator") / "data"))


def bundled_table_dir(name: str) -> Path:
    """The folder of a bundled input-output table."""
    return data_dir() / name


#: Files of a use-table folder (simulator.io.usetable).
USE_TABLE_FILES = ("use_table.csv", "criticality.csv", "applications.csv", "final_links.csv", "made_to_order.csv")


def resolve_table_dir(table: str, relative_to: Path | None = None) -> Path:
    """The folder of a bundled table name or of a user path (relative to ``relative_to``)."""
    if table in BUNDLED_TABLES:
        return bundled_table_dir(table)
    path = Path(table)
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    return path


@dataclass(frozen=True)
class DataFiles:
    """The data files behind a scenario's economy and materials.

    Attributes
    ----------
    table_dir : Path
        The input-output table's folder.
    use_table_dir : Path
        The physical use table's folder.
    fine_table_dir : Path
        The 185-sector table, used to aggregate use-table sectors given at
        its codes to a coarser table.
    materials_file : Path
        The bundled material defaults.
    """

    table_dir: Path
    use_table_dir: Path
    fine_table_dir: Path
    materials_file: Path

    def files(self) -> list[tuple[str, Path]]:
        """(label, path) of every file, table folders expanded, in a fixed order."""
        out: list[tuple[str, Path]] = []
        dirs = [self.table_dir] + ([self.fine_table_dir] if self.fine_table_dir != self.table_dir else [])
        for folder in dirs:
            if folder.is_dir():
                out += [(f"{folder.name}/{f.name}", f) for f in sorted(folder.iterdir()) if f.is_file()]
        out += [(f"use_table/{name}", self.use_table_dir / name) for name in USE_TABLE_FILES]
        out += [("materials.toml", self.materials_file)]
        return out

    def sha256(self) -> dict[str, str]:
        """Content hash of every regular file that exists, by label.

        Files are read in blocks; a file over the table-file cap, or one that is
        not a regular file, is listed as not hashed.
        """
        import os
        import stat

        from simulator.io.files import TABLE_MAX_BYTES

        out = {}
        for label, path in self.files():
            if not path.is_file():
                continue
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                continue
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or st.st_size > TABLE_MAX_BYTES:
                    out[label] = "(not hashed: not a regular file of at most 200 MB)"
                    continue
                h = hashlib.sha256()
                with os.fdopen(os.dup(fd), "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
                out[label] = h.hexdigest()
            finally:
                os.close(fd)
        return out


def resolve_data_files(table: str, use_table: str | None, source_file: str | None,
                       region: str | None = None) -> DataFiles:
    """The files a scenario uses (:meth:`simulator.io.scenario.Scenario.data_files`).

    Parameters
    ----------
    table : str
        ``economy.table``: a bundled table's name, a folder, or ``pymrio:PATH``
        (a system pymrio reads; its region is converted once into a table folder
        under the cache, :mod:`simulator.io.pymrio_table`, and that folder is used).
    use_table : str or None
        ``economy.use_table``: a folder; None for the bundled one.
    source_file : str or None
        The scenario file; relative paths start at its folder.
    region : str or None
        ``economy.region``: the region of a ``pymrio:`` table (None: Japan).

    Raises
    ------
    DataError
        For a ``pymrio:`` table that cannot be read or converted (one line).
    """
    base = Path(source_file).parent if source_file else Path(".")
    use_dir = (data_dir() if not use_table else Path(use_table) if Path(use_table).is_absolute()
               else base / use_table)
    if is_pymrio(table):
        table_dir = converted_table_dir(table, region, base)
    else:
        table_dir = resolve_table_dir(table, base)
    return DataFiles(
        table_dir=table_dir.absolute(),
        use_table_dir=use_dir.absolute(),
        fine_table_dir=bundled_table_dir(FINE_TABLE),
        materials_file=data_dir() / "materials.toml",
    )
