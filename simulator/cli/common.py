"""The ``resim`` command line.

Bad input (scenario, override, data file) prints one line naming the
file, the key and what is allowed, and exits with code 2; nothing is
written. Heavy libraries (matplotlib, scipy) are imported only by the
commands that need them, so ``resim run`` starts fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional, overload

import typer

from simulator.errors import ResimError, ScenarioError

app = typer.Typer(
    name="resim",
    help="Rare-earth supply-disruption impact simulator for Japan.\n\n"
         "SCENARIO arguments take a scenario file or the name of a bundled scenario (resim scenarios "
         "lists them; resim init copies one to edit). --quiet and --verbose may also follow the command.",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

#: The global options of this invocation (``--quiet``, ``--verbose``) and the timings of its phases.
STATE: dict = {"quiet": False, "verbose": False, "timings": []}


def reset_state() -> None:
    """Forget the options of an earlier invocation (``main`` runs once per call, also in-process)."""
    STATE.update(quiet=False, verbose=False, timings=[])


def _show_version(value: bool) -> None:
    if value:
        from simulator._version import __version__

        typer.echo(f"resim {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    version: bool = typer.Option(False, "--version", "-V", callback=_show_version, is_eager=True,
                                 help="Print resim's version and exit."),
    quiet: bool = typer.Option(False, "--quiet", "-q",
                               help="Print only the result: no notes, no progress bars, no 'Wrote ...' lines "
                                    "(warnings and errors still show)."),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Also print, on stderr, where the scenario and data came from and how "
                                      "long each step took."),
):
    """Options for every command (the help text is the app's)."""
    if quiet and verbose:
        raise ScenarioError("give --quiet or --verbose, not both", file="--quiet")
    STATE.update(quiet=quiet, verbose=verbose)
    if quiet:
        sys.stderr = NoteFilter(sys.stderr)


class NoteFilter:
    """``--quiet``: stderr without resim's notes (``resim: compiling ...``).

    Errors, warnings and everything else pass. Lines are held until complete,
    so a note written in pieces is still caught.
    """

    KEEP = ("resim: error", "resim: warning", "resim: interrupted")

    def __init__(self, stream):
        self.stream = stream
        self.buffer = ""

    def write(self, text: str) -> int:
        """Pass on every complete line that is not a note."""
        self.buffer += text
        while "\n" in self.buffer:
            line, self.buffer = self.buffer.split("\n", 1)
            if not self._note(line):
                self.stream.write(line + "\n")
        return len(text)

    def _note(self, line: str) -> bool:
        return line.startswith("resim: ") and not line.startswith(self.KEEP)

    def flush(self) -> None:
        """Pass on a pending partial line unless it may become a note; flush the stream."""
        if self.buffer and not self._note(self.buffer) and not "resim: ".startswith(self.buffer):
            self.stream.write(self.buffer)
            self.buffer = ""
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def quiet() -> bool:
    """Whether ``--quiet`` was given."""
    return bool(STATE["quiet"])


def note(text: str = "", machine_output: bool = False) -> None:
    """A note for people (``Wrote ...``, hints on stdout): not with --quiet, nor beside JSON on stdout."""
    if not STATE["quiet"] and not machine_output:
        echo(text)


def detail(text: str) -> None:
    """A --verbose line on stderr: ``resim: TEXT``."""
    if STATE["verbose"]:
        from simulator.io.text import one_line

        typer.echo(f"resim: {one_line(str(text))}", err=True)


class phase:
    """Time a step of the command for --verbose: ``with phase("run"): ...``."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        import time

        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        import time

        STATE["timings"].append((self.name, time.perf_counter() - self.t0))
        return False


def timings_line() -> str | None:
    """``timings: load 0.03 s, run 0.85 s, ...`` (None if nothing was timed)."""
    if not STATE["timings"]:
        return None
    return "timings: " + ", ".join(f"{name} {sec:.2f} s" for name, sec in STATE["timings"])

#: Most values of a repeatable option (--set, --grid, --target, --free) and of a comma list.
MAX_OPTION_ITEMS = 1000


def echo(text: str = "", err: bool = False) -> None:
    """Print user-facing text with terminal control characters shown as escapes (never acted on)."""
    from simulator.io.text import printable

    typer.echo(printable(str(text)), err=err)


def quoted(text: str, limit: int = 80) -> str:
    """User input for an error line: control characters escaped, clipped, quoted."""
    from simulator.io.text import clip, one_line

    return "'" + clip(one_line(str(text)), limit) + "'"


def check_option_text(item: str, option: str) -> None:
    """Refuse a control character (a newline could smuggle in another key) in an option's text."""
    from simulator.io.text import has_control

    if has_control(item):
        raise ScenarioError(f"control characters (newline, carriage return, escape, ...) are not allowed; "
                            f"got {quoted(item)}", file=option)


def check_count(items, option: str, limit: int = MAX_OPTION_ITEMS) -> None:
    """Refuse more than ``limit`` values for an option."""
    if items is not None and len(items) > limit:
        raise ScenarioError(f"{len(items):,} values given; at most {limit:,}", file=option)


def parse_sets(sets: Optional[List[str]]) -> dict:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": 1, "c": "x"}`` (values parsed as TOML).

    Raises
    ------
    ScenarioError
        Naming ``--set``: no ``=``, a control character in the key or value, a
        malformed dotted key, or a value nested too deeply.
    """
    from simulator.io.scenario import check_override_key, parse_override_value

    check_count(sets, "--set")
    out = {}
    for item in sets or []:
        check_option_text(item, "--set")
        if "=" not in item:
            raise ScenarioError(f"needs dotted.key=value (got {quoted(item)})", file="--set")
        key, value = item.split("=", 1)
        key = key.strip()
        check_override_key(key, "--set")
        out[key] = parse_override_value(value.strip(), "--set", key=key)
    return out


@overload
def resolve_scenario(scenario: Path) -> Path: ...


@overload
def resolve_scenario(scenario: None) -> None: ...


def resolve_scenario(scenario: Optional[Path]) -> Optional[Path]:
    """A SCENARIO argument: a file (a path wins), else the name of a bundled scenario (``japan-six-months``).

    Raises
    ------
    ScenarioError
        For a bare name that is neither a file nor a bundled scenario: the line lists the bundled ones.
    """
    from simulator.io.scenario import find_scenario

    if scenario is None:
        return None
    return find_scenario(scenario)


def load(scenario: Optional[Path], sets: Optional[List[str]] = None):
    """Load SCENARIO (a file or a bundled name) with ``--set`` overrides; --verbose says where it came from."""
    from simulator.io.scenario import load_scenario

    with phase("load"):
        sc = load_scenario(resolve_scenario(scenario), overrides=parse_sets(sets))
    describe_sources(sc)
    return sc


def describe_sources(sc) -> None:
    """--verbose: the scenario file, its base files, the overrides and the data files."""
    if not STATE["verbose"]:
        return
    files = list(sc.files) or [sc.source_file]
    detail(f"scenario: {files[0]}" + (f" (base files: {', '.join(files[1:])})" if len(files) > 1 else ""))
    sets = sorted(k for k, v in sc.origins.items() if v == "--set")
    if sets:
        detail(f"--set: {', '.join(sets)}")
    df = sc.data_files()
    detail(f"data: input-output table {df.table_dir}; use table {df.use_table_dir}; material defaults "
           f"{df.materials_file}")
    from simulator._cachedir import cache_root

    root = cache_root()
    detail(f"cache: {root if root is not None else 'off (RESIM_CACHE_DIR)'}")


def engine_detail(n_scenarios: int | None = None) -> None:
    """--verbose: which material loop ran (numpy or compiled)."""
    if not STATE["verbose"]:
        return
    import os

    compiled = "simulator.model.supply_numba" in sys.modules and os.environ.get("RESIM_ENGINE", "auto") != "numpy"
    size = f" for {n_scenarios:,} scenario{'s' if n_scenarios != 1 else ''}" if n_scenarios else ""
    detail(f"engine: {'compiled (numba)' if compiled else 'numpy'} material loop{size}")


# --------------------------------------------------------------------------
# Machine-readable output: --json and --xlsx
# --------------------------------------------------------------------------

def check_xlsx(path: Optional[Path], force: bool) -> None:
    """Refuse ``--xlsx FILE`` before any work: openpyxl missing, a directory, an existing file without --force."""
    import os

    if path is None:
        return
    check_option_text(str(path), "--xlsx")
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise ResimError("Excel output needs openpyxl: pip install 'resim[xlsx]'", file="--xlsx") from None
    if str(path).endswith(os.sep) or os.path.isdir(path):
        raise ResimError("is a directory; --xlsx takes a file name such as results.xlsx", file=str(path))
    if not str(path).lower().endswith(".xlsx"):
        raise ResimError("--xlsx writes an Excel workbook; give a file name ending in .xlsx", file=str(path))
    parent = Path(os.path.abspath(path)).parent
    if not parent.is_dir():
        raise ResimError(f"directory {parent} does not exist", file=str(path))
    if os.path.lexists(path) and not force:
        raise ResimError("exists; use --force to overwrite", file=str(path))


def write_xlsx(path: Path, sheets: dict, force: bool) -> Path:
    """Write the workbook (atomically, as every output); return where."""
    from simulator.io.outputs import write_file, xlsx_writer

    with phase("write xlsx"):
        return write_file(Path(path), xlsx_writer(sheets), overwrite=force)


def jsonable(value):
    """Turn numpy and pandas values into plain JSON values: NaN and infinities become null."""
    import math

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
        if isinstance(value, list):
            return jsonable(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError, ImportError):
        pass
    return str(value)


def records(df) -> list[dict]:
    """A data frame as a list of JSON-ready rows (NaN and infinities as null)."""
    return [jsonable(row) for row in df.to_dict(orient="records")]


def emit_json(obj) -> None:
    """Print ``obj`` as JSON on stdout (no NaN, no infinity)."""
    echo(json.dumps(jsonable(obj), indent=2, allow_nan=False))


#: Month-index columns of summary tables, and their calendar columns (``..._date``).
MONTH_INDEX_SUFFIX = "_month"


def _month_columns(df) -> list[str]:
    return [c for c in df.columns if c == "peak_month" or c.endswith("first_shortage_month")]


def tidy_months(df, start_date: str):
    """A copy of a summary table for JSON and workbooks, with months that people can read.

    Month indices that mean "never" (inf, NaN) are empty, and each month index
    gets a calendar column beside it (``first_shortage_date``: ``2026-04``,
    empty for never).
    """
    import math

    import numpy as np

    from simulator.core.results import month_labels

    out = df.copy()
    for col in _month_columns(out):
        values = out[col].astype(float).replace([np.inf, -np.inf], np.nan)
        out[col] = values
        starts = out["start_date"] if "start_date" in out.columns else [start_date] * len(out)
        dates: list[str | None] = []
        for v, sd in zip(values, starts, strict=True):
            if v is None or not math.isfinite(v):
                dates.append(None)
            else:
                dates.append(month_labels(str(sd), int(v) + 1)[int(v)])
        name = col[:-len(MONTH_INDEX_SUFFIX)] + "_date"
        if name not in out.columns:
            out.insert(out.columns.get_loc(col) + 1, name, dates)
    return out


def assumptions_frame(cases: list):
    """The 'assumptions' sheet: every value of the scenario(s) and where it came from.

    ``cases`` is ``[(label, scenario)]``. One row per dotted key (and a few rows of
    provenance first: resim version, scenario file and sha256, data file hashes);
    columns ``key``, ``meaning``, then per scenario its value and the file that set
    it (``--set``, a file, or ``default``).
    """
    import pandas as pd

    from simulator._version import __version__
    from simulator.report.format import key_words

    rows: dict[str, dict] = {}
    order: list[str] = []

    def put(key: str, meaning: str, label: str, value, source: str) -> None:
        if key not in rows:
            rows[key] = {"key": key, "meaning": meaning}
            order.append(key)
        rows[key][label if len(cases) > 1 else "value"] = value
        rows[key][f"{label} source" if len(cases) > 1 else "source"] = source

    for label, sc in cases:
        put("(resim version)", "the program that computed these results", label, __version__, "")
        put("(scenario file)", "the scenario file (its base files follow it)", label,
            " <- ".join(sc.files) if sc.files else (sc.source_file or ""), "")
        put("(scenario sha256)", "hash of the scenario file", label, sc.source_sha256 or "", "")
        for name, digest in sc.data_files().sha256().items():
            put(f"(data sha256) {name}", "hash of a data file used", label, digest, "")
    for label, sc in cases:
        origins = sc.origins
        for key, value in sc.flat().items():
            if key in ("source_file", "source_sha256"):
                continue
            if isinstance(value, (list, tuple, dict)):
                value = json.dumps(jsonable(value))
            elif value is None:
                value = ""
            source = origins.get(key)
            if source is None:
                source = "data/materials.toml" if key.startswith("materials.") else "default"
            put(key, key_words(key, sc) if key_words(key, sc) != key else "", label, value, source)
    return pd.DataFrame([rows[k] for k in order])


XLSX_OPT = typer.Option(
    None, "--xlsx",
    help="Also write one Excel workbook: a sheet per table and a sheet of assumptions (every value, "
         "where it came from, data hashes). Needs pip install 'resim[xlsx]'.")


SCENARIO_ARG = typer.Argument(
    None, help="Scenario TOML file, or the name of a bundled scenario (resim scenarios lists them; "
               "default: the bundled one-year scenario).", show_default=False)
SET_OPT = typer.Option(None, "--set", "-s", help="Override a value: dotted.key=value (repeatable).")
OUT_OPT = typer.Option(None, "--out", "-o", help="Write results into this directory.")
FORCE_OPT = typer.Option(
    False, "--force",
    help="Write into a non-empty output directory: only the files resim itself writes there are replaced; "
         "other files are kept, never deleted.")
