"""On-disk cache of the economy structure, so ``resim run`` starts fast.

Building the economy structure reads the input-output tables (CSV, with
pandas), checks them (a matrix inverse and eigenvalues) and precomputes
the reduced operators: ~0.5 s including the pandas import, three times
the run itself. The result depends only on the data files and on the code
that builds it, so it is stored once per user as plain numeric and string
arrays and reused while both are unchanged.

**The key** covers the arguments, the contents of every data file involved
(~1 ms to hash the bundled tables), the source of the modules that build
the structure, and the numpy and resim versions: editing a table or the
code rebuilds it.

**A cache file is trusted only after it is verified.** Each entry
(``economy-<key>.npz``) is one file: a header line with the format version,
the entry's own key and the sha256 of the payload, then the payload (an
``.npz`` archive of arrays; numpy refuses to load objects from it). On load
the file must be a regular file (never followed into a FIFO or a device:
it is opened non-blocking and without following a final symbolic link), at
most :data:`MAX_ENTRY_BYTES`, carry the requested key (so a file renamed or
copied from another entry is refused) and match its hash (so a truncated
or damaged file is refused); every array must then be present. Anything
else, or any error while reading, means "no entry": the structure is
rebuilt and the entry rewritten. A cache problem never fails a run and
never changes a number.

**Writes are atomic** (a temporary file in the same folder, then a rename)
and the folder is created private (0700). **Old entries are pruned** after
every write: entries unused for :data:`MAX_AGE_DAYS` days, then the least
recently used until the folder's entries total at most :data:`MAX_TOTAL_BYTES`.
Only files named like resim's own entries (and its own temporary files)
are ever deleted; anything else in the folder is left alone.

The cache lives in ``$RESIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/resim``,
else ``~/.cache/resim`` (:mod:`simulator._cachedir`); ``RESIM_CACHE_DIR=off``
disables it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import stat
import tempfile
import time
from pathlib import Path

import numpy as np

from simulator._cachedir import cache_root

#: Modules whose source is part of the key (a module that does not exist in this version is skipped).
_BUILDERS = ("io/tables.py", "io/usetable.py", "io/datafiles.py", "model/economy.py", "core/spec.py",
             "core/engine.py", "io/cache.py")

#: First bytes of every entry; a new layout gets a new version.
MAGIC = b"resim-structure-cache 2"
#: Largest entry that is read (the 185-sector structure is a few MB).
MAX_ENTRY_BYTES = 256 << 20
#: Entries together are pruned down to this size, least recently used first.
MAX_TOTAL_BYTES = 512 << 20
#: Entries not used for this long are pruned.
MAX_AGE_DAYS = 90
#: Leftover temporary files of an interrupted write older than this are removed, seconds.
STALE_TEMP_SECONDS = 3600
#: Largest data file hashed for the key (bigger ones are refused when the table is read).
MAX_HASHED_FILE_BYTES = 200 << 20

#: Compiled-loop folders (simulator.model.supply_numba) untouched this long are removed, days.
NUMBA_MAX_AGE_DAYS = 180

_ENTRY = re.compile(r"^economy-[0-9a-f]{32}\.npz$")
_NUMBA = re.compile(r"^numba-[0-9a-f]{16}$")
_TEMP = re.compile(r"^\.economy-[0-9a-f]{32}\..*\.partial$")


def cache_dir() -> Path | None:
    """Where cached structures live, or None when caching is off."""
    return cache_root()


def _hash_file(h, path: Path) -> None:
    """Add a data file's name and content hash to ``h``; OSError for anything but a bounded regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_HASHED_FILE_BYTES:
            raise OSError(f"{path}: not a regular file of at most {MAX_HASHED_FILE_BYTES} bytes")
        inner = hashlib.sha256()
        with os.fdopen(os.dup(fd), "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                inner.update(block)
    finally:
        os.close(fd)
    h.update(f"{path.name}|".encode())
    h.update(inner.digest())


def key(args: tuple, data_paths: list[Path]) -> str:
    """Hash of everything the structure depends on.

    Raises
    ------
    OSError
        If a data file is missing, not a regular file or too large: the caller
        then builds the structure, and the table reader names the problem.
    """
    from simulator._version import __version__

    h = hashlib.sha256()
    h.update(json.dumps([repr(a) for a in args]).encode())
    h.update(f"{__version__} numpy {np.__version__}".encode())
    here = Path(__file__).parent.parent
    for name in _BUILDERS:
        if (here / name).is_file():
            h.update(name.encode() + b"|" + (here / name).read_bytes())
    for p in data_paths:
        p = Path(p)
        if p.is_dir():
            files = sorted(x for x in p.iterdir() if x.is_file())
        else:
            files = [p]
        for f in files:
            _hash_file(h, f)
    return h.hexdigest()[:32]


def _path(d: Path, name: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", name or ""):
        raise ValueError(f"not a cache key: {name!r}")
    return d / f"economy-{name}.npz"


def _read_entry(path: Path) -> bytes | None:
    """Read an entry if it is a regular file of a sane size (never blocks, never follows a final link)."""
    flags = os.O_RDONLY
    for name in ("O_NONBLOCK", "O_NOFOLLOW", "O_CLOEXEC"):
        flags |= getattr(os, name, 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_ENTRY_BYTES:
            return None
        chunks, total = [], 0
        while total <= MAX_ENTRY_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks) if total <= MAX_ENTRY_BYTES else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _verified_payload(blob: bytes, name: str) -> bytes | None:
    """Return the payload of an entry whose header names this key and matches its hash; else None."""
    head, sep, payload = blob.partition(b"\n")
    if not sep:
        return None
    parts = head.split(b" ")
    if len(parts) != 4 or b" ".join(parts[:2]) != MAGIC:
        return None
    if parts[2] != name.encode() or parts[3] != hashlib.sha256(payload).hexdigest().encode():
        return None
    return payload


def load(name: str, structure_type):
    """Return the cached (structure, codes, names) for a key, or None.

    None (never an exception) when caching is off, or the entry is missing, not
    a regular file, too large, written for another key, damaged or incomplete.
    """
    d = cache_dir()
    if d is None or not name:
        return None
    try:
        path = _path(d, name)
    except ValueError:
        return None
    blob = _read_entry(path)
    payload = _verified_payload(blob, name) if blob is not None else None
    if payload is None:
        return None
    try:
        with np.load(io.BytesIO(payload)) as z:     # arrays only: numpy refuses objects by default
            meta = json.loads(str(z["meta"]))
            values: dict[str, np.ndarray | tuple[np.ndarray, ...]] = {}
            for f in dataclasses.fields(structure_type):
                if f.name in meta["tuples"]:
                    n = int(meta["tuples"][f.name])
                    values[f.name] = tuple(np.array(z[f"{f.name}.{i}"]) for i in range(n))
                else:
                    values[f.name] = np.array(z[f.name])
            result = structure_type(**values), tuple(meta["codes"]), tuple(meta["names"])
    except Exception:  # noqa: BLE001 - a verified entry that still fails to decode is just not used
        return None
    try:
        os.utime(path)                      # least recently used goes first when pruning
    except OSError:
        pass
    return result


def store(name: str, structure, codes: tuple, names: tuple) -> None:
    """Save a structure atomically, then prune old entries.

    Silently skipped if caching is off, if the structure has a field that is
    not an array or a tuple of arrays, or if the folder cannot be written.
    """
    d = cache_dir()
    if d is None:
        return
    try:
        path = _path(d, name)
    except ValueError:
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
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(meta), **arrays)  # type: ignore[arg-type]  # keys: field names, never allow_pickle
    payload = buf.getvalue()
    header = MAGIC + b" " + name.encode() + b" " + hashlib.sha256(payload).hexdigest().encode() + b"\n"
    tmp = None
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=f".economy-{name}.", suffix=".partial")
        with os.fdopen(fd, "wb") as fh:
            fh.write(header)
            fh.write(payload)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    prune(d)


def prune(d: Path | None = None, max_total: int = MAX_TOTAL_BYTES, max_age_days: float = MAX_AGE_DAYS) -> int:
    """Delete old entries of the structure cache; returns the bytes freed.

    Only regular files named like resim's entries (``economy-<32 hex>.npz``) or
    its temporary files are considered; symbolic links and any other file are
    left alone. First entries unused for ``max_age_days``, then the least
    recently used until the entries total at most ``max_total`` bytes. A
    compiled-loop folder (``numba-<16 hex>``) holding only numba's files, none
    touched for :data:`NUMBA_MAX_AGE_DAYS`, goes too (an old version of the
    loop; a current one would only be recompiled). Errors are ignored
    (another process may be pruning too).
    """
    d = cache_dir() if d is None else d
    if d is None:
        return 0
    now = time.time()
    entries, freed = [], 0
    try:
        with os.scandir(d) as it:
            for e in it:
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode) and _NUMBA.match(e.name):
                    freed += _prune_numba(Path(e.path), now)
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                if _TEMP.match(e.name) and now - st.st_mtime > STALE_TEMP_SECONDS:
                    freed += _unlink(Path(e.path), st.st_size)
                elif _ENTRY.match(e.name):
                    entries.append((st.st_mtime, st.st_size, Path(e.path)))
    except OSError:
        return freed
    entries.sort()
    total = sum(size for _, size, _ in entries)
    for mtime, size, path in entries:
        if total <= max_total and now - mtime <= max_age_days * 86400:
            continue
        gone = _unlink(path, size)
        freed += gone
        total -= gone
    return freed


def _prune_numba(folder: Path, now: float) -> int:
    """Remove a compiled-loop folder of an old version: only numba's own files, all untouched for long."""
    try:
        entries = [(e, e.stat(follow_symlinks=False)) for e in os.scandir(folder)]
    except OSError:
        return 0
    if not entries or any(not stat.S_ISREG(st.st_mode) or not e.name.endswith((".nbi", ".nbc"))
                          or now - st.st_mtime < NUMBA_MAX_AGE_DAYS * 86400 for e, st in entries):
        return 0
    freed = sum(_unlink(Path(e.path), st.st_size) for e, st in entries)
    try:
        folder.rmdir()
    except OSError:
        pass
    return freed


def _unlink(path: Path, size: int) -> int:
    try:
        path.unlink()
        return size
    except OSError:
        return 0
