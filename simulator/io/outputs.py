"""Writing results: atomically, with provenance.

Files are written into a temporary directory next to the target and moved
into place only when complete, so an interrupted run never leaves a
half-written file that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Callable

from simulator.errors import ResimError


def provenance(scenario) -> dict:
    """Where a result came from: version, scenario file and hash, parameters, data."""
    from simulator._version import __version__

    data = scenario.data_files().sha256()
    return {
        "resim_version": __version__,
        "scenario_file": scenario.source_file,
        "scenario_sha256": scenario.source_sha256,
        "parameters": scenario.model_dump(mode="json"),
        "data_sha256": data,
    }


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_out_dir(out_dir: Path, force: bool) -> None:
    """Refuse to overwrite a non-empty directory unless forced (before any work)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ResimError("exists and is not a directory", file=str(out_dir))
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise ResimError("output directory is not empty; use --force to overwrite", file=str(out_dir))


def write_atomic(out_dir: Path, writers: dict[str, Callable[[Path], None]], force: bool = False) -> list[Path]:
    """Write files into ``out_dir`` all-or-nothing.

    Parameters
    ----------
    writers : dict
        File name -> function that writes that file at the path it is given.
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir, force)
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=parent))
    try:
        for name, write in writers.items():
            write(tmp / name)
        if out_dir.exists():
            # move the old directory aside, then swap, so there is never a mixed state
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=parent))
            os.rmdir(old)
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out_dir / name for name in writers]


def json_writer(obj) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return write


def csv_writer(df) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        df.to_csv(path, index=False)
    return write


def figure_writer(make_figure) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        fig = make_figure()
        fig.savefig(path, dpi=150, bbox_inches="tight")
        import matplotlib.pyplot as plt
        plt.close(fig)
    return write
