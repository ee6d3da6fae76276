"""Reading user files safely: regular files only, size-capped, never a hang.

Every file resim reads on a user's behalf (scenario files and their ``base``
files, input-output tables, use tables) goes through
:func:`read_bounded`. It refuses, in one line naming the file and what was
found, anything that is not a regular file (a directory, a FIFO, a socket,
a device such as ``/dev/zero``, a symbolic-link loop) and anything larger
than the cap, *before* reading it. FIFOs are opened non-blocking, so a
FIFO with no writer can never hang the process; the type and size are
checked again on the open descriptor, so a file swapped after the first
check is caught too. At most ``limit + 1`` bytes are ever read.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from simulator.errors import ResimError

#: Largest scenario file (and ``base`` file), bytes.
SCENARIO_MAX_BYTES = 1 << 20
#: Largest data file (one CSV of an input-output table or a use table), bytes.
TABLE_MAX_BYTES = 200 << 20

_KINDS = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "is not a regular file (it is a FIFO, a named pipe)"),
    (stat.S_ISSOCK, "is not a regular file (it is a socket)"),
    (stat.S_ISCHR, "is not a regular file (it is a character device)"),
    (stat.S_ISBLK, "is not a regular file (it is a block device)"),
)


def human_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KB"``: a size for error lines (powers of 1024, at most one decimal)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}".replace(".0 ", " ")
        n /= 1024
    return f"{n:.1f} PB"  # pragma: no cover - unreachable


def kind_of(mode: int) -> str | None:
    """Say what a file of this ``st_mode`` is, as an error phrase; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, text in _KINDS:
        if test(mode):
            return text
    return "is not a regular file"


def describe_problem(path: str | os.PathLike, want: str = "file") -> str | None:
    """Why ``path`` cannot be used as a ``want`` (``"file"`` or ``"directory"``), or None.

    The phrase names what was found: ``"not found"``, ``"is a symbolic link
    loop"``, ``"is a directory"``, ``"is not a regular file (it is a FIFO ...)"``,
    ``"is not a directory"``, ``"cannot be read: Permission denied"``.
    Nothing is opened, so this never blocks.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        return _stat_error(path, exc)
    if want == "directory":
        if stat.S_ISDIR(st.st_mode):
            return None
        found = kind_of(st.st_mode)
        return "is not a directory (it is a regular file)" if found is None else \
            "is not a directory (" + found.split("(", 1)[-1] if "(" in found else "is not a directory"
    return kind_of(st.st_mode)


def _stat_error(path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "is a symbolic link loop (too many levels of symbolic links)"
    if exc.errno == errno.ENOENT:
        return "is a symbolic link to a missing file" if os.path.islink(path) else "not found"
    if exc.errno == errno.ENOTDIR:
        return "not found (a part of the path is a file, not a directory)"
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    return f"cannot be read: {exc.strerror or exc}"


def read_bounded(path: str | os.PathLike, limit: int, what: str = "file",
                 key: str | None = None, error: type[ResimError] = ResimError,
                 label: str | None = None) -> bytes:
    """Read a regular file of at most ``limit`` bytes, or raise one error line.

    Parameters
    ----------
    path : path
        The file.
    limit : int
        Largest size accepted, in bytes.
    what : str
        What the file is, for the size error (``"scenario files"``, ``"table files"``).
    key : str, optional
        The dotted key the error names (e.g. ``economy.table``).
    error : type
        The :class:`~simulator.errors.ResimError` subclass to raise.
    label : str, optional
        How the error names the file (default: ``path`` as given).

    Raises
    ------
    ResimError
        (of type ``error``) naming the file and what was found: not found,
        a directory, a FIFO, a socket, a device, a symbolic-link loop,
        unreadable, or larger than ``limit``.
    """
    name = label or str(path)
    problem = describe_problem(path)
    if problem:
        raise error(problem, file=name, key=key)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(_stat_error(path, exc), file=name, key=key) from None
    try:
        st = os.fstat(fd)
        problem = kind_of(st.st_mode)          # swapped for a FIFO or device since the first look
        if problem:
            raise error(problem, file=name, key=key)
        if st.st_size > limit:
            raise error(f"is {human_bytes(st.st_size)}, larger than the {human_bytes(limit)} allowed "
                        f"for {what}", file=name, key=key)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise error(f"is larger than the {human_bytes(limit)} allowed for {what}", file=name, key=key)
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"cannot be read: {exc.strerror or exc}", file=name, key=key) from None
    finally:
        os.close(fd)


def check_directory(path: str | os.PathLike, key: str | None = None,
                    error: type[ResimError] = ResimError, what: str = "directory") -> Path:
    """``path`` if it is a directory; else one error naming what was found there."""
    problem = describe_problem(path, want="directory")
    if problem:
        if problem == "not found":
            problem = f"{what} not found"
        raise error(problem, file=str(path), key=key)
    return Path(path)
