"""Where resim keeps its per-user caches (the economy structure, the compiled loop).

``$RESIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/resim``, else ``~/.cache/resim``;
``RESIM_CACHE_DIR=off`` disables every cache. Never inside the installed
package, so a read-only ``site-packages`` is never written to.
"""

from __future__ import annotations

import os
from pathlib import Path

OFF = ("off", "0", "none", "no", "false")


def cache_root() -> Path | None:
    """The cache directory, or None when caching is off."""
    env = os.environ.get("RESIM_CACHE_DIR")
    if env:
        return None if env.strip().lower() in OFF else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "resim"
