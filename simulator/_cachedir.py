"""Where resim keeps its per-user caches (the economy structure, the compiled loop).

``$RESIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/resim``, else ``~/.cache/resim``;
``RESIM_CACHE_DIR=off`` (or ``0``, ``none``, ``no``, ``false``) disables every
cache. The folder holds:

- ``economy-<key>.npz``: prepared economy structures (:mod:`simulator.io.cache`),
  each verified (its own key and a content hash) before it is used, pruned
  when old or when together they pass a size cap;
- ``numba-<key>/``: the compiled material loop (:mod:`simulator.model.supply_numba`),
  one folder per version of the loop's source, numba and numpy.

It is never inside the installed package: a non-editable install into a
read-only ``site-packages`` is never written to. If the folder cannot be
created or written (a read-only home, a file in its place), the structure
is rebuilt on every run and the compiled loop falls back to numpy with one
warning line; results are the same.
"""

from __future__ import annotations

import os
from pathlib import Path

OFF = ("off", "0", "none", "no", "false")


def cache_root() -> Path | None:
    """The cache directory, or None when caching is off."""
    env = os.environ.get("RESIM_CACHE_DIR")
    if env:
        return None if env.strip().lower() in OFF else Path(os.path.expanduser(env))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "resim"
