"""Writing results: complete or not at all, never over a file that is not resim's.

**Output directories** (:func:`write_atomic`). Every file is first written
into a fresh temporary folder (:func:`tempfile.mkdtemp`: an unpredictable
name, created exclusively, never a planted symbolic link), and only moved
into place when every file is complete:

- ``DIR`` does not exist: the temporary folder, next to it, is renamed to
  ``DIR`` in one step. If ``DIR`` has appeared in the meantime and is not
  empty, the rename fails and nothing is written (without ``--force``):
  the "must be empty" rule holds at the moment of the rename, not only at
  the start of a long run.
- ``DIR`` exists (a folder, or a symbolic link to one, or ``.``): the
  temporary folder is made *inside* it (so the moves never cross a file
  system) and the files are moved in one by one. Without ``--force`` the
  folder must still be empty just before the moves, and no file is ever
  moved over another. With ``--force``, only the files this command writes
  are replaced (each atomically, by name); every other file in ``DIR`` is
  left alone, never deleted (so files of an earlier, different run, such
  as its ``run.png``, stay too).

**Single files** (:func:`write_file`: ``--plot`` without ``--out``, ``resim
calibrate --out``, ``resim report --out``) are written to a temporary file
next to the target and linked into place without replacing an existing file
(unless forced); ``--plot`` and ``resim compare`` without ``--out`` pick the
next free name (``resim-run-2.png``) instead of overwriting.

Files and folders get the user's usual permissions (``0666``/``0777`` minus
the umask), not the ``0600``/``0700`` of temporary files. A failure, Ctrl-C
or SIGTERM before the moves leaves ``DIR`` exactly as it was and no
temporary leftovers.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable

from simulator.errors import ResimError
from simulator.io.files import kind_of

#: Longest file name most file systems accept, bytes.
NAME_MAX = 255
#: Prefix of resim's temporary files and folders (the rest of the name is random).
TEMP_PREFIX = ".resim-"


def provenance(scenario) -> dict:
    """Where a result came from: version, scenario file and hash, parameters, data."""
    from simulator._version import __version__

    data = scenario.data_files().sha256()
    posterior = _posterior_sha256()
    if posterior:
        data["posterior.csv"] = posterior
    return {
        "resim_version": __version__,
        "scenario_file": scenario.source_file,
        "scenario_sha256": scenario.source_sha256,
        "parameters": scenario.model_dump(mode="json"),
        "data_sha256": data,
    }


def _posterior_sha256() -> str | None:
    """Hash of the posterior draws the bands use (``RESIM_POSTERIOR`` may point at another file)."""
    import hashlib

    from simulator.io.posterior import posterior_paths

    path = posterior_paths()[0]
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    except OSError:
        return None


# --------------------------------------------------------------------------
# Permissions
# --------------------------------------------------------------------------

def current_umask() -> int:
    """Return the process's umask (read without changing it where the OS allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of a new output file: 0666 minus the umask."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """Mode of a new output folder: 0777 minus the umask."""
    return 0o777 & ~current_umask()


# --------------------------------------------------------------------------
# Checks before any work
# --------------------------------------------------------------------------

def _stat(path: Path, label: str) -> os.stat_result | None:
    """Stat ``path`` (links followed): None if nothing is there; one error for a loop or a dangling link."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise ResimError("is a symbolic link to a missing location", file=label) from None
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ResimError("is a symbolic link loop", file=label) from None
        if exc.errno == errno.ENOTDIR:
            return None            # a parent is a file: reported by the ancestor check
        if exc.errno == errno.ENAMETOOLONG:
            raise ResimError("the name is too long", file=label) from None
        raise ResimError(f"cannot be used: {exc.strerror}", file=label) from None


def _foreign(entries: list[str]) -> list[str]:
    return [e for e in entries if not (e.startswith(TEMP_PREFIX) and e.endswith(".partial"))]


def check_out_dir(out_dir: Path, force: bool) -> None:
    """Refuse an output directory that cannot or may not be written, before any work.

    Refused, in one line naming it: a name too long, an existing path that is
    not a directory (a file, a FIFO, a link to a file), a dangling link or a
    link loop, a parent that is a file, a folder that cannot be written, and
    a non-empty folder without ``force``.
    """
    out_dir = Path(out_dir)
    label = str(out_dir)
    if len(os.fsencode(out_dir.name)) > NAME_MAX:
        raise ResimError(f"the name is too long ({len(os.fsencode(out_dir.name))} bytes; at most {NAME_MAX})",
                         file=label)
    st = _stat(out_dir, label)
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            found = kind_of(st.st_mode)
            found = "it is a regular file" if found is None else found.split("(", 1)[-1].rstrip(")")
            raise ResimError(f"exists and is not a directory ({found})", file=label)
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise ResimError("the output directory is not writable", file=label)
        if _foreign(os.listdir(out_dir)) and not force:
            raise ResimError("output directory is not empty; use --force to replace resim's own files in it "
                             "(files resim did not write are kept)", file=label)
        return
    ancestor = Path(os.path.abspath(out_dir)).parent
    while True:
        ast = _stat(ancestor, str(ancestor))
        if ast is not None:
            break
        if ancestor.parent == ancestor:
            raise ResimError("no existing parent directory", file=label)
        ancestor = ancestor.parent
    if not stat.S_ISDIR(ast.st_mode):
        raise ResimError(f"cannot be created: {ancestor} is not a directory", file=label)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ResimError(f"cannot be created: {ancestor} is not writable", file=label)


# --------------------------------------------------------------------------
# Output directories
# --------------------------------------------------------------------------

def _link_in(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst`` without ever replacing an existing ``dst`` (FileExistsError)."""
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        no_links = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS)
        if exc.errno not in no_links:
            raise
        if os.path.lexists(dst):          # no hard links here: check, then rename (a tiny window)
            raise FileExistsError(errno.EEXIST, "File exists", str(dst)) from None
        os.rename(src, dst)
        return
    os.unlink(src)


def write_atomic(out_dir: Path, writers: dict[str, Callable[[Path], None]], force: bool = False) -> list[Path]:
    """Write files into ``out_dir``: all of them, or (on any failure before the moves) none.

    Parameters
    ----------
    out_dir : Path
        The output directory (created with its parents if missing).
    writers : dict
        File name -> function that writes that file at the path it is given.
    force : bool
        Allow a non-empty ``out_dir``: replace the files this call writes;
        keep every other file.

    Returns
    -------
    list of Path
        The files written, in the order of ``writers``.

    Raises
    ------
    ResimError
        If ``out_dir`` cannot or may not be written (checked again here).
    OSError
        If ``out_dir`` appeared, not empty, while the files were being written
        (nothing is written then), or on a disk error.
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir, force)
    names = list(writers)
    for name in names:
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"not a plain file name: {name!r}")
    if os.path.isdir(out_dir):
        return _fill_existing(out_dir, writers, force)
    parent = Path(os.path.abspath(out_dir)).parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, suffix=".partial", dir=parent))
    try:
        _write_all(tmp, writers)
        os.chmod(tmp, dir_mode())
        try:
            os.rename(tmp, out_dir)     # atomic; fails if out_dir appeared and is not empty
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise
            if not (force and os.path.isdir(out_dir)):
                raise OSError(exc.errno, "appeared while resim was running and is not empty; nothing was "
                                         "written (run again, with --force to replace resim's own files)",
                              str(out_dir)) from None
            return _fill_existing(out_dir, writers, force, ready=tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out_dir / name for name in names]


def _write_all(tmp: Path, writers: dict[str, Callable[[Path], None]]) -> None:
    for name, write in writers.items():
        try:
            write(tmp / name)
        except OSError as exc:
            if exc.filename is None and exc.errno is not None:       # say which file (e.g. "File too large")
                raise OSError(exc.errno, exc.strerror or str(exc), name) from None
            raise


def _fill_existing(out_dir: Path, writers: dict, force: bool, ready: Path | None = None) -> list[Path]:
    """Write into an existing directory, keeping every file resim did not write."""
    real = Path(os.path.realpath(out_dir))
    tmp = ready
    try:
        if tmp is None:
            tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, suffix=".partial", dir=real))
            _write_all(tmp, writers)
        else:                                       # written next to it: move it inside (same file system)
            inside = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, suffix=".partial", dir=real))
            os.rmdir(inside)
            os.rename(tmp, inside)
            tmp = inside
        present = _foreign(os.listdir(real))
        if not force and present:
            raise OSError(errno.ENOTEMPTY, "is no longer empty (a file appeared while resim was running); "
                                           "nothing was written (use --force to replace resim's own files)",
                          str(out_dir))
        for name in writers:                        # never replace a folder (or a link to one) with a file
            dst = real / name
            if os.path.isdir(dst):
                raise OSError(errno.EISDIR, "is a directory; resim writes a file of that name here", str(dst))
        for name in writers:
            if force:
                os.replace(tmp / name, real / name)     # replaces a link itself, never what it points to
            else:
                _link_in(tmp / name, real / name)
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    return [out_dir / name for name in writers]


# --------------------------------------------------------------------------
# Single files
# --------------------------------------------------------------------------

def free_name(path: Path, limit: int = 1000) -> Path:
    """``path`` if nothing is there, else ``stem-2.suffix``, ``stem-3.suffix``, ... (first free one)."""
    path = Path(path)
    if not os.path.lexists(path):
        return path
    for i in range(2, limit):
        candidate = path.with_name(f"{path.stem}-{i}{path.suffix}")
        if not os.path.lexists(candidate):
            return candidate
    raise ResimError(f"{limit} files named like it exist already; use --out DIR", file=str(path))


def write_file(path: Path, write: Callable, overwrite: bool = False, next_free: bool = False,
               verify: Callable[[Path], None] | None = None) -> Path:
    """Write one file safely: temporary file, then into place without clobbering.

    Parameters
    ----------
    path : Path
        The target.
    write : callable
        ``write(fh)``: writes the content into an open binary file.
    overwrite : bool
        Replace an existing ``path`` (``--force``). A symbolic link at ``path``
        is then replaced itself; the file it points to is never written.
    next_free : bool
        If ``path`` exists (and not ``overwrite``), use the next free name
        (``name-2.png``, ...) instead of failing.
    verify : callable, optional
        Called with the temporary file's path before it is moved into place.

    Returns
    -------
    Path
        Where the file was written.

    Raises
    ------
    ResimError
        If ``path`` exists (without ``overwrite`` or ``next_free``) or is a directory.
    """
    path = Path(path)
    if os.path.isdir(path):
        raise ResimError("is a directory; give a file name", file=str(path))
    parent = Path(os.path.abspath(path)).parent
    if not parent.is_dir():
        raise ResimError(f"directory {parent} does not exist", file=str(path))
    try:
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".partial", dir=parent)
    except OSError as exc:                  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, f"cannot write in {parent} ({exc.strerror})", str(path)) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, file_mode())
        if verify is not None:
            verify(tmp)
        if overwrite:
            os.replace(tmp, path)
            return path
        for _ in range(1000):
            target = free_name(path) if next_free else path
            try:
                _link_in(tmp, target)
                return target
            except FileExistsError:
                if not next_free:
                    raise ResimError("exists; use --force to overwrite", file=str(path)) from None
        raise ResimError("could not find a free file name", file=str(path))
    finally:
        if os.path.lexists(tmp):
            try:
                tmp.unlink()
            except OSError:
                pass


# --------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------

def json_writer(obj) -> Callable[[Path], None]:
    """Make a writer of ``obj`` as JSON (no NaN or infinity)."""
    def write(path: Path) -> None:
        Path(path).write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return write


def csv_writer(df) -> Callable[[Path], None]:
    """Make a writer of a data frame as CSV (no index)."""
    def write(path: Path) -> None:
        df.to_csv(path, index=False)
    return write


def figure_writer(make_figure, fmt: str = "png") -> Callable:
    """Make a writer of the figure ``make_figure()`` returns, to a path or an open binary file."""
    def write(target) -> None:
        import matplotlib.pyplot as plt

        fig = make_figure()
        try:
            if hasattr(target, "write"):
                fig.savefig(target, format=fmt, dpi=150, bbox_inches="tight")
            else:
                fig.savefig(target, dpi=150, bbox_inches="tight")
        finally:
            plt.close(fig)
    return write


#: Most rows of one Excel sheet (the format's limit, less the header row).
XLSX_MAX_ROWS = 1_048_575
_SHEET_BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})


def sheet_names(names) -> list[str]:
    """Excel sheet names for ``names``: at most 31 characters, none of ``[]:*?/`` or a backslash, unique."""
    out: list[str] = []
    for name in names:
        base = (str(name).translate(_SHEET_BAD).strip("'") or "sheet")[:31]
        candidate, i = base, 2
        while candidate.lower() in (o.lower() for o in out):
            suffix = f" ({i})"
            candidate, i = base[:31 - len(suffix)] + suffix, i + 1
        out.append(candidate)
    return out


def _xlsx_cell(value):
    """A cell value Excel can hold and shows as it is.

    No control characters, no infinity (an empty cell), lists and tables as JSON text.
    """
    import math

    from simulator.io.text import one_line

    if isinstance(value, (list, tuple, dict)):
        value = json.dumps(value, default=str)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return one_line(value)
    return value


def xlsx_writer(sheets: dict) -> Callable:
    """Make a writer of an Excel workbook (openpyxl through pandas): one sheet per data frame.

    Every string is written as text (a name such as ``=HYPERLINK(...)`` is never a formula),
    infinities and NaN are empty cells, and a table longer than a sheet is refused in one line.
    The writer takes a path or an open binary file.
    """
    for name, df in sheets.items():
        if len(df) > XLSX_MAX_ROWS:
            raise ResimError(f"the table {name!r} has {len(df):,} rows; an Excel sheet holds at most "
                             f"{XLSX_MAX_ROWS:,} (use --out for CSV files)", file="--xlsx")

    def write(target) -> None:
        import pandas as pd

        names = sheet_names(sheets)
        with pd.ExcelWriter(target, engine="openpyxl") as book:
            for name, df in zip(names, sheets.values(), strict=True):
                clean = df.copy()
                for col in clean.columns:
                    if clean[col].dtype.kind in "fc":
                        clean[col] = clean[col].where(clean[col].map(lambda v: v == v and abs(v) != float("inf")))
                    elif clean[col].dtype.kind == "O" or str(clean[col].dtype) in ("string", "str"):
                        clean[col] = clean[col].map(_xlsx_cell).astype(object)
                clean.columns = [_xlsx_cell(str(c)) for c in clean.columns]
                clean.to_excel(book, sheet_name=name, index=False)
                sheet = book.sheets[name]
                for row in sheet.iter_rows():
                    for cell in row:
                        if cell.data_type == "f":          # text that starts with '=': keep it text
                            cell.data_type = "s"
                sheet.freeze_panes = "A2"
    return write
