"""resim used as a hostile user would: file system, special files, huge jobs, damaged caches.

Every case of ``tests/hostile_cases.py`` runs the real ``resim`` console script
as a subprocess, the way a user runs it, in its own temporary directory with its
own HOME, caches (``RESIM_CACHE_DIR``, ``XDG_CACHE_HOME``, ``NUMBA_CACHE_DIR``; the
numpy loop unless a case is about the compiled one) and umask 022, under a memory limit (so that a case
reading ``/dev/zero`` cannot take the machine down). Nothing of resim is imported: the cases survive a restructuring
of the package.

Generic checks, for every case:

- the process ends within the case's timeout (a hang is a failure);
- no ``Traceback`` on stderr, and no Python warning with its source line;
- an expected error is exactly one line, ``resim: error: ...``, with the
  documented exit code (2 bad input, 1 environment/OS); success is exit 0;
  an interrupt is exit 130 with one ``interrupted`` line;
- no ``*.partial*`` or ``.*.old`` leftovers anywhere under the case directory
  (or the other places the case writes to);
- every foreign file the case planted (``notes.txt`` and others) and every input
  file is still there, byte-identical, and still a regular file.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile_cases import CASES, SMALL, UNCERTAIN, Case

_SCRIPT = Path(sys.executable).parent / "resim"
RESIM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "simulator"]

LEFTOVER = re.compile(r"\.partial|^\..*\.old$")
PY_WARNING = re.compile(r"^\s*\S+\.py:\d+: \w*Warning\b", re.M)


def _memory_cap() -> int:
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        phys = 8 << 30
    return int(min(6 << 30, max(2 << 30, phys // 2)))


MEMORY_CAP = _memory_cap()


@dataclass
class Result:
    argv: list
    returncode: int | None
    stdout: str
    stderr: str
    elapsed: float
    timed_out: bool
    note: str = ""


def _base_env(root: Path, mplconfig: Path) -> dict:
    drop = ("RESIM_", "NUMBA_", "XDG_", "MPL", "LC_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update({
        "HOME": str(root / "home"),
        "XDG_CACHE_HOME": str(root / "xdg-cache"),
        "XDG_CONFIG_HOME": str(root / "xdg-config"),
        "RESIM_CACHE_DIR": str(root / "cache"),
        "NUMBA_CACHE_DIR": str(root / "numba"),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(mplconfig),       # shared font cache (outside the case dir): saves ~1 s a case
        "LANG": "C.UTF-8",
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "PYTHONDONTWRITEBYTECODE": "1",
        # Every case has its own (empty) cache, so the compiled loop would be compiled afresh
        # (10-20 s) in every case with a batch of 32 or more scenarios. The numpy loop gives the
        # same numbers; the compiled path and its cache are the subject of numba-cache-unusable,
        # which unsets this.
        "RESIM_ENGINE": "numpy",
    })
    return env


class Ctx:
    """The world one case runs in: cwd, environment, planted files, limits."""

    def __init__(self, root: Path, mplconfig: Path, references: dict, ref_root: Path):
        self.tmp = root
        self.cache = root / "cache"
        self.env = _base_env(root, mplconfig)
        self.umask = 0o022
        self.rlimits: dict[str, int] = {"RLIMIT_AS": MEMORY_CAP}
        self.protected: dict[Path, bytes] = {}   # foreign files and inputs: must survive byte-identical
        self.planted: set[Path] = set()          # special files the test made (not leftovers)
        self.scan: list[Path] = [root]
        self.cleanups: list = []
        self.cleanup_dirs: list[Path] = []
        self.data: dict = {}
        self._mplconfig = mplconfig
        self._references = references
        self._ref_root = ref_root
        for d in ("home", "xdg-cache", "xdg-config"):
            (root / d).mkdir()
        self.plant("notes.txt")
        self.write("hostile.toml", SMALL, protect=True)
        self.write("uncertain.toml", UNCERTAIN, protect=True)

    # files -----------------------------------------------------------------
    def write(self, rel: str, text: str, protect: bool = True) -> Path:
        p = self.tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        if protect:
            self.protected[p] = p.read_bytes()
        return p

    def plant(self, rel: str, content: bytes = b"my own notes: resim must never touch this file\n") -> Path:
        return self.plant_abs(self.tmp / rel, content)

    def plant_abs(self, p: Path, content: bytes = b"my own notes: resim must never touch this file\n") -> Path:
        for d in reversed(p.parents):
            if not d.exists():
                d.mkdir()
                self.planted.add(d)          # the test's directory, not resim's
        p.write_bytes(content)
        self.protected[p] = content
        return p

    # running resim for a setup ----------------------------------------------
    def resim(self, *argv: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 120):
        p = subprocess.run(RESIM + list(argv), cwd=cwd or self.tmp, env={**self.env, **(env or {})},
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                           preexec_fn=lambda: os.umask(0o022))
        assert p.returncode == 0, f"setup `resim {' '.join(argv)[:200]}` failed: {p.stderr[-2000:]}"
        return p

    def reference(self, argv: tuple):
        """What a clean run (no cache, numpy loop) prints; memoised for the session."""
        key = tuple(argv)
        if key not in self._references:
            d = self._ref_root / f"ref{len(self._references)}"
            d.mkdir()
            (d / "hostile.toml").write_text(SMALL)
            (d / "uncertain.toml").write_text(UNCERTAIN)
            env = _base_env(d, self._mplconfig)
            env.update(RESIM_CACHE_DIR="off", RESIM_ENGINE="numpy")
            self._references[key] = self.resim(*argv, env=env, cwd=d)
        return self._references[key]


def _preexec(ctx: Ctx):
    umask, limits = ctx.umask, dict(ctx.rlimits)

    def run():
        os.umask(umask)
        for name, value in limits.items():
            res = getattr(resource, name)
            soft, hard = resource.getrlimit(res)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(res, (value, hard))
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)    # even if the test runner was started with them ignored
    return run


def run_case(case: Case, ctx: Ctx) -> Result:
    argv = case.argv(ctx) if callable(case.argv) else list(case.argv)
    stdout = subprocess.PIPE
    closed_w = None
    if case.closed_stdout:
        r, closed_w = os.pipe()
        os.close(r)
        stdout = closed_w
    start = time.monotonic()
    proc = subprocess.Popen(RESIM + argv, cwd=ctx.tmp, env=ctx.env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.PIPE, preexec_fn=_preexec(ctx), start_new_session=True)
    if closed_w is not None:
        os.close(closed_w)
    note = ""
    timed_out = False
    try:
        if case.signal is not None or case.during is not None:
            try:
                out, err = proc.communicate(timeout=case.after)
                note = (f"finished after {time.monotonic() - start:.1f} s, "
                        f"before the {'signal' if case.signal else 'change'}")
            except subprocess.TimeoutExpired:
                if case.signal is not None:
                    proc.send_signal(case.signal)
                if case.during is not None:
                    case.during(ctx)
                out, err = proc.communicate(timeout=max(1.0, case.timeout - (time.monotonic() - start)))
        else:
            out, err = proc.communicate(timeout=case.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)       # the process group this test started
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
    dec = lambda b: (b or b"").decode("utf-8", errors="replace")  # noqa: E731
    return Result(argv, proc.returncode, dec(out), dec(err), time.monotonic() - start, timed_out, note)


# --------------------------------------------------------------------------
# Generic checks
# --------------------------------------------------------------------------

def _short(text: str, n: int = 600) -> str:
    return text if len(text) <= n else text[:n] + f"... [{len(text)} chars]"


def check_generic(case: Case, ctx: Ctx, res: Result) -> None:
    what = f"[{case.id}] resim {_short(' '.join(map(repr, res.argv)), 200)}"
    assert not res.timed_out, f"{what}: hang, no exit within {case.timeout:g} s; stderr: {_short(res.stderr)}"
    assert not res.note, f"{what}: {res.note}"
    assert "Traceback" not in res.stderr, \
        f"{what}: traceback (exit {res.returncode}):\n{_short(res.stderr[-3000:], 3000)}"
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    expect = case.expect
    if expect == "either":
        expect = "ok" if res.returncode == 0 else "error"
        codes = case.code if isinstance(case.code, tuple) else (1, 2)
    else:
        codes = case.code if isinstance(case.code, tuple) else (case.code,)
    if expect == "quiet-or-error":             # e.g. stdout closed: exit 0 or 1, at most one resim line
        assert res.returncode in (0, 1), f"{what}: exit {res.returncode}, want 0 or 1; stderr: {_short(res.stderr)}"
        assert len(lines) <= 1 and all(ln.startswith("resim: ") for ln in lines), \
            f"{what}: want at most one 'resim: ...' line: {_short(res.stderr)}"
    elif expect == "ok":
        assert res.returncode == 0, f"{what}: exit {res.returncode}, want 0; stderr: {_short(res.stderr)}"
        m = PY_WARNING.search(res.stderr)
        assert not m, f"{what}: a Python warning leaked: {_short(res.stderr[m.start():], 300)}"
        assert not any(ln.startswith("resim: error") for ln in lines), f"{what}: exit 0 with an error line: {lines}"
    elif expect == "error":
        assert res.returncode in codes, \
            f"{what}: exit {res.returncode}, want {' or '.join(map(str, codes))}; stderr: {_short(res.stderr)}"
        assert len(lines) == 1, f"{what}: want one error line, got {len(lines)}: {_short(res.stderr)}"
        line = lines[0]
        assert line.startswith("resim: error: "), f"{what}: not the documented error line: {_short(line)}"
        if case.line:
            assert re.search(case.line, line, re.I), f"{what}: error line does not match /{case.line}/: {_short(line)}"
        if case.never:
            assert not re.search(case.never, line, re.I), f"{what}: error line says /{case.never}/: {_short(line)}"
    elif expect == "interrupted":
        assert res.returncode == 130, \
            f"{what}: exit {res.returncode} after the signal, want 130; stderr: {_short(res.stderr)}"
        hits = [ln for ln in lines if "interrupted" in ln.lower()]
        assert len(hits) == 1 and lines[-1] == hits[0] and hits[0].startswith("resim: "), \
            f"{what}: exit 130 but want one final 'resim: ... interrupted' line; stderr: {_short(res.stderr)!r}"
        assert not any("Aborted" in ln for ln in lines), f"{what}: click's 'Aborted!' instead of ours: {lines}"
    else:
        raise AssertionError(f"unknown expectation {case.expect!r}")

    leftovers = []
    for top in ctx.scan:
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                if LEFTOVER.search(name) and p not in ctx.planted:
                    leftovers.append(str(p.relative_to(top)))
    assert not leftovers, f"{what}: leftovers {leftovers[:10]}"

    for p, content in ctx.protected.items():
        assert os.path.lexists(p), f"{what}: the foreign file {p.name} is gone"
        assert not p.is_symlink() and p.is_file(), f"{what}: {p.name} is no longer a regular file"
        assert p.read_bytes() == content, f"{what}: {p.name} was overwritten"


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def hostile_session(tmp_path_factory):
    mpl = tmp_path_factory.mktemp("hostile-mplconfig")
    refs = tmp_path_factory.mktemp("hostile-references")
    return mpl, refs, {}


def test_table_is_big_and_covers_every_class():
    assert len(CASES) >= 45
    per = {k: sum(c.cls == k for c in CASES) for k in range(1, 10)}
    assert all(per.values()), per


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile(case: Case, tmp_path, hostile_session):
    if case.skip is not None:
        reason = case.skip()
        if reason:
            pytest.skip(reason)
    mpl, refs, memo = hostile_session
    ctx = Ctx(tmp_path, mpl, memo, refs)
    try:
        if case.setup is not None:
            case.setup(ctx)
        res = run_case(case, ctx)
        check_generic(case, ctx, res)
        if case.check is not None:
            case.check(ctx, res)
    finally:
        for fn in ctx.cleanups:
            fn()
        for d in ctx.cleanup_dirs:
            shutil.rmtree(d, ignore_errors=True)
