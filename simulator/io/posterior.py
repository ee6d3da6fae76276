"""The shipped posterior draws of the calibrated parameters (``data/posterior.csv``).

Written by :func:`simulator.analysis.posterior.save_posterior` (``resim calibrate
--posterior``); read here, once per process, by every run that reports a band.
``posterior.json`` beside it holds the provenance: targets, priors, seed, sizes,
the effective sample size, the fit and the leave-one-target-out table.
"""

from __future__ import annotations

import csv
import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from simulator.errors import DataError
from simulator.io.datafiles import data_dir

#: Environment variable naming a folder with your own posterior (``resim calibrate --posterior --out``).
POSTERIOR_ENV = "RESIM_POSTERIOR"


def posterior_paths(folder: str | Path | None = None) -> tuple[Path, Path]:
    """(draws CSV, provenance JSON) in ``folder``.

    Default: the folder in ``$RESIM_POSTERIOR`` if set, else the package's data folder.
    """
    env = os.environ.get(POSTERIOR_ENV)
    d = Path(folder) if folder else Path(env) if env else data_dir()
    return d / "posterior.csv", d / "posterior.json"


def load_posterior(folder: str | Path | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """The posterior draws (dotted key -> (n,) array) and their provenance.

    Raises
    ------
    DataError
        When the draws file is missing or not a table of numbers.
    """
    path, js = posterior_paths(folder)
    st = path.stat() if path.is_file() else None
    if st is None:
        raise DataError(f"no posterior draws found (posterior.csv); run `resim calibrate --posterior --out DIR`"
                        f"{' or unset ' + POSTERIOR_ENV if os.environ.get(POSTERIOR_ENV) else ''}", file=str(path))
    draws, info = _read(str(path), str(js), st.st_mtime_ns, st.st_size)
    return {k: v.copy() for k, v in draws.items()}, dict(info)


@lru_cache(maxsize=4)
def _read(path: str, js: str, mtime: int, size: int) -> tuple[dict[str, np.ndarray], dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if len(rows) < 2:
        raise DataError("the posterior draws file has no rows", file=path)
    header = rows[0]
    try:
        body = np.array(rows[1:], dtype=float)
    except ValueError:
        raise DataError("the posterior draws file must hold numbers only", file=path) from None
    if body.ndim != 2 or body.shape[1] != len(header) or not np.isfinite(body).all():
        raise DataError("the posterior draws file must be a full table of finite numbers", file=path)
    info = json.loads(Path(js).read_text(encoding="utf-8")) if Path(js).is_file() else {}
    return {k: body[:, i] for i, k in enumerate(header)}, info
