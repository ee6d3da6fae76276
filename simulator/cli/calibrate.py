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

from simulator.cli.common import (
    FORCE_OPT,
    SCENARIO_ARG,
    SET_OPT,
    XLSX_OPT,
    app,
    assumptions_frame,
    check_count,
    check_xlsx,
    echo,
    emit_json,
    load,
    note,
    parse_sets,
    phase,
    records,
    resolve_scenario,
    write_xlsx,
)
from simulator.errors import ResimError


@app.command()
def calibrate(
    scenario: Optional[Path] = typer.Argument(
        None, help="Scenario TOML file (or bundled scenario name) to calibrate (not with --posterior)."),
    target: Optional[List[str]] = typer.Option(
        None, "--target", "-t",
        help="metric=value[@dotted.key=value...]: a model output and its target, under optional "
             "overrides, e.g. gdp_loss_pct=0.43@restriction.duration_months=12 (repeatable)."),
    free: Optional[List[str]] = typer.Option(
        None, "--free", "-f",
        help="dotted.key[:low:high[:start]]: a parameter to fit within bounds (schema bounds if "
             "omitted), e.g. economy.criticality_scale:0.2:3 (repeatable)."),
    set_: Optional[List[str]] = SET_OPT,
    out: Optional[Path] = typer.Option(
        None, "--out", "-o",
        help="Point fit: write a scenario TOML that inherits from SCENARIO (base = ...) and sets the fitted "
             "values. --posterior: write posterior.csv and posterior.json into this directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the fit as JSON."),
    force: bool = FORCE_OPT,
    posterior: bool = typer.Option(
        False, "--posterior",
        help="Sample the posterior of the calibrated parameters against all the evidence (data/evidence.toml, "
             "data/priors.toml) from scratch; use it with RESIM_POSTERIOR=DIR."),
    prior_draws: int = typer.Option(20_000, "--prior-draws", min=100, max=2_000_000,
                                    help="--posterior: prior draws simulated."),
    draws: int = typer.Option(1000, "--draws", min=10, max=100_000, help="--posterior: posterior draws kept."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="--posterior: seed."),
):
    """Fit parameters to targets (brentq or least squares), or (--posterior) sample the posterior given all the evidence."""  # noqa: E501 - typer shows this line verbatim as the command's help
    if posterior:
        _posterior(scenario, target, free, out, as_json, force, prior_draws, draws, seed)
        return
    from simulator.analysis.calibrate import calibrate as run_calibration
    from simulator.analysis.calibrate import check_out_file, parse_free, parse_target, write_calibrated

    if scenario is None or not target or not free:
        missing = "SCENARIO" if scenario is None else "--target" if not target else "--free"
        raise ResimError(f"a point fit needs SCENARIO, --target and --free ({missing} is missing); "
                         "or use --posterior for the calibration against all the evidence", key=missing)
    check_count(target, "--target", 50)
    check_count(free, "--free", 50)
    targets = [parse_target(t) for t in target]
    frees = [parse_free(f) for f in free]
    sets = parse_sets(set_)
    sc = load(scenario, set_)
    scenario = resolve_scenario(scenario)            # a bundled name: the file the output inherits from
    if out is not None:
        check_out_file(out, force)
    cal = run_calibration(sc, targets, frees)
    if as_json:
        echo(json.dumps(cal.as_dict(), indent=2, allow_nan=False))
    else:
        echo(cal.report())
    if out is not None:
        command = "resim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["calibrate"] else None
        written = write_calibrated(cal, scenario, out, sets=sets, command=command, force=force)
        note(f"\nWrote {written} (base = {scenario})", machine_output=as_json)


def _posterior(scenario, target, free, out, as_json, force, prior_draws, draws, seed) -> None:
    from simulator.analysis.posterior import calibrate_posterior, report, save_posterior
    from simulator.io.outputs import check_out_dir

    if scenario is not None or target or free:
        raise ResimError("--posterior calibrates against data/evidence.toml; drop SCENARIO, --target and --free",
                         key="--posterior")
    if out is not None:
        check_out_dir(out, force)
    post = calibrate_posterior(n_prior=prior_draws, n_draws=draws, seed=seed)
    if as_json:
        echo(json.dumps({**post.info, "fit": json.loads(post.fit.to_json(orient="records")),
                         "identification": json.loads(post.identification.to_json(orient="records")),
                         "leave_one_out": json.loads(post.leave_one_out.to_json(orient="records"))},
                        indent=2, allow_nan=False))
    else:
        echo(report(post))
    if out is not None:
        written = save_posterior(post, out, force=force)
        note(f"\nWrote {', '.join(p.name for p in written)} to {out}; use it with RESIM_POSTERIOR={out}",
             machine_output=as_json)


@app.command()
def sensitivity(
    scenario: Optional[Path] = SCENARIO_ARG,
    set_: Optional[List[str]] = SET_OPT,
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Write sensitivity.csv, tornado.png and summary.json into this directory."),
    range_: Optional[List[str]] = typer.Option(
        None, "--range", "-r",
        help="dotted.key=LOW:HIGH: add a factor or replace the documented range of a key (repeatable)."),
    metric: str = typer.Option(
        "gdp_loss_pct", "--metric", help="Summary metric to swing (default: GDP loss, % of annual GDP)."),
    top: Optional[int] = typer.Option(None, "--top", help="Show only the largest N swings in the chart."),
    force: bool = FORCE_OPT,
    draws: int = typer.Option(2000, "--draws", min=0, max=200_000,
                              help="Posterior draws for the band drivers (first-order indices); 0 skips them."),
    as_json: bool = typer.Option(False, "--json", help="Print the tables as JSON on stdout (nothing else there)."),
    xlsx: Optional[Path] = XLSX_OPT,
):
    """What moves the result: one-at-a-time swings (tornado) and what drives the band (first-order indices, value of information)."""  # noqa: E501 - typer shows this line verbatim as the command's help
    from simulator.analysis.sensitivity import format_table, parse_range
    from simulator.analysis.sensitivity import sensitivity as run_sensitivity
    from simulator.io.outputs import check_out_dir

    sc = load(scenario, set_)
    extra = [parse_range(r, sc) for r in range_ or []]
    if out is not None:
        check_out_dir(out, force)
    check_xlsx(xlsx, force)
    with phase("swings"):
        sens = run_sensitivity(sc, metric=metric, extra=extra)
    if not as_json:
        echo(format_table(sens))
    drivers = None
    if draws:
        from simulator.analysis.drivers import band_drivers, format_drivers

        with phase("band drivers"):
            drivers = band_drivers(sc, metric=metric, draws=draws)
        if not as_json:
            echo("")
            echo(format_drivers(drivers))
    if as_json:
        emit_json({"scenario": sc.name, "metric": metric, "base_value": sens.base_value,
                   "factors": records(sens.table), "drivers": records(drivers) if drivers is not None else []})
    if xlsx is not None:
        sheets = {"sensitivity": sens.table}
        if drivers is not None:
            sheets["drivers"] = drivers
        sheets["assumptions"] = assumptions_frame([(sc.name or "scenario", sc)])
        written = write_xlsx(xlsx, sheets, force)
        note(f"\nWrote {written}", machine_output=as_json)
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
        if drivers is not None:
            writers["drivers.csv"] = csv_writer(drivers)
        with phase("write"):
            write_atomic(out, writers, force=force)
        note(f"\nWrote {', '.join(writers)} to {out}", machine_output=as_json)
