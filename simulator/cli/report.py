"""``resim report``: a one-file HTML briefing of one or more scenarios.

Every input (scenario files, ``--set``, ``--durations``, the output file) is
checked before anything runs; the file is written atomically and an
existing file is kept unless ``--force``. Heavy imports stay inside the
command so ``resim run`` starts fast.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import List, Optional

import typer

from simulator.cli.common import (
    SET_OPT,
    app,
    check_option_text,
    describe_sources,
    note,
    parse_sets,
    quoted,
    resolve_scenario,
)
from simulator.errors import ScenarioError

#: Most cases (durations or files) one report compares (each runs its band).
MAX_CASES = 24


def parse_durations(text: str) -> list[float]:
    """``"3,6,12,24"`` -> ``[3.0, 6.0, 12.0, 24.0]``; each finite, 0-600 months, no repeats, at most 24."""
    check_option_text(text, "--durations")
    parts = text.split(",")
    if len(parts) > MAX_CASES:
        raise ScenarioError(f"{len(parts):,} durations; a report compares at most {MAX_CASES}",
                            file="--durations")
    out: list[float] = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ScenarioError(f"{quoted(part.strip())} is not a number of months; give e.g. 3,6,12,24",
                                file="--durations") from None
        if not (math.isfinite(value) and 0 <= value <= 600):
            raise ScenarioError(f"{value:g} months: allowed 0 to 600", file="--durations")
        if value in out:
            raise ScenarioError(f"{value:g} months is given twice", file="--durations")
        out.append(value)
    return out


@app.command()
def report(
    scenarios: Optional[List[Path]] = typer.Argument(
        None, help="Scenario TOML file(s) or bundled scenario names; the first is reported in full, all are compared "
                   "(default: the bundled one-year scenario).", show_default=False),
    out: Path = typer.Option(Path("resim-report.html"), "--out", "-o", help="The HTML file to write."),
    durations: Optional[str] = typer.Option(
        None, "--durations", "-d", help="Compare these restriction lengths (months) of one scenario, e.g. 3,6,12,24."),
    set_: Optional[List[str]] = SET_OPT,
    draws: int = typer.Option(
        200, "--draws",
        help="Draws of the calibrated parameters (and of the \\[uncertainty] table) for each band, 20-5000."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bands (>= 0)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
):
    """Write a self-contained HTML briefing: headline with bands, timeline, sectors, levers, comparisons."""
    n_files = len(scenarios or [])
    if n_files > MAX_CASES:
        raise ScenarioError(f"{n_files} scenario files; a report compares at most {MAX_CASES}",
                            file="resim report")
    from simulator.io.scenario import load_scenario
    from simulator.report import build_report, check_out_file, write_report

    t0 = time.perf_counter()
    if not 20 <= draws <= 5000:
        raise ScenarioError(f"{draws} draws: allowed 20 to 5000", file="--draws")
    if seed < 0:
        raise ScenarioError(f"{seed}: the seed must be >= 0", file="--seed")
    files = list(scenarios or [])
    if durations is not None and len(files) > 1:
        raise ScenarioError("--durations compares lengths of one scenario; give one file (or none)",
                            file="--durations")
    overrides = parse_sets(set_)
    loaded = ([load_scenario(resolve_scenario(f), overrides=overrides) for f in files] if files
              else [load_scenario(None, overrides)])
    for sc in loaded:
        describe_sources(sc)
    lengths = parse_durations(durations) if durations is not None else None
    for d in lengths or []:  # validate every case before the work starts
        try:
            loaded[0].with_overrides({"restriction.duration_months": d})
        except ScenarioError as exc:
            raise ScenarioError(f"{d:g} months: {exc.message}", file="--durations", key=exc.key) from None
    check_out_file(out, force)
    html = build_report(loaded, lengths, n=draws, seed=seed, overrides=overrides)
    write_report(out, html, force=force)
    note(f"Wrote {out} ({len(html.encode('utf-8')) / 1024:,.0f} KB, {time.perf_counter() - t0:.1f} s); "
         "open it in a browser, or print it to PDF.")
