"""The case table of ``tests/test_hostile.py``: resim used as a hostile user would.

Each case is one command line plus the world it runs in (files, FIFOs,
symlinks, devices, a damaged cache, a fake scheduler, a signal mid-run) and
what must hold afterwards. ``tests/test_hostile.py`` runs every case as a real
subprocess of the ``resim`` console script and applies the generic checks
(no hang, no traceback, one ``resim: error:`` line and the documented exit
code, no ``.partial``/``.old`` leftovers, foreign files byte-identical); the
``check`` functions here add what is specific to a case.

Nothing here imports resim: the cases only know the command line, the files
it reads and writes, and where its cache lives (``RESIM_CACHE_DIR``).

Classes follow the issue: 1 foreign files and outputs, 2 bounded reads,
3 recursion, 4 caches, 5 big jobs, 6 smuggled input, 7 numbers, 8 remote
scheduler, 9 other error paths.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import re
import signal
import socket
import stat
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

# --------------------------------------------------------------------------
# Inputs every case gets in its working directory
# --------------------------------------------------------------------------

#: A small scenario: everything default except a one-year horizon (fast).
SMALL = 'name = "hostile"\nhorizon_months = 12\n'

#: The same with an [uncertainty] table, for ``sweep --samples``.
UNCERTAIN = SMALL + """
[uncertainty]
"inventory.cover_scale" = { dist = "lognormal", mean = 1.0, sd = 0.25 }
"stockpile.national.cover_days" = { dist = "uniform", low = 0.0, high = 60.0 }
"""

#: A 3-sector input-output table (the layout of the bundled ones).
TINY_TABLE = {
    "Z.csv": "row_sector_code,01,02,03\n01,10,20,5\n02,5,30,10\n03,2,5,8\n",
    "final_demand.csv": "sector_code,fd_hhco,fd_expo,fd_impo\n01,75,0,-10\n02,175,0,-20\n03,70,0,-5\n",
    "sectors.csv": "sector_code,name_en,sector13_code\n01,Magnet makers,03\n02,Car makers,03\n03,Electronics,03\n",
    "value_added.csv": "va_code,01,02,03\nepin,50,87,34\nopse,33,58,23\n",
}

MATHTEXT_NAME = r"cost $\undefinedcmd$ and $x^{$"
ESCAPE_NAME_TOML = r"evil\u001b]0;pwned\u0007\u001b[2J\u001b[31mred\u009b0m"

#: Regexes for error lines.
SPECIAL = r"not a regular file|is a directory|device|fifo|pipe|socket"
SIZE = r"\d(\.\d+)?\s*([kKMGTPE]i?B|bytes)|too (large|big)|larger than|memory"


def all_of(*patterns: str) -> str:
    """A regex that matches a line containing every pattern, in any order."""
    return "".join(f"(?=.*(?:{p}))" for p in patterns)


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# --------------------------------------------------------------------------
# The case record
# --------------------------------------------------------------------------

@dataclass
class Case:
    id: str
    cls: int                                  # issue section, 1-9
    argv: list | Callable[[Any], list]        # arguments after "resim"
    setup: Callable[[Any], None] | None = None
    #: "ok" (exit 0), "error" (exit in ``code``, one line), "either" (exit 0, or
    #: a one-line error with exit 1 or 2), "interrupted" (130, one "interrupted" line),
    #: "quiet-or-error" (exit 0 or 1, at most one "resim: " line)
    expect: str = "error"
    code: int | tuple = 2
    line: str | None = None                   # the error line must match (re.I)
    never: str | None = None                  # the error line must not match (re.I)
    check: Callable[[Any, Any], None] | None = None
    timeout: float = 20.0
    signal: int | None = None                 # sent `after` seconds into the run
    after: float = 1.5
    during: Callable[[Any], None] | None = None   # called `after` seconds into the run
    closed_stdout: bool = False
    skip: Callable[[], str | None] | None = None  # reason the platform cannot run it
    why: str = ""

    def __str__(self):
        return self.id


# --------------------------------------------------------------------------
# Helpers used by setups and checks (ctx is test_hostile.Ctx)
# --------------------------------------------------------------------------

def tiny_table(ctx, name="tz", z=None) -> Path:
    d = ctx.tmp / name
    d.mkdir()
    for f, text in TINY_TABLE.items():
        if f == "Z.csv" and z is not None:
            z(d / f)
        else:
            (d / f).write_text(text)
    # no dependence/use-table line: the table's own files are read (and refused) first either way
    ctx.write("tz.toml", SMALL + f'[economy]\ntable = "{name}"\n')
    return d


_SCHEMA: dict = {}


def schema(ctx) -> dict:
    """This resim's JSON Schema (``resim schema``), read once a session: which keys it has."""
    if not _SCHEMA:
        _SCHEMA.update(json.loads(ctx.resim("schema").stdout))
    return _SCHEMA


def economy_has(ctx, key: str) -> bool:
    return key in schema(ctx).get("$defs", {}).get("Economy", {}).get("properties", {})


def data_key(ctx) -> str:
    """The key naming the sector x material data (a file before model v2, a folder since)."""
    return "dependence_file" if economy_has(ctx, "dependence_file") else "use_table"


def scale_key(ctx) -> str:
    """A calibratable multiplier this version has (economy.dependence_scale before model v2)."""
    return "economy.dependence_scale" if economy_has(ctx, "dependence_scale") else "economy.criticality_scale"


def cal_args(ctx) -> list:
    return ["--target", "gdp_loss_pct=0.2", "--free", f"{scale_key(ctx)}:0.05:2", "--out", "cal.toml"]


def sparse(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        f.truncate(size)


def big_toml(path: Path, size: int = 2 * 1024 * 1024, head: str = SMALL) -> None:
    line = "# " + "x" * 98 + "\n"
    path.write_text(head + line * (size // len(line) + 1))


def loop(path: Path) -> None:
    os.symlink(path.name, path)


def fifo(path: Path) -> None:
    os.mkfifo(path)


def no(path: str):
    return lambda: None if os.path.exists(path) else f"{path} is not available on this platform"


def json_summary(res) -> dict:
    return json.loads(res.stdout)


def gdp(res) -> float:
    return float(json_summary(res)["gdp_loss_pct"])


def assert_same_number(ctx, res, argv):
    want = gdp(ctx.reference(argv))
    got = gdp(res)
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15), \
        f"with the damaged cache gdp_loss_pct = {got!r}, without cache {want!r}"


def assert_modes(ctx, path: Path, dir_mode: int, file_mode: int):
    bad = []
    for p in [path, *path.rglob("*")]:
        if p in ctx.protected or p in ctx.planted:      # made by the test, not by resim
            continue
        mode = stat.S_IMODE(p.lstat().st_mode)
        want = dir_mode if p.is_dir() else file_mode
        if mode != want:
            bad.append(f"{p.relative_to(path.parent)} {oct(mode)} (want {oct(want)})")
    assert not bad, "permissions do not follow the umask: " + ", ".join(bad)


def assert_finite_outputs(out: Path):
    """No NaN or infinity in any CSV cell or JSON number that resim wrote."""
    bad = []
    for f in sorted(out.rglob("*.csv")):
        with open(f, newline="") as fh:
            rows = list(csv.reader(fh))
        for i, row in enumerate(rows[1:], 2):
            for j, cell in enumerate(row):
                c = cell.strip().lower()
                if c in ("", "nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
                    bad.append(f"{f.name}:{i}:{rows[0][j] if j < len(rows[0]) else j}={cell!r}")
    for f in sorted(out.rglob("*.json")):
        json.loads(f.read_text(), parse_constant=lambda c, f=f: bad.append(f"{f.name}: {c}"))
    assert not bad, f"{len(bad)} non-finite cells, e.g. {bad[:5]}"


def assert_clean_text(res):
    for name in ("stdout", "stderr"):
        text = getattr(res, name)
        m = CONTROL.search(text)
        assert m is None, (f"{name} carries a terminal control character {m.group()!r}: "
                           f"{text[max(0, m.start() - 40):m.end() + 40]!r}")


def when_ok(check):
    """A check that applies only if the command succeeded (for "either" cases)."""
    def wrapped(ctx, res):
        if res.returncode == 0:
            check(ctx, res)
    return wrapped


def output(ctx, rel: str) -> Path | None:
    """``rel``, or the newest file of that name below its directory (if resim
    writes each run into a fresh sub-folder)."""
    p = ctx.tmp / rel
    if p.is_file():
        return p
    found = [q for q in p.parent.rglob(p.name) if q.is_file() and q not in ctx.protected] if p.parent.is_dir() else []
    return max(found, key=lambda q: q.stat().st_mtime_ns, default=None)


def exists(*rel):
    def check(ctx, res):
        for r in rel:
            assert output(ctx, r) is not None, f"{r} was not written"
    return check


def absent(*rel):
    def check(ctx, res):
        for r in rel:
            assert not os.path.lexists(ctx.tmp / r), f"{r} exists although the command failed"
    return check


def both(*checks):
    def check(ctx, res):
        for c in checks:
            if c is not None:
                c(ctx, res)
    return check


def help_says_force_keeps_foreign(ctx, res):
    text = re.sub(r"[│╭╮╰╯─┃━]", " ", res.stdout)
    text = " ".join(text.split())
    m = re.search(r"--force\s+(?:<bool>\s+)?(.*?)(?=\s--?[a-z]|\Z)", text)
    assert m, f"--force is not in the help: {text[:300]!r}"
    desc = m.group(1)
    assert re.search(r"\bonly\b|\bnever\b|other files|foreign|not resim|kept|keeps|survive|untouched|left alone",
                     desc, re.I), f"--help does not say that --force keeps files resim did not write: {desc!r}"


# ----- setups --------------------------------------------------------------

def resim_out_then_notes(ctx):
    ctx.resim("run", "hostile.toml", "--out", "out")
    ctx.data["old_summary"] = (ctx.tmp / "out/summary.json").read_bytes()
    ctx.plant("out/notes.txt")
    ctx.plant("out/mine/keep.csv", b"a,b\n1,2\n")


def notes_in_out(ctx):
    ctx.plant("out/notes.txt")


def symlink_out_to_dir(ctx):
    (ctx.tmp / "real").mkdir()
    ctx.plant("real/notes.txt")
    os.symlink("real", ctx.tmp / "out")
    ctx.planted.add(ctx.tmp / "out")


def symlink_out_to_file(ctx):
    os.symlink("notes.txt", ctx.tmp / "out")
    ctx.planted.add(ctx.tmp / "out")


def other_fs(ctx):
    base = Path("/dev/shm") / f"resim-hostile-{os.getpid()}-{random.randrange(1 << 30)}"
    base.mkdir()
    ctx.cleanup_dirs.append(base)
    ctx.scan.append(base)
    ctx.data["other"] = base
    ctx.plant_abs(base / "notes.txt")


def other_fs_written(ctx, res):
    out = ctx.data["other"] / "out"
    assert out.is_dir() and any(out.rglob("summary.json")), "no summary.json on the other file system"


def new_summary(ctx, res):
    assert output(ctx, "out/summary.json").read_bytes() != ctx.data["old_summary"], \
        "out/summary.json is still the first run's: --force did not replace resim's own file"


def other_fs_skip():
    if not os.path.isdir("/dev/shm"):
        return "no /dev/shm"
    import tempfile
    if os.stat("/dev/shm").st_dev == os.stat(tempfile.gettempdir()).st_dev:
        return "/dev/shm is on the same file system as the temporary directory"
    return None


def plant_dir_mid_run(ctx):
    out = ctx.tmp / "out"
    if out.exists():
        ctx.data["too_fast"] = True
        return
    out.mkdir()
    ctx.plant("out/notes.txt")


def race_check(ctx, res):
    assert not ctx.data.get("too_fast"), "the sweep finished before the directory could be planted: make it longer"


PREDICTABLE = ("{}.partial", ".{}.partial", ".{}.partial.png", "{}.tmp", ".{}.tmp", ".{}.part", "{}.part", "{}~")


def plant_tmp_symlinks(png):
    def setup(ctx):
        ctx.plant("victim.txt", b"the user's file that a planted symlink points to\n")
        for pat in PREDICTABLE:
            p = ctx.tmp / pat.format(png)
            os.symlink("victim.txt", p)
            ctx.planted.add(p)
    return setup


def tmp_symlinks_untouched(png):
    def check(ctx, res):
        for pat in PREDICTABLE:
            p = ctx.tmp / pat.format(png)
            assert p.is_symlink() and os.readlink(p) == "victim.txt", (
                f"the planted symlink {p.name} was moved or replaced")
        out = ctx.tmp / png
        if os.path.lexists(out):
            assert not out.is_symlink(), f"{png} is now a symlink (a planted temporary link was renamed into place)"
    return check


def umask(mask):
    def setup(ctx):
        ctx.umask = mask
    return setup


def modes(rel, dir_mode, file_mode):
    def check(ctx, res):
        p = ctx.tmp / rel
        if p.is_dir():
            assert_modes(ctx, p, dir_mode, file_mode)
        else:
            mode = stat.S_IMODE(p.stat().st_mode)
            assert mode == file_mode, f"{rel}: {oct(mode)}, want {oct(file_mode)} under umask {oct(ctx.umask)}"
    return check


def signal_env(ctx):
    ctx.env["RESIM_ENGINE"] = "numpy"       # a numba compile would delay the signal handler by minutes


def unix_socket(ctx):
    p = ctx.tmp / "sock.toml"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(p))
    s.listen(1)
    ctx.cleanups.append(s.close)


def write(rel, text):
    def setup(ctx):
        ctx.write(rel, text)
    return setup


def with_special(rel, make, scenario_rel=None, scenario_text=None):
    def setup(ctx):
        make(ctx.tmp / rel)
        ctx.planted.add(ctx.tmp / rel)
        if scenario_rel:
            ctx.write(scenario_rel, scenario_text)
    return setup


def base_on(target, make=None):
    def setup(ctx):
        if make:
            make(ctx.tmp / target)
            ctx.planted.add(ctx.tmp / target)
        ctx.write("child.toml", f'base = "{target}"\nname = "child"\n')
    return setup


def dep_on(target, make, make_v2=None):
    """The dependence data (a file; since model v2 the use-table folder) is a special file.

    ``make_v2``, if given, makes the target for a version whose data is a folder
    (a directory is then the right kind, so the wrong kind is a regular file).
    """
    def setup(ctx):
        tiny_table(ctx)
        key = data_key(ctx)
        (make if key == "dependence_file" or make_v2 is None else make_v2)(ctx.tmp / target)
        ctx.planted.add(ctx.tmp / target)
        ctx.write("dep.toml", SMALL + f'[economy]\ntable = "tz"\n{key} = "{target}"\n')
    return setup


def table_z(make):
    def setup(ctx):
        tiny_table(ctx, z=make)
    return setup


def table_loop(ctx):
    loop(ctx.tmp / "tloop")
    ctx.planted.add(ctx.tmp / "tloop")
    ctx.write("tl.toml", SMALL + '[economy]\ntable = "tloop"\n')


def chain(n):
    def setup(ctx):
        d = ctx.tmp / "chain"
        d.mkdir()
        for i in range(n):
            text = f'base = "c{i + 1}.toml"\n' if i < n - 1 else SMALL
            (d / f"c{i}.toml").write_text(text)
    return setup


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


# ----- caches --------------------------------------------------------------

def cache_files(ctx) -> list[Path]:
    root = ctx.cache
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()) if root.is_dir() else []


def populate(ctx, *argv):
    before = set(cache_files(ctx))
    ctx.resim(*argv)
    new = [p for p in cache_files(ctx) if p not in before]
    assert new, f"`resim {' '.join(argv)}` wrote nothing into the cache dir {ctx.cache}"
    return new


def biggest(paths: list[Path]) -> Path:
    return max(paths, key=lambda p: p.stat().st_size)


def damage_cache(how):
    def setup(ctx):
        ctx.reference(RUN_JSON)                     # the number without any cache
        files = populate(ctx, *RUN_JSON)
        rnd = random.Random(0)
        for p in files:
            size = p.stat().st_size
            if how == "truncate":
                with open(p, "r+b") as f:
                    f.truncate(size // 2)
            elif how == "garbage":
                p.write_bytes(bytes(rnd.randrange(256) for _ in range(size)))
            elif how == "fifo":
                p.unlink()
                os.mkfifo(p)
            elif how == "dir":
                p.unlink()
                p.mkdir()
            elif how == "devzero":
                p.unlink()
                os.symlink("/dev/zero", p)
    return setup


RUN_JSON = ("run", "hostile.toml", "--json")
RUN_JSON_B = ("run", "hostile.toml", "--json", "--set", "economy.criticality=0.9")


def swap_cache(ctx):
    ctx.reference(RUN_JSON_B)
    a = biggest(populate(ctx, *RUN_JSON))          # the entry (not an index file, if there is one)
    b = biggest(populate(ctx, *RUN_JSON_B))
    ta, tb = a.read_bytes(), b.read_bytes()
    a.write_bytes(tb)
    b.write_bytes(ta)


def cache_is_a_file(ctx):
    ctx.reference(RUN_JSON)
    ctx.plant("cachefile", b"not a directory\n")
    ctx.env["RESIM_CACHE_DIR"] = str(ctx.tmp / "cachefile")


def crowded_cache(ctx):
    entry = biggest(populate(ctx, *RUN_JSON))
    m = max(re.finditer(r"[0-9a-f]{12,}", entry.name), key=lambda m: len(m.group()), default=None)
    assert m, f"cannot see the key in the cache file name {entry.name}"
    rnd = random.Random(1)
    old = time.time() - 400 * 86400
    for i in range(40):                            # 40 x 100 MB (sparse): 4 GB of stale entries
        key = "".join(rnd.choice("0123456789abcdef") for _ in range(len(m.group())))
        p = entry.parent / (entry.name[:m.start()] + key + entry.name[m.end():])
        sparse(p, 100 * 1024 * 1024)
        os.utime(p, (old + i, old + i))
    ctx.data["stale"] = 40
    ctx.data["before"] = sum(p.stat().st_size for p in cache_files(ctx))
    ctx.plant("cache/notes.txt")


def cache_pruned(ctx, res):
    after = sum(p.stat().st_size for p in cache_files(ctx))
    assert after < ctx.data["before"], \
        f"4 GB of stale cache entries were not pruned ({after / 2**20:.0f} MiB in the cache dir)"


def numba_cache_unusable(ctx):
    ctx.plant("cachefile", b"not a directory\n")
    ctx.env["RESIM_CACHE_DIR"] = str(ctx.tmp / "cachefile")
    ctx.env.pop("RESIM_ENGINE", None)


GRID34 = ("sweep", "hostile.toml", "--grid", "restriction.duration_months=" + ",".join(str(i) for i in range(34)))


def numba_fallback_check(ctx, res):
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) <= 1, f"more than one warning line: {lines[:4]}"
    assert res.stdout == ctx.reference(GRID34).stdout, "the numpy fallback printed a different table"


# ----- scheduler -----------------------------------------------------------

class Listener:
    """A TCP listener on 127.0.0.1 that is not a Dask scheduler."""

    def __init__(self, mode: str):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            try:
                if self.mode == "http":
                    c.settimeout(2)
                    try:
                        c.recv(65536)
                    except OSError:
                        pass
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello")
                elif self.mode == "garbage":
                    c.sendall(b"\xff" * 64)
                # "silent": accept and never answer
            except OSError:
                pass

    def close(self):
        for c in [self.sock, *self.conns]:
            try:
                c.close()
            except OSError:
                pass


def listener(mode):
    def setup(ctx):
        ln = Listener(mode)
        ctx.cleanups.append(ln.close)
        ctx.data["port"] = ln.port
    return setup


def sched_argv(ctx):
    return ["sweep", "hostile.toml", "--grid", "restriction.duration_months=1,2",
            "--scheduler", f"tcp://127.0.0.1:{ctx.data['port']}"]


# ----- big jobs, smuggling, numbers ----------------------------------------

def many_materials(ctx):
    parts = [UNCERTAIN]
    for i in range(5000):
        parts.append(f"[materials.m{i}]\ndemand_t_per_month = 1.0\nchina_share = 0.5\n")
    ctx.write("many.toml", "".join(parts))


def long_name(ctx):
    ctx.write("longname.toml", 'horizon_months = 12\nname = "' + "N" * 600_000 + '"\n')


def short_lines(ctx, res):
    longest = max((len(line) for line in res.stdout.splitlines()), default=0)
    assert longest <= 2000, f"a {longest}-character line reached the terminal (name not capped)"


CAL = ["--target", "gdp_loss_pct=0.2", "--free", "economy.dependence_scale:0.05:2", "--out", "cal.toml"]


def no_smuggled_key(ctx, res):
    p = ctx.tmp / "cal.toml"
    assert not p.exists(), ("cal.toml was written although the input carried a control character:\n"
                            + p.read_text()[:800])


def calibrated_name_round_trips(ctx, res):
    data = tomllib.loads((ctx.tmp / "cal.toml").read_text())
    flat = []

    def walk(d):
        for v in d.values():
            walk(v) if isinstance(v, dict) else flat.append(v)
    walk(data)
    assert 'a"b\\c]] = x # y' in flat, f"the --set value did not round-trip through cal.toml: {data}"
    assert "restriction" not in data, f"cal.toml grew a key nobody set: {data}"


def escape_file(ctx):
    ctx.write("evil\x1b]0;pwned\x07\x1b[2J.toml", "this is [not toml\n")


def finite_out(ctx, res):
    assert_finite_outputs(ctx.tmp / "out")


def symlink_to_victim(rel):
    def setup(ctx):
        ctx.plant("victim.txt", b"the user's file that a planted symlink points to\n")
        os.symlink("victim.txt", ctx.tmp / rel)
        ctx.planted.add(ctx.tmp / rel)
    return setup


def replaced_link_not_target(rel):
    def check(ctx, res):
        p = ctx.tmp / rel
        assert not p.is_symlink() and p.is_file(), f"{rel} should now be resim's own regular file"
    return check


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

def _durations(n):
    return ",".join(["1"] * n)


def _grid_product():
    vals = ",".join(str(i / 10) for i in range(200))
    args = []
    for k in ("restriction.duration_months", "stockpile.national.cover_days", "inventory.cover_scale",
              "economy.dependence_scale"):
        args += ["--grid", f"{k}={vals}"]
    return args


CASES: list[Case] = [
    # ---- 1. files that are not resim's; outputs -------------------------------
    Case("force-run-keeps-foreign", 1, ["run", "hostile.toml", "--out", "out", "--force",
                                        "--set", "restriction.duration_months=6"],
         setup=resim_out_then_notes, expect="ok",
         check=both(exists("out/summary.json"),
                    new_summary,
                    modes("out", 0o755, 0o644)),
         why="--force replaces resim's own files in out/, keeps out/notes.txt and out/mine/"),
    Case("force-sweep-keeps-foreign", 1, ["sweep", "hostile.toml", "--grid", "restriction.duration_months=3,6",
                                          "--out", "out", "--force"],
         setup=notes_in_out, expect="ok", check=both(exists("out/sweep.csv"), modes("out", 0o755, 0o644))),
    Case("force-compare-keeps-foreign", 1, ["compare", "hostile.toml", "--durations", "3", "--out", "out", "--force"],
         setup=notes_in_out, expect="ok", check=both(exists("out/compare.csv"), modes("out", 0o755, 0o644))),
    Case("help-says-force-keeps-foreign", 1, ["run", "--help"], expect="ok", check=help_says_force_keeps_foreign),
    Case("out-symlink-to-dir", 1, ["run", "hostile.toml", "--out", "out", "--force"], setup=symlink_out_to_dir,
         expect="either", check=when_ok(exists("out/summary.json"))),
    Case("out-symlink-to-file", 1, ["run", "hostile.toml", "--out", "out", "--force"], setup=symlink_out_to_file,
         code=(1, 2), line="out"),
    Case("out-under-regular-file", 1, ["run", "hostile.toml", "--out", "notes.txt/sub"], code=(1, 2),
         line="notes.txt"),
    Case("out-is-cwd-force", 1, ["run", "hostile.toml", "--out", ".", "--force"], expect="either",
         check=when_ok(exists("summary.json"))),
    Case("out-is-cwd-nonempty", 1, ["run", "hostile.toml", "--out", "."], line="not empty|--force"),
    Case("out-other-filesystem", 1, lambda c: ["run", "hostile.toml", "--out", str(c.data["other"] / "out")],
         setup=other_fs, skip=other_fs_skip, expect="ok",
         check=other_fs_written),
    Case("out-fills-up-during-run", 1, ["sweep", "uncertain.toml", "--samples", "1000", "--out", "out"],
         setup=signal_env, during=plant_dir_mid_run, after=1.2, code=(1, 2), check=race_check,
         why="out/ appears with a foreign file while the sweep runs: refused at the rename"),
    Case("plot-keeps-existing-png", 1, ["run", "hostile.toml", "--plot"],
         setup=lambda c: c.plant("resim-run.png", b"\x89PNG the user's own chart, not resim's"), expect="either"),
    Case("plot-tmp-name-symlink-umask-002", 1, ["run", "hostile.toml", "--plot"],
         setup=lambda c: (plant_tmp_symlinks("resim-run.png")(c), umask(0o002)(c)), expect="either",
         check=both(tmp_symlinks_untouched("resim-run.png"), when_ok(modes("resim-run.png", 0, 0o664))),
         why="predictable temporary names of ./resim-run.png are symlinks to victim.txt; the PNG gets 0664"),
    Case("compare-keeps-png-and-tmp-symlinks", 1, ["compare", "hostile.toml", "--durations", "3"],
         setup=lambda c: (plant_tmp_symlinks("resim-compare.png")(c),
                          c.plant("resim-compare.png", b"\x89PNG the user's own chart, not resim's")),
         expect="either", check=tmp_symlinks_untouched("resim-compare.png"),
         why="./resim-compare.png exists and its predictable temporary names are symlinks to victim.txt"),
    Case("umask-027-run-out", 1, ["run", "hostile.toml", "--out", "out"], setup=umask(0o027),
         expect="ok", check=modes("out", 0o750, 0o640)),
    Case("sigterm-sweep", 1, ["sweep", "uncertain.toml", "--samples", "20000", "--out", "out"], setup=signal_env,
         after=2.0, signal=signal.SIGTERM, expect="interrupted", check=absent("out")),
    Case("sigint-sweep", 1, ["sweep", "uncertain.toml", "--samples", "20000", "--out", "out"], setup=signal_env,
         after=2.0, signal=signal.SIGINT, expect="interrupted", check=absent("out")),
    Case("sighup-sweep", 1, ["sweep", "uncertain.toml", "--samples", "20000", "--out", "out"], setup=signal_env,
         after=2.0, signal=signal.SIGHUP, expect="interrupted", check=absent("out")),

    Case("report-keeps-existing-html", 1, ["report", "hostile.toml", "--out", "notes.txt"], line="--force",
         why="resim report --out an existing file: refused before any work, the file is untouched"),
    Case("calibrate-out-symlink-force", 1, lambda c: ["calibrate", "hostile.toml", *cal_args(c), "--force"],
         setup=symlink_to_victim("cal.toml"), expect="ok", check=replaced_link_not_target("cal.toml"),
         why="--force over a symlink replaces the link itself; the file it points to is never written"),

    # ---- 2. every read is bounded ---------------------------------------------
    Case("scenario-dev-zero", 2, ["run", "/dev/zero"], line=SPECIAL, never="not found", timeout=8,
         skip=no("/dev/zero")),
    Case("scenario-fifo", 2, ["run", "pipe.toml"], setup=with_special("pipe.toml", fifo), line=SPECIAL,
         never="not found", timeout=8),
    Case("scenario-socket", 2, ["run", "sock.toml"], setup=unix_socket, line=SPECIAL, never="not found",
         timeout=8),
    Case("scenario-dev-null", 2, ["run", "/dev/null"], line=SPECIAL, never="not found", skip=no("/dev/null")),
    Case("scenario-symlink-loop", 2, ["run", "loop.toml"], setup=with_special("loop.toml", loop),
         line="loop.toml", never="not found"),
    Case("scenario-directory", 2, ["run", "adir"], setup=lambda c: (c.tmp / "adir").mkdir(),
         line="is a directory"),
    Case("scenario-over-1mb", 2, ["run", "big.toml"], setup=lambda c: big_toml(c.tmp / "big.toml"),
         line=all_of(r"big\.toml", SIZE)),
    Case("base-dev-zero", 2, ["run", "child.toml"], setup=base_on("/dev/zero"), line="/dev/zero",
         never="not found", timeout=8, skip=no("/dev/zero")),
    Case("base-fifo", 2, ["run", "child.toml"], setup=base_on("pipe.toml", fifo), line=SPECIAL,
         never="not found", timeout=8),
    Case("base-symlink-loop", 2, ["run", "child.toml"], setup=base_on("loop.toml", loop), line="loop.toml",
         never="not found"),
    Case("base-over-1mb", 2, ["run", "child.toml"],
         setup=lambda c: (big_toml(c.tmp / "big.toml"), base_on("big.toml")(c)), line=all_of(r"big\.toml", SIZE)),
    Case("dependence-fifo", 2, ["run", "dep.toml"], setup=dep_on("dep.csv", fifo), line=SPECIAL,
         never="not found", timeout=8),
    Case("dependence-directory", 2, ["run", "dep.toml"],
         setup=dep_on("depdir", os.mkdir, make_v2=lambda p: p.write_text("a file, not a folder\n")),
         line="is a directory|is not a directory",
         never="not found"),
    Case("table-z-fifo", 2, ["run", "tz.toml"], setup=table_z(fifo), line=all_of(r"Z\.csv", SPECIAL), never="not found",
         timeout=8),
    Case("table-z-dev-zero", 2, ["run", "tz.toml"], setup=table_z(lambda p: os.symlink("/dev/zero", p)),
         line=all_of(r"Z\.csv", SPECIAL), never="not found", timeout=8, skip=no("/dev/zero")),
    Case("table-z-300mb", 2, ["run", "tz.toml"], setup=table_z(lambda p: sparse(p, 300 * 1024 * 1024)),
         line=all_of(r"Z\.csv", SIZE), timeout=8),
    Case("table-dir-symlink-loop", 2, ["run", "tl.toml"], setup=table_loop, line="tloop", never="not found"),

    # ---- 3. no recursion limit reachable from input -----------------------------
    Case("base-chain-1000", 3, ["run", "chain/c0.toml"], setup=chain(1000), line="base"),
    Case("base-chain-8-still-works", 3, ["run", "chain/c0.toml"], setup=chain(8), expect="ok"),
    Case("set-nested-3000", 3, ["run", "hostile.toml", "--set", "restriction.severity=" + nested(3000)],
         line="--set"),
    Case("grid-nested-3000", 3, ["sweep", "hostile.toml", "--grid", "restriction.severity=" + nested(3000) + ",1"],
         line="--grid"),
    Case("target-nested-3000", 3, ["calibrate", "hostile.toml", "--target",
                                   "gdp_loss_pct=0.2@restriction.severity=" + nested(3000),
                                   "--free", "economy.dependence_scale:0.05:2"], line="--target"),
    Case("toml-dotted-key-5000", 3, ["run", "deep.toml"],
         setup=write("deep.toml", "x." * 5000 + "y = 1\n"), line=r"deep\.toml"),
    Case("uncertainty-dotted-key-5000", 3, ["sweep", "ud.toml", "--samples", "2"],
         setup=write("ud.toml", SMALL + '[uncertainty]\n"' + ".".join(["a"] * 5000)
                     + '" = { dist = "uniform", low = 0, high = 1 }\n'), line=r"ud\.toml"),

    Case("set-key-with-too-many-parts", 3, ["run", "hostile.toml", "--set", ".".join(["a"] * 5000) + "=1"],
         line="--set"),

    # ---- 4. caches are verified before they are trusted -----------------------
    Case("cache-truncated", 4, list(RUN_JSON), setup=damage_cache("truncate"), expect="ok",
         check=lambda c, r: assert_same_number(c, r, RUN_JSON)),
    Case("cache-garbage", 4, list(RUN_JSON), setup=damage_cache("garbage"), expect="ok",
         check=lambda c, r: assert_same_number(c, r, RUN_JSON)),
    Case("cache-entries-are-fifos", 4, list(RUN_JSON), setup=damage_cache("fifo"), expect="ok", timeout=8,
         check=lambda c, r: assert_same_number(c, r, RUN_JSON)),
    Case("cache-entries-link-dev-zero", 4, list(RUN_JSON), setup=damage_cache("devzero"), expect="ok",
         timeout=8, check=lambda c, r: assert_same_number(c, r, RUN_JSON), skip=no("/dev/zero")),
    Case("cache-entries-swapped", 4, list(RUN_JSON_B), setup=swap_cache, expect="ok",
         check=lambda c, r: assert_same_number(c, r, RUN_JSON_B),
         why="two valid entries with each other's contents: the key inside must not match"),
    Case("cache-dir-is-a-file", 4, list(RUN_JSON), setup=cache_is_a_file, expect="ok",
         check=lambda c, r: assert_same_number(c, r, RUN_JSON)),
    Case("cache-stale-entries-pruned", 4, ["run", "hostile.toml", "--json", "--set", "economy.criticality=0.7"],
         setup=crowded_cache, expect="ok", check=cache_pruned),
    Case("numba-cache-unusable", 4, list(GRID34), setup=numba_cache_unusable, expect="ok", timeout=30,
         check=numba_fallback_check),

    # ---- 5. big jobs refused before they start --------------------------------
    Case("samples-1e8", 5, ["sweep", "uncertain.toml", "--samples", "100000000"],
         line=all_of("samples", SIZE), timeout=10),
    Case("grid-1.6e9-combinations", 5, ["sweep", "hostile.toml", *_grid_product()],
         line=all_of("grid|combinations", SIZE + "|combinations"), timeout=10),
    Case("compare-50000-durations", 5, ["compare", "hostile.toml", "--durations", _durations(50000)],
         line="--durations", timeout=10),
    Case("materials-5000-samples-20000", 5, ["sweep", "many.toml", "--samples", "20000"], setup=many_materials,
         line=SIZE + "|materials", timeout=10),
    Case("name-600k-chars", 5, ["run", "longname.toml"], setup=long_name, expect="either",
         check=when_ok(short_lines)),

    # ---- 6. input cannot smuggle in other input --------------------------------
    Case("set-newline-in-value", 6, ["run", "hostile.toml", "--set", "name=x\ny=1"], line="--set"),
    Case("set-cr-in-value", 6, ["run", "hostile.toml", "--set", "name=a\rb"], line="--set"),
    Case("set-escape-in-key", 6, ["run", "hostile.toml", "--set", "restriction.duration_months\x1b[2J=3"],
         line="--set", check=lambda c, r: assert_clean_text(r)),
    Case("grid-newline-in-value", 6, ["sweep", "hostile.toml", "--grid", "name=a\nb,c"], line="--grid"),
    Case("calibrate-set-smuggles-key", 6,
         ["calibrate", "hostile.toml", "--set", "horizon_months=12\nrestriction.duration_months = 99\n#", *CAL],
         line="--set", check=no_smuggled_key),
    Case("calibrate-target-smuggles-key", 6,
         ["calibrate", "hostile.toml", "--target",
          "gdp_loss_pct=0.2@horizon_months=12\nrestriction.duration_months = 99\n#",
          "--free", "economy.dependence_scale:0.05:2", "--out", "cal.toml"], line="--target", check=no_smuggled_key),
    Case("calibrate-free-smuggles-key", 6,
         ["calibrate", "hostile.toml", "--target", "gdp_loss_pct=0.2",
          "--free", "economy.dependence_scale:0.05:2\nrestriction.duration_months = 99\n#", "--out", "cal.toml"],
         line="--free", check=no_smuggled_key),
    Case("calibrate-escapes-written-toml", 6,
         lambda c: ["calibrate", "hostile.toml", "--set", 'name="a\\"b\\\\c]] = x # y"', *cal_args(c)], expect="ok",
         check=calibrated_name_round_trips),
    Case("name-mathtext-run-plot", 6, ["run", "m.toml", "--plot", "--out", "out"],
         setup=write("m.toml", SMALL.replace('"hostile"', json.dumps(MATHTEXT_NAME))), expect="ok",
         check=exists("out/run.png")),
    Case("name-mathtext-compare", 6, ["compare", "m.toml", "--durations", "3", "--out", "out"],
         setup=write("m.toml", SMALL.replace('"hostile"', json.dumps(MATHTEXT_NAME))), expect="ok",
         check=exists("out/compare.png")),
    Case("name-terminal-escapes-run", 6, ["run", "esc.toml"],
         setup=write("esc.toml", SMALL.replace('"hostile"', f'"{ESCAPE_NAME_TOML}"')), expect="ok",
         check=lambda c, r: assert_clean_text(r)),
    Case("name-terminal-escapes-sweep", 6, ["sweep", "esc.toml", "--grid", "restriction.duration_months=3,6"],
         setup=write("esc.toml", SMALL.replace('"hostile"', f'"{ESCAPE_NAME_TOML}"')), expect="ok",
         check=lambda c, r: assert_clean_text(r)),
    Case("filename-terminal-escapes-error", 6, ["run", "evil\x1b]0;pwned\x07\x1b[2J.toml"], setup=escape_file,
         line="evil", check=lambda c, r: assert_clean_text(r)),

    # ---- 7. numbers that pass validation give sane results ---------------------
    Case("gdp-subnormal", 7, ["run", "hostile.toml", "--set", "economy.gdp_jpy_bn=5e-324"],
         line="economy.gdp_jpy_bn"),
    Case("cover-months-1.7e308", 7, ["run", "hostile.toml", "--set", "inventory.cover_months=[1.7e308,2,3,6]",
                                     "--out", "out"], expect="either", line="inventory.cover_months",
         check=when_ok(finite_out)),
    Case("restock-months-subnormal", 7, ["run", "hostile.toml", "--set", "inventory.restock_months=5e-324",
                                         "--out", "out"], expect="either", line="inventory.restock_months",
         check=when_ok(finite_out)),

    # ---- 8. remote scheduler addresses fail cleanly ----------------------------
    Case("scheduler-speaks-http", 8, sched_argv, setup=listener("http"), line="--scheduler", timeout=12),
    Case("scheduler-silent", 8, sched_argv, setup=listener("silent"), line="--scheduler", timeout=12),
    Case("scheduler-garbage-bytes", 8, sched_argv, setup=listener("garbage"), line="--scheduler", timeout=12),
    Case("scheduler-bad-address", 8, ["sweep", "hostile.toml", "--grid", "restriction.duration_months=1,2",
                                      "--scheduler", "tcp://[::1"], line="--scheduler", timeout=12),

    # ---- 9. every other error path: one line, right exit code ------------------
    Case("file-size-limit", 9, ["run", "hostile.toml", "--out", "out"],
         setup=lambda c: c.rlimits.update({"RLIMIT_FSIZE": 16 * 1024}), code=1, check=absent("out")),
    Case("stdout-closed-pipe", 9, ["run", "hostile.toml"], closed_stdout=True, expect="quiet-or-error"),
    Case("non-utf8-file-name", 9, ["validate", os.fsdecode(b"caf\xe9.toml")],
         setup=lambda c: (c.tmp / os.fsdecode(b"caf\xe9.toml")).write_text(SMALL), expect="ok"),
    Case("out-name-too-long", 9, ["run", "hostile.toml", "--out", "a" * 300], code=(1, 2)),
    Case("sweep-chunk-zero", 9,
         ["sweep", "hostile.toml", "--grid", "restriction.duration_months=1,2", "--chunk", "0"], line="--chunk"),
    Case("out-is-a-fifo", 9, ["run", "hostile.toml", "--out", "opipe"], setup=with_special("opipe", fifo),
         code=(1, 2), line="opipe", timeout=8),
]

assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
