"""``resim calibrate`` and ``resim sensitivity``.

Both check their arguments (targets, bounds, output path) before any
simulation, so bad input exits 2 with one line and writes nothing.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import List, Optional

import typer

from simulator.cli.common import FORCE_OPT, SCENARIO_ARG, SET_OPT, app, load, parse_sets


@app.command()
def calibrate(
    scenario: Path = typer.Argument(..., help="Scenario TOML file to calibrate."),
    target: List[str] = typer.Option(
        ..., "--target", "-t",
        help="metric=value[@dotted.key=value...]: a model output and its target, under optional "
             "overrides, e.g. gdp_loss_pct=0.43@restriction.duration_months=12 (repeatable)."),
    free: List[str] = typer.Option(
        ..., "--free", "-f",
        help="dotted.key[:low:high[:start]]: a parameter to fit within bounds (schema bounds if "
             "omitted), e.g. economy.dependence_scale:0.05:2 (repeatable)."),
    set_: Optional[List[str]] = SET_OPT,
    out: Optional[Path] = typer.Option(
        None, "--out", "-o",
        help="Write a scenario TOML that inherits from SCENARIO (base = ...) and sets the fitted values."),
    as_json: bool = typer.Option(False, "--json", help="Print the fit as JSON."),
    force: bool = FORCE_OPT,
):
    """Fit free parameters so that model outputs hit targets (brentq or least squares)."""
    from simulator.analysis.calibrate import calibrate as run_calibration
    from simulator.analysis.calibrate import check_out_file, parse_free, parse_target, write_calibrated

    targets = [parse_target(t) for t in target]
    frees = [parse_free(f) for f in free]
    sets = parse_sets(set_)
    sc = load(scenario, set_)
    if out is not None:
        check_out_file(out, force)
    cal = run_calibration(sc, targets, frees)
    if as_json:
        typer.echo(json.dumps(cal.as_dict(), indent=2, allow_nan=False))
    else:
        typer.echo(cal.report())
    if out is not None:
        command = "resim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["calibrate"] else None
        write_calibrated(cal, scenario, out, sets=sets, command=command, force=force)
        if not as_json:
            typer.echo(f"\nWrote {out} (base = {scenario})")


@app.command()
def sensitivity(
    scenario: Optional[Path] = SCENARIO_ARG,
    set_: Optional[List[str]] = SET_OPT,
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Write sensitivity.csv, tornado.png and summary.json into this directory."),
    range_: Optional[List[str]] = typer.Option(
        None, "--range", "-r",
        help="dotted.key=LOW:HIGH: add a factor or replace the documented range of a key (repeatable)."),
    metric: str = typer.Option("gdp_loss_pct", "--metric", help="Summary metric to swing (default: GDP loss, % of annual GDP)."),
    top: Optional[int] = typer.Option(None, "--top", help="Show only the largest N swings in the chart."),
    force: bool = FORCE_OPT,
):
    """One-at-a-time swings of each uncertain assumption across its documented range; elasticities."""
    from simulator.io.outputs import check_out_dir
    from simulator.analysis.sensitivity import format_table, parse_range, sensitivity as run_sensitivity

    sc = load(scenario, set_)
    extra = [parse_range(r, sc) for r in range_ or []]
    if out is not None:
        check_out_dir(out, force)
    sens = run_sensitivity(sc, metric=metric, extra=extra)
    typer.echo(format_table(sens))
    if out is not None:
        from simulator.io.outputs import csv_writer, figure_writer, json_writer, provenance, write_atomic
        from simulator.plots import plot_tornado

        summary = {"metric": metric, "base_value": sens.base_value,
                   "factors": json.loads(sens.table.to_json(orient="records")),
                   "provenance": provenance(sc)}
        writers = {
            "sensitivity.csv": csv_writer(sens.table),
            "tornado.png": figure_writer(lambda: plot_tornado(sens, top=top)),
            "summary.json": json_writer(summary),
        }
        write_atomic(out, writers, force=force)
        typer.echo(f"\nWrote {', '.join(writers)} to {out}")
