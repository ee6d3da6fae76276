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

#: Input-output tables bundled with the package, by name.
BUNDLED_TABLES = ("mic2015_37", "mic2015_185")
#: The table whose sector codes the bundled dependence rows use.
FINE_TABLE = "mic2015_185"


def data_dir() -> Path:
    """The package's data folder."""
    return Path(str(resources.files("simulator") / "data"))


def bundled_table_dir(name: str) -> Path:
    """The folder of a bundled input-output table."""
    return data_dir() / name


def bundled_dependence_path() -> Path:
    """The round-1 sector x material dependence table (185 sectors), kept as a cross-check."""
    return data_dir() / "dependence_185.csv"


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
        """Content hash of every file that exists, by label."""
        return {label: hashlib.sha256(path.read_bytes()).hexdigest()
                for label, path in self.files() if path.is_file()}


def resolve_data_files(table: str, use_table: str | None, source_file: str | None) -> DataFiles:
    """The files a scenario uses (:meth:`simulator.io.scenario.Scenario.data_files`).

    Parameters
    ----------
    table : str
        ``economy.table``: a bundled table's name or a folder.
    use_table : str or None
        ``economy.use_table``: a folder; None for the bundled one.
    source_file : str or None
        The scenario file; relative paths start at its folder.
    """
    base = Path(source_file).parent if source_file else Path(".")
    use_dir = (data_dir() if not use_table else Path(use_table) if Path(use_table).is_absolute()
               else base / use_table)
    return DataFiles(
        table_dir=resolve_table_dir(table, base).absolute(),
        use_table_dir=use_dir.absolute(),
        fine_table_dir=bundled_table_dir(FINE_TABLE),
        materials_file=data_dir() / "materials.toml",
    )
