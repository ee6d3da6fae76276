"""On-disk cache of the economy structure, so ``resim run`` starts fast.

Building the economy structure reads the input-output tables (CSV, with
pandas), checks them (a matrix inverse and eigenvalues) and precomputes
the reduced operators: ~0.5 s including the pandas import, three times
the run itself. The result depends only on the data files and on the code
that builds it, so it is stored once per user as plain numeric and string
arrays (``.npz``; numpy refuses to load objects from it) and reused while
both are unchanged.

The key covers the arguments, the contents of every data file involved
(~1 ms to hash the bundled tables), the source of the modules that build
the structure, and the numpy and resim versions: editing a table or the
code rebuilds it. The cache lives in ``$RESIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/resim``,
else ``~/.cache/resim``; ``RESIM_CACHE_DIR=off`` disables it. Any problem
reading or writing it (read-only home, a corrupt file) falls back to
building the structure; it never changes a result.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

_BUILDERS = ("io/tables.py", "model/economy.py", "core/engine.py", "io/cache.py")


def cache_dir() -> Path | None:
    """Where cached structures live, or None when caching is off."""
    env = os.environ.get("RESIM_CACHE_DIR")
    if env:
        return None if env.lower() in ("off", "0", "none") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "resim"


def key(args: tuple, data_paths: list[Path]) -> str:
    """Hash of everything the structure depends on."""
    from simulator._version import __version__

    h = hashlib.sha256()
    h.update(json.dumps([repr(a) for a in args]).encode())
    h.update(f"{__version__} numpy {np.__version__}".encode())
    here = Path(__file__).parent.parent
    for name in _BUILDERS:
        h.update((here / name).read_bytes())
    for p in data_paths:
        files = sorted(x for x in p.iterdir() if x.is_file()) if p.is_dir() else [p]
        for f in files:
            h.update(f"{f.name}|".encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:32]


def load(name: str, structure_type):
    """The cached (structure, codes, names) for a key, or None."""
    d = cache_dir()
    if d is None:
        return None
    path = d / f"economy-{name}.npz"
    try:
        with np.load(path) as z:                       # arrays only: objects are refused
            meta = json.loads(str(z["meta"]))
            values = {}
            for f in dataclasses.fields(structure_type):
                if f.name in meta["tuples"]:
                    values[f.name] = tuple(z[f"{f.name}.{i}"] for i in range(meta["tuples"][f.name]))
                else:
                    values[f.name] = z[f.name]
            return structure_type(**values), tuple(meta["codes"]), tuple(meta["names"])
    except (OSError, KeyError, ValueError, TypeError):
        return None


def store(name: str, structure, codes: tuple, names: tuple) -> None:
    """Save a structure; silently skipped if it has a field that is not an
    array or a tuple of arrays, or if the directory cannot be written."""
    d = cache_dir()
    if d is None:
        return
    arrays, tuples = {}, {}
    for f in dataclasses.fields(structure):
        value = getattr(structure, f.name)
        if isinstance(value, np.ndarray):
            arrays[f.name] = value
        elif isinstance(value, tuple) and all(isinstance(v, np.ndarray) for v in value):
            tuples[f.name] = len(value)
            arrays.update({f"{f.name}.{i}": v for i, v in enumerate(value)})
        else:
            return
    meta = json.dumps({"codes": list(codes), "names": list(names), "tuples": tuples})
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".partial")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, meta=np.array(meta), **arrays)
        os.replace(tmp, d / f"economy-{name}.npz")
    except OSError:
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
