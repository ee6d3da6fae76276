"""Issue #10, unit level: never lose a user's file, never show a traceback, never trust a damaged cache.

One section per class of the issue (the same numbering as docs/guarantees.md
section 6 and ``tests/hostile_cases.py``). These are the fast, in-process
checks of the building blocks; ``tests/test_hostile.py`` runs the real
``resim`` command against the same classes as a hostile user would.
"""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import os
import stat
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
from cli_runner import invoke

import simulator
from simulator import cli
from simulator.errors import DataError, ResimError, ScenarioError
from simulator.io import cache, files, outputs, text
from simulator.io.scenario import (
    MAX_BASE_DEPTH,
    MAX_KEY_PARTS,
    MAX_NESTING,
    Scenario,
    load_scenario,
    parse_override_value,
)

SMALL = 'name = "t"\nhorizon_months = 12\n'


def writer(content: str):
    def write(path: Path) -> None:
        Path(path).write_text(content)
    return write


def within(seconds: float, fn, *args):
    """fn(*args) in a thread; fails (instead of hanging the suite) if it takes longer."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc
    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{getattr(fn, '__name__', fn)} did not return within {seconds} s (a hang)"
    if "error" in box:
        raise box["error"]
    return box.get("value")


# --------------------------------------------------------------------------
# 1. Files that are not resim's are never deleted or overwritten
# --------------------------------------------------------------------------

def test_force_replaces_only_resims_files(tmp_path):
    out = tmp_path / "out"
    outputs.write_atomic(out, {"summary.json": writer("old"), "run.png": writer("old png")})
    (out / "notes.txt").write_text("mine")
    (out / "mine").mkdir()
    (out / "mine" / "keep.csv").write_text("a,b\n")
    with pytest.raises(ResimError, match="--force"):
        outputs.write_atomic(out, {"summary.json": writer("new")})
    outputs.write_atomic(out, {"summary.json": writer("new")}, force=True)
    assert (out / "summary.json").read_text() == "new"
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "mine" / "keep.csv").read_text() == "a,b\n"
    assert (out / "run.png").read_text() == "old png"          # never deleted, not written this time
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert not [p for p in out.iterdir() if ".partial" in p.name]


def test_a_directory_that_fills_up_during_the_run_is_refused_at_the_rename(tmp_path):
    out = tmp_path / "out"

    def sneaky(path: Path) -> None:            # another process creates out/ with a file, mid-run
        path.write_text("result")
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    with pytest.raises(OSError) as err:
        outputs.write_atomic(out, {"a.txt": sneaky})
    assert err.value.errno == errno.ENOTEMPTY and "nothing was written" in err.value.strerror
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_empty_directory_that_fills_up_is_refused_too(tmp_path):
    out = tmp_path / "out"
    out.mkdir()

    def sneaky(path: Path) -> None:
        path.write_text("result")
        (out / "notes.txt").write_text("mine")
    with pytest.raises(OSError, match="no longer empty"):
        outputs.write_atomic(out, {"a.txt": sneaky})
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        out = tmp_path / "out"
        outputs.write_atomic(out, {"a.txt": writer("A")})
        single = outputs.write_file(tmp_path / "one.png", lambda fh: fh.write(b"png"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    assert stat.S_IMODE((out / "a.txt").stat().st_mode) == 0o640
    assert stat.S_IMODE(single.stat().st_mode) == 0o640


def test_out_as_a_symlink_to_a_directory_writes_into_it(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "notes.txt").write_text("mine")
    (tmp_path / "out").symlink_to("real")
    outputs.write_atomic(tmp_path / "out", {"a.txt": writer("A")}, force=True)
    assert (tmp_path / "out").is_symlink()
    assert sorted(p.name for p in real.iterdir()) == ["a.txt", "notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "real"]


def _under_a_file(p: Path) -> Path:
    (p.parent / "f").write_text("x")
    return p.parent / "f" / "sub"


def _made(fn):
    def make(p: Path) -> Path:
        fn(p)
        return p
    return make


@pytest.mark.parametrize("make, expect", [
    (_under_a_file, "is not a directory"),
    (_made(os.mkfifo), "FIFO"),
    (_made(lambda p: os.symlink("missing", p)), "missing location"),
    (_made(lambda p: os.symlink(p.name, p)), "loop"),
    (lambda p: p.parent / ("a" * 300), "too long"),
], ids=["under-a-file", "fifo", "dangling-link", "link-loop", "name-too-long"])
def test_bad_output_directories_are_refused_before_any_work(tmp_path, make, expect):
    target = make(tmp_path / "out")
    with pytest.raises(ResimError, match=expect):
        outputs.check_out_dir(target, force=True)


def test_single_files_never_clobber_and_never_follow_a_planted_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "plot.png").write_text("the user's own chart")
    got = outputs.write_file(tmp_path / "plot.png", lambda fh: fh.write(b"new"), next_free=True)
    assert got.name == "plot-2.png" and got.read_bytes() == b"new"
    assert (tmp_path / "plot.png").read_text() == "the user's own chart"
    with pytest.raises(ResimError, match="--force"):
        outputs.write_file(tmp_path / "plot.png", lambda fh: fh.write(b"new"))
    (tmp_path / "link.png").symlink_to("victim.txt")
    outputs.write_file(tmp_path / "link.png", lambda fh: fh.write(b"new"), overwrite=True)
    assert victim.read_text() == "precious" and not (tmp_path / "link.png").is_symlink()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_force_help_says_other_files_are_kept(capsys, monkeypatch):
    code, out, _ = invoke(capsys, *["run", "--help"])
    assert code == 0
    assert "only the files resim itself writes" in " ".join(out.replace("│", " ").split())


def test_sigterm_and_sighup_raise_keyboardinterrupt_once():
    import signal

    handler = cli._Interrupt()
    with pytest.raises(KeyboardInterrupt):
        handler(signal.SIGTERM, None)
    handler(signal.SIGHUP, None)                  # ignored while the clean-up runs
    with pytest.raises(KeyboardInterrupt):
        handler(signal.SIGINT, None)              # Ctrl-C always interrupts


# --------------------------------------------------------------------------
# 2. Every file resim reads is bounded
# --------------------------------------------------------------------------

@pytest.mark.parametrize("make, expect", [
    (lambda p: os.mkfifo(p), "FIFO"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: os.symlink(p.name, p), "symbolic link loop"),
    (lambda p: os.symlink("/dev/zero", p), "character device"),
    (lambda p: p.write_bytes(b"# " + b"x" * (files.SCENARIO_MAX_BYTES + 10)), "larger than the 1 MB"),
], ids=["fifo", "directory", "loop", "dev-zero", "too-big"])
def test_scenario_files_are_regular_and_small(tmp_path, make, expect):
    path = tmp_path / "s.toml"
    make(path)
    with pytest.raises(ScenarioError, match=expect) as err:
        within(10, load_scenario, path)
    assert "not found" not in str(err.value)


def test_a_base_that_is_a_fifo_names_what_it_is(tmp_path):
    os.mkfifo(tmp_path / "pipe.toml")
    (tmp_path / "child.toml").write_text('base = "pipe.toml"\n')
    with pytest.raises(ScenarioError, match="FIFO") as err:
        within(10, load_scenario, tmp_path / "child.toml")
    assert err.value.key == "base" and "not found" not in err.value.message


def test_read_bounded_never_reads_past_the_cap(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x" * 100)
    assert files.read_bounded(p, 100) == b"x" * 100
    with pytest.raises(ResimError, match="larger than"):
        files.read_bounded(p, 99)


def test_table_files_are_bounded_too(tmp_path):
    from simulator.io.tables import load_table

    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(DataError, match="loop"):
        load_table(str(tmp_path / "loop"))
    t = tmp_path / "t"
    t.mkdir()
    os.mkfifo(t / "Z.csv")
    with pytest.raises(DataError, match="FIFO") as err:
        within(10, load_table, str(t))
    assert err.value.file.endswith("Z.csv")


def test_a_failing_pandas_import_is_not_a_csv_error(tmp_path, monkeypatch):
    from simulator.io import tables

    class Broken:
        def __getattr__(self, name):
            raise ImportError("no pandas here")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    monkeypatch.setattr(tables, "pd", Broken())
    with pytest.raises(ImportError):
        tables._read_csv(tmp_path / "x.csv")


# --------------------------------------------------------------------------
# 3. No recursion limit is reachable from input
# --------------------------------------------------------------------------

def _chain(tmp_path: Path, n: int) -> Path:
    for i in range(n):
        (tmp_path / f"c{i}.toml").write_text(f'base = "c{i + 1}.toml"\n' if i < n - 1 else SMALL)
    return tmp_path / "c0.toml"


def test_base_chains_are_capped(tmp_path):
    (tmp_path / "ok").mkdir()
    assert load_scenario(_chain(tmp_path / "ok", MAX_BASE_DEPTH)).horizon_months == 12
    (tmp_path / "long").mkdir()
    with pytest.raises(ScenarioError, match=f"longer than {MAX_BASE_DEPTH}") as err:
        load_scenario(_chain(tmp_path / "long", 1000))
    assert err.value.key == "base"


@pytest.mark.parametrize("value", ["[" * 3000 + "1" + "]" * 3000,
                                   "[" * (MAX_NESTING + 1) + "1" + "]" * (MAX_NESTING + 1),
                                   "{a=" * 3000 + "1" + "}" * 3000])
def test_deeply_nested_override_values_are_refused(value):
    with pytest.raises(ScenarioError, match="nested too deeply") as err:
        parse_override_value(value, "--grid")
    assert err.value.file == "--grid"


def test_deep_structures_are_refused_on_every_path(tmp_path):
    deep = 1
    for _ in range(3000):
        deep = [deep]
    with pytest.raises(ScenarioError, match="nested"):
        simulator.load_scenario(overrides={"restriction.severity": deep})
    with pytest.raises(ScenarioError, match="at most"):
        simulator.load_scenario(overrides={".".join(["a"] * (MAX_KEY_PARTS + 1)): 1})
    (tmp_path / "d.toml").write_text("x." * 5000 + "y = 1\n")
    with pytest.raises(ScenarioError, match="nested more than"):
        load_scenario(tmp_path / "d.toml")


# --------------------------------------------------------------------------
# 4. A cache is trusted only after it is verified
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Toy:
    a: np.ndarray
    b: tuple


def _toy():
    return Toy(np.arange(5.0), (np.eye(2), np.ones(3)))


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("RESIM_CACHE_DIR", str(d))
    return d


def test_cache_round_trip_and_key_check(cache_dir):
    k1, k2 = "1" * 32, "2" * 32
    cache.store(k1, _toy(), ("c",), ("n",))
    got, codes, names = cache.load(k1, Toy)
    assert np.array_equal(got.a, np.arange(5.0)) and codes == ("c",) and names == ("n",)
    # an entry copied under another key's name is refused: the key is inside the file
    (cache_dir / f"economy-{k2}.npz").write_bytes((cache_dir / f"economy-{k1}.npz").read_bytes())
    assert cache.load(k2, Toy) is None
    assert not [p for p in cache_dir.iterdir() if p.name.endswith(".partial")]


@pytest.mark.parametrize("damage", ["truncate", "flip", "fifo", "dir", "devzero", "empty"])
def test_a_damaged_cache_entry_is_never_used_and_never_fatal(cache_dir, damage):
    k = "3" * 32
    cache.store(k, _toy(), (), ())
    p = cache_dir / f"economy-{k}.npz"
    data = p.read_bytes()
    p.unlink()
    if damage == "truncate":
        p.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        p.write_bytes(data[:-10] + bytes(10))
    elif damage == "fifo":
        os.mkfifo(p)
    elif damage == "dir":
        p.mkdir()
    elif damage == "devzero":
        p.symlink_to("/dev/zero")
    else:
        p.write_bytes(b"")
    assert within(10, cache.load, k, Toy) is None


def test_cache_prunes_old_and_oversized_entries_only(cache_dir):
    cache_dir.mkdir()
    old = time.time() - 400 * 86400
    for i in range(5):
        p = cache_dir / f"economy-{i:032x}.npz"
        p.write_bytes(b"x" * 1000)
        os.utime(p, (old, old))
    fresh = [cache_dir / f"economy-{i + 10:032x}.npz" for i in range(4)]
    for i, p in enumerate(fresh):
        p.write_bytes(b"x" * 1000)
        os.utime(p, (time.time() - 100 + i, time.time() - 100 + i))
    (cache_dir / "notes.txt").write_text("not resim's")
    (cache_dir / "numba-0123456789abcdef").mkdir()
    freed = cache.prune(cache_dir, max_total=2500)
    left = sorted(p.name for p in cache_dir.iterdir())
    assert freed == 7000
    assert left == sorted(["notes.txt", "numba-0123456789abcdef", fresh[2].name, fresh[3].name])


def test_old_compiled_loop_folders_are_pruned_and_nothing_else(cache_dir):
    old = time.time() - 400 * 86400
    stale, fresh, mixed = (cache_dir / f"numba-{c * 16}" for c in "abc")
    for folder in (stale, fresh, mixed):
        folder.mkdir(parents=True)
        (folder / "run_blocks.nbi").write_bytes(b"i")
        (folder / "run_blocks.1.nbc").write_bytes(b"c")
    (mixed / "notes.txt").write_text("mine")
    for folder in (stale, mixed):
        for f in folder.iterdir():
            os.utime(f, (old, old))
    cache.prune(cache_dir)
    assert not stale.exists() and fresh.exists() and (mixed / "notes.txt").exists()


def test_the_key_refuses_special_data_files(tmp_path):
    os.mkfifo(tmp_path / "dep.csv")
    with pytest.raises(OSError):
        within(10, cache.key, ("x",), [tmp_path / "dep.csv"])


def test_warnings_print_one_line(capsys):
    cli._show_warning("resim: the compiled engine is unavailable (x)\nsecond line", RuntimeWarning, "f.py", 1)
    err = capsys.readouterr().err
    assert err == "resim: warning: the compiled engine is unavailable (x)\\x0asecond line\n" or \
        err.count("\n") == 1 and err.startswith("resim: warning: ")


# --------------------------------------------------------------------------
# 5. Big jobs are refused before they start, with the estimate
# --------------------------------------------------------------------------

def test_a_batch_that_cannot_fit_is_refused_with_its_size(monkeypatch):
    from simulator.core import budget

    sc = simulator.load_scenario()
    monkeypatch.setattr(budget, "available_memory", lambda: 1 << 30)
    budget.check_batch(sc, 1000, source="--samples")
    with pytest.raises(ResimError) as err:
        budget.check_batch(sc, 10**8, source="--samples")
    line = str(err.value)
    assert line.startswith("--samples: 100,000,000 scenarios") and "GB" in line and "iter_summary" in line


def test_the_python_api_refuses_a_huge_grid_before_listing_it(monkeypatch):
    from simulator.core import budget

    monkeypatch.setattr(budget, "available_memory", lambda: 1 << 30)
    grid = {"restriction.duration_months": list(range(1000)), "inventory.cover_scale": [1.0] * 1000,
            "stockpile.national.cover_days": [0.0] * 1000}
    t0 = time.perf_counter()
    with pytest.raises(ResimError, match="scenarios"):
        simulator.sweep(simulator.load_scenario(), grid)
    assert time.perf_counter() - t0 < 5


def test_schema_caps_sizes():
    with pytest.raises(ScenarioError, match="at most 200"):
        simulator.load_scenario(overrides={"name": "N" * 600_000})
    mats = {f"materials.m{i}.demand_t_per_month": 1.0 for i in range(70)}
    mats.update({f"materials.m{i}.china_share": 0.5 for i in range(70)})
    with pytest.raises(ScenarioError, match="at most 64"):
        simulator.load_scenario(overrides=mats)


def test_compare_caps_its_durations(capsys, monkeypatch):
    code, _, err = invoke(capsys, *["compare", "--durations", ",".join(["1"] * 500)])
    assert code == 2 and err.count("\n") == 1 and "--durations" in err


# --------------------------------------------------------------------------
# 6. Input cannot smuggle in other input
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["run", "--set", "name=x\ny=1"],
    ["run", "--set", "name=a\rb"],
    ["run", "--set", "restriction.duration_months\x1b[2J=3"],
    ["sweep", "--grid", "name=a\nb,c"],
    ["calibrate", "scenarios/none.toml", "--target", "gdp_loss_pct=0.2@a=1\nb=2", "--free", "x.y"],
])
def test_control_characters_in_options_are_refused(args, capsys, monkeypatch):
    code, _, err = invoke(capsys, *args)
    assert code == 2 and err.count("\n") == 1 and "control characters" in err
    assert not text.has_control(err.rstrip("\n"))


def test_terminal_text_is_printable():
    evil = "evil\x1b]0;pwned\x07\x1b[2J\x9b0m\u202e"
    assert not text.has_control(text.one_line(evil + "\nx"))
    assert text.printable("a\nb") == "a\nb" and "\\x1b" in text.printable(evil)
    assert text.literal("$x^{$") == r"\$x^{\$"


def test_calibration_output_is_written_by_a_toml_writer(tmp_path):
    from simulator.analysis.calibrate import Calibration, FreeParameter, Target, calibrated_toml

    sc = simulator.load_scenario()
    nasty = 'a"b\\c]] = x # y\nrestriction.duration_months = 99'
    cal = Calibration(
        scenario=sc, parameters={"economy.dependence_scale": 0.3},
        free=(FreeParameter("economy.dependence_scale", 0.05, 2),),
        targets=(Target("gdp_loss_pct", 0.4, {"name": nasty}),), achieved=np.array([0.4]),
        residuals=np.array([0.0]),
        method="brentq", identified=True, jacobian=np.ones((1, 1)), singular_values=np.ones(1), rank=1,
        notes=("a note\nrestriction.severity = 0",), n_runs=1)
    out = calibrated_toml(cal, tmp_path / "base.toml", tmp_path / "cal.toml", sets={"name": nasty},
                          command="resim calibrate x\ny = 1")
    data = tomllib.loads(out)
    assert data["name"] == nasty
    assert set(data) == {"base", "name", "economy"}
    assert data["economy"] == {"dependence_scale": 0.3}


def test_mathtext_in_names_is_drawn_literally():
    import matplotlib.pyplot as plt
    import pandas as pd

    from simulator.plots import plot_sectors

    frame = pd.DataFrame({"code": ["01"], "name": [r"cost $\undefinedcmd$ and $x^{$"],
                          "gdp_loss_jpy_bn": [1.0]})
    fig = plot_sectors({r"$\bad{$": frame, "b": frame})
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


# --------------------------------------------------------------------------
# 7. Numbers that pass validation give sane results
# --------------------------------------------------------------------------

def _numbers_without_bounds(node, path, defs, out):
    """Walk a JSON Schema: every number or integer (alone, in a union or in an array) needs both bounds."""
    if "$ref" in node:
        node = defs[node["$ref"].split("/")[-1]]
    for alt in node.get("anyOf", []):
        _numbers_without_bounds(alt, path, defs, out)
    if node.get("type") in ("number", "integer"):
        low = "minimum" in node or "exclusiveMinimum" in node
        high = "maximum" in node or "exclusiveMaximum" in node
        if not (low and high):
            out.append(path)
    if node.get("type") == "array" and "items" in node:
        _numbers_without_bounds(node["items"], path + "[]", defs, out)
    for name, sub in node.get("properties", {}).items():
        _numbers_without_bounds(sub, f"{path}.{name}".lstrip("."), defs, out)
    if isinstance(node.get("additionalProperties"), dict):
        _numbers_without_bounds(node["additionalProperties"], path + ".<id>", defs, out)


def test_every_numeric_key_has_a_lower_and_an_upper_bound():
    """Read from the JSON Schema, so a key added later is checked too."""
    schema = Scenario.model_json_schema(mode="validation")
    unbounded: list[str] = []
    _numbers_without_bounds(schema, "", schema.get("$defs", {}), unbounded)
    assert unbounded == []


@pytest.mark.parametrize("key, value", [("economy.gdp_jpy_bn", 5e-324), ("inventory.restock_months", 5e-324),
                                        ("restriction.duration_months", 5e-324),
                                        ("economy.gdp_jpy_bn", 1e-3)])
def test_subnormal_and_absurd_values_are_refused_naming_key_and_range(key, value):
    with pytest.raises(ScenarioError) as err:
        simulator.load_scenario(overrides={key: value})
    assert err.value.key == key


def test_cli_errors_are_one_printable_line(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "evil\x1b]0;x\x07.toml"
    bad.write_text("this is [not toml\n")
    code, _, err = invoke(capsys, *["run", str(bad)])
    assert code == 2 and err.count("\n") == 1 and not text.has_control(err.rstrip("\n"))


# --------------------------------------------------------------------------
# 8. Remote scheduler addresses fail cleanly
# --------------------------------------------------------------------------

def _listener(reply: bytes | None):
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    conns = []

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            conns.append(c)
            if reply:
                c.sendall(reply)
    threading.Thread(target=serve, daemon=True).start()
    return srv, conns


@pytest.mark.parametrize("reply", [b"HTTP/1.1 200 OK\r\n\r\nhello", b"\xff" * 64, None],
                         ids=["http", "garbage", "silent"])
def test_a_port_that_is_not_a_dask_scheduler_is_one_error_within_the_timeout(reply):
    from simulator.core.executor import probe_scheduler

    srv, conns = _listener(reply)
    try:
        t0 = time.perf_counter()
        with pytest.raises(ResimError, match="Dask") as err:
            probe_scheduler("127.0.0.1", srv.getsockname()[1], timeout=1.0)
        assert time.perf_counter() - t0 < 3 and err.value.key == "--scheduler"
    finally:
        for c in [srv, *conns]:
            c.close()


def test_a_malformed_scheduler_address_is_bad_input():
    from simulator.core.executor import connect

    with pytest.raises(ResimError, match="not a scheduler address"):
        connect("tcp://[::1")


# --------------------------------------------------------------------------
# 9. Every other error path: one line, the right exit code
# --------------------------------------------------------------------------

def test_an_unexpected_exception_is_one_line_exit_1(capsys, monkeypatch):
    from simulator.cli import run as run_module

    def boom(*a, **k):
        raise ZeroDivisionError("surprise")
    monkeypatch.setattr(run_module, "format_summary", boom)
    monkeypatch.delenv("RESIM_DEBUG", raising=False)
    code, _, err = invoke(capsys, *["run"])
    assert code == 1 and err.count("\n") == 1 and err.startswith("resim: error: internal error")


def test_a_disk_error_names_the_file_and_exits_1(tmp_path, capsys, monkeypatch):
    def full(df):
        def write(path):
            raise OSError(errno.EFBIG, "File too large")
        return write
    monkeypatch.setattr(outputs, "csv_writer", full)
    code, _, err = invoke(capsys, *["run", "--out", str(tmp_path / "out")])
    assert code == 1 and err.count("\n") == 1 and "monthly.csv: File too large" in err
    assert not (tmp_path / "out").exists()


def test_usage_errors_keep_exit_2(capsys, monkeypatch):
    code, _, err = invoke(capsys, *["run", "--no-such-option"])
    assert code == 2 and "No such option" in err and "Traceback" not in err


def test_json_summary_is_unchanged_by_the_new_entry_point(capsys, monkeypatch):
    code, out, err = invoke(capsys, *["run", "--json", "--set", "horizon_months=12"])
    assert code == 0 and err == ""
    assert json.loads(out)["gdp_loss_pct"] > 0
