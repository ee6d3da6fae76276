"""``resim run``, ``resim validate`` and ``resim schema``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from simulator.cli.common import FORCE_OPT, OUT_OPT, SCENARIO_ARG, SET_OPT, app, echo, load
from simulator.core.bands import DEFAULT_DRAWS, format_band


def format_summary(result) -> str:
    """The human-readable summary ``resim run`` prints."""
    s = result.scenario
    sm = result.summary
    r = s.restriction
    dates = result.dates
    start = dates[min(int(r.start_month), len(dates) - 1)]
    sev = r.severity if isinstance(r.severity, float) else f"profile {r.severity}"
    sev_txt = f"{100 * sev:.0f}%" if isinstance(sev, float) else sev
    lines = [
        f"Scenario: {s.name or '(unnamed)'}" + (f"  [{s.source_file}]" if s.source_file else ""),
        f"Restriction: {r.duration_months:g} months from {start}, severity {sev_txt}, "
        f"lead time {r.lead_time_normal_months:g} -> {r.lead_time_restricted_months:g} months; "
        f"table {s.economy.table}",
        "",
        _loss_line(result),
    ]
    if sm["peak_date"]:
        lines.append(
            f"Worst month: {sm['peak_date']}, JPY {sm['peak_monthly_gdp_loss_jpy_bn']:,.0f} bn "
            f"({sm['peak_monthly_gdp_loss_pct_of_month']:.2f}% of that month's GDP); "
            f"{sm['months_with_loss']:.0f} months with a loss"
        )
    if sm["first_shortage_date"]:
        per = ", ".join(
            f"{m} {_months(sm[f'{m}_first_shortage_month'] - r.start_month)}"
            for m in s.materials if sm[f"{m}_first_shortage_month"] is not None
        )
        lines.append(f"First shortage: {sm['first_shortage_date']} (after restriction start: {per})")
    else:
        lines.append("No material shortage: stocks and other supply cover the restriction.")
    top = result.top_sectors(8)                  # not result.sectors: no pandas for the printed summary
    if top:
        lines += ["", "Sectors with the largest GDP loss (JPY bn, share of total):"]
        for row in top:
            value = (format_band(row["gdp_loss_jpy_bn"], row["gdp_loss_jpy_bn_p05"], row["gdp_loss_jpy_bn_p95"],
                                 thousands=True, label="")
                     if "gdp_loss_jpy_bn_p05" in row else f"{row['gdp_loss_jpy_bn']:,.1f}")
            lines.append(f"  {row['code']:>5}  {row['name'][:40]:<40} {value:>24}  {100 * row['share_of_loss']:3.0f} %")
        if result.has_band:
            lines.append("  (central value, 90 % band in brackets)")
    return "\n".join(lines)


def _loss_line(result) -> str:
    """The headline: GDP loss with its band, rounded to what the band supports."""
    from simulator.core.bands import format_band

    sm, s = result.summary, result.scenario
    if result.has_band:
        pct = format_band(sm["gdp_loss_pct"], sm["gdp_loss_pct_p05"], sm["gdp_loss_pct_p95"], "%")
        yen = format_band(sm["gdp_loss_jpy_bn"], sm["gdp_loss_jpy_bn_p05"], sm["gdp_loss_jpy_bn_p95"],
                          "bn", thousands=True)
        return (f"GDP loss over {s.horizon_months} months: {pct} of annual GDP\n"
                f"  JPY {yen}; band: 5-95 % of {sm['band_draws']} draws of the calibrated parameters "
                "(docs/validation.md)")
    return (f"GDP loss over {s.horizon_months} months: {format_band(sm['gdp_loss_pct'], None, None, '%')} "
            f"of annual GDP (JPY {sm['gdp_loss_jpy_bn']:,.0f} bn; gross output JPY {sm['output_loss_jpy_bn']:,.0f} bn; "
            "no band: --no-band)")


def _months(m: float) -> str:
    return f"{m:.1f} mo ({m * 365.25 / 12 / 7:.0f} wk)"


@app.command()
def run(
    scenario: Optional[Path] = SCENARIO_ARG,
    set_: Optional[List[str]] = SET_OPT,
    out: Optional[Path] = OUT_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    plot: bool = typer.Option(
        False, "--plot",
        help="Also write a PNG of stocks, shortfall and GDP loss (into --out, or ./resim-run.png; "
             "an existing file there is kept and the next free name is used)."),
    force: bool = FORCE_OPT,
    draws: int = typer.Option(
        DEFAULT_DRAWS, "--draws", min=1, max=100_000,
        help="Draws of the calibrated parameters (and of the scenario's [uncertainty]) for the 90 % band."),
    no_band: bool = typer.Option(False, "--no-band", help="Run the central scenario only (no band; faster)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the band's draws."),
):
    """Run one scenario and print its summary with a 90 % band."""
    from simulator.core.runner import run as run_scenario
    from simulator.io.outputs import check_out_dir

    sc = load(scenario, set_)
    if out is not None:
        check_out_dir(out, force)
    result = run_scenario(sc, draws=0 if no_band else draws, seed=seed)
    if as_json:
        echo(json.dumps(result.summary, indent=2, allow_nan=False))
    else:
        echo(format_summary(result))
    if out is not None:
        from simulator.io.outputs import csv_writer, figure_writer, json_writer, provenance, write_atomic

        writers = {
            "summary.json": json_writer({**result.summary, "provenance": provenance(sc)}),
            "monthly.csv": csv_writer(result.monthly),
            "sectors.csv": csv_writer(result.sectors),
        }
        if plot:
            from simulator.plots import plot_run
            writers["run.png"] = figure_writer(lambda: plot_run(result))
        write_atomic(out, writers, force=force)
        if not as_json:
            echo(f"\nWrote {', '.join(writers)} to {out}")
    elif plot:
        from simulator.io.outputs import figure_writer, write_file
        from simulator.plots import plot_run

        path = write_file(Path("resim-run.png"), figure_writer(lambda: plot_run(result)), overwrite=force,
                          next_free=True)
        if not as_json:
            echo(f"\nWrote {path}")


@app.command()
def validate(scenario: Path = typer.Argument(..., help="Scenario TOML file."),
             set_: Optional[List[str]] = SET_OPT):
    """Check a scenario file without running it."""
    from simulator.core.spec import batch_spec

    sc = load(scenario, set_)
    batch_spec(sc)  # also checks the data files it names
    echo(f"{scenario}: valid ({sc.name or 'unnamed'}; {sc.horizon_months} months, "
         f"materials {', '.join(sc.materials)}, table {sc.economy.table})")


@app.command()
def schema():
    """Print the JSON Schema of scenario files (for editor autocompletion)."""
    from simulator.io.scenario import json_schema

    echo(json.dumps(json_schema(), indent=2))
