"""``resim run``, ``resim validate`` and ``resim schema``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from simulator.cli.common import (
    FORCE_OPT,
    OUT_OPT,
    SCENARIO_ARG,
    SET_OPT,
    XLSX_OPT,
    app,
    assumptions_frame,
    check_xlsx,
    echo,
    emit_json,
    engine_detail,
    jsonable,
    load,
    note,
    phase,
    write_xlsx,
)
from simulator.core.bands import DEFAULT_DRAWS, format_band


def format_summary(result) -> str:
    """The human-readable summary ``resim run`` prints."""
    from simulator.report.format import date_label, material_name, month_label

    s = result.scenario
    sm = result.summary
    r = s.restriction
    start = month_label(s.start_date, min(r.start_month, s.horizon_months - 1))
    sev = r.severity if isinstance(r.severity, float) else f"profile {r.severity}"
    sev_txt = f"{100 * sev:.0f}%" if isinstance(sev, float) else sev
    lines = [
        f"Scenario: {s.name or '(unnamed)'}" + (f"  [{s.source_file}]" if s.source_file else ""),
        f"Restriction: {_plural(r.duration_months, 'month')} from {start}, severity {sev_txt}, "
        f"lead time {r.lead_time_normal_months:g} -> {r.lead_time_restricted_months:g} months; "
        f"table {s.economy.table}",
        policy_line(s),
        "",
        _loss_line(result),
    ]
    if sm["peak_date"]:
        peak = sm["peak_monthly_gdp_loss_jpy_bn"]
        lo, hi = sm.get("peak_monthly_gdp_loss_jpy_bn_p05"), sm.get("peak_monthly_gdp_loss_jpy_bn_p95")
        share = sm["peak_monthly_gdp_loss_pct_of_month"]
        # the share of the month's GDP is rounded like the loss in yen it is made of
        scale = share / peak if peak else None
        share_txt = format_band(share, None if lo is None or scale is None else lo * scale,
                                None if hi is None or scale is None else hi * scale)
        lines.append(
            f"Worst month: {date_label(sm['peak_date'])}, JPY {format_band(peak, lo, hi, 'bn', thousands=True)} "
            f"= {share_txt.split(' (')[0]} % of that month's GDP; "
            f"{sm['months_with_loss']:.0f} months with a loss"
        )
    else:
        lines.append("Worst month: never (no month with a loss)")
    if sm["first_shortage_date"]:
        per, said = [], False
        for m in s.materials:
            month = sm[f"{m}_first_shortage_month"]
            if month is None:
                per.append(f"{material_name(m, s)} never")
            else:
                after = "after" if said else "after the restriction starts"
                said = True
                per.append(f"{material_name(m, s)} {month_label(s.start_date, month)} "
                           f"({_months(month - r.start_month)} {after})")
        lines.append(f"First shortage: {date_label(sm['first_shortage_date'])}; {', '.join(per)}")
    else:
        lines.append("First shortage: never (stocks and other supply cover the restriction)")
    hint = release_cap_hint(result)
    if hint:
        lines.append(hint)
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


def _plural(x: float, unit: str) -> str:
    return f"{x:g} {unit}" + ("" if x == 1 else "s")


_RELEASE_RULES = {
    "on_shortage": "released on shortage",
    "immediate": "released from the restriction's start",
    "reserve_for_priority": "released for the priority sectors only",
    "none": "never released",
}


def policy_line(s) -> str:
    """The policy settings that differ from the schema's defaults, in one line (or the defaults, named).

    Stockpile size (national and per material), release rule, trigger and delay, release
    cap, allocation rule and priority sectors, allied sharing, pooled corporate stocks.
    """
    from simulator.io.scenario import Allies, Economy, Inventory, NationalStockpile
    from simulator.report.format import material_name

    nat, d_nat = s.stockpile.national, NationalStockpile()
    eco, d_eco = s.economy, Economy()
    al, d_al = s.allies, Allies()
    changed = []
    if nat.cover_days != d_nat.cover_days:
        changed.append(f"national stockpile {_plural(nat.cover_days, 'day')}")
    for mid, mat in s.materials.items():
        if mat.stockpile_cover_days is not None:
            changed.append(f"{material_name(mid, s)} stockpile {_plural(mat.stockpile_cover_days, 'day')}")
    if nat.strategy != d_nat.strategy:
        changed.append(f"release rule {nat.strategy} ({_RELEASE_RULES[nat.strategy]})")
    if nat.strategy in ("on_shortage", "reserve_for_priority"):
        if nat.trigger_cover_months != d_nat.trigger_cover_months:
            changed.append(f"release trigger {_plural(nat.trigger_cover_months, 'month')} of corporate cover")
        if nat.decision_delay_months != d_nat.decision_delay_months:
            changed.append(f"release decision delay {_plural(nat.decision_delay_months, 'month')}")
    if nat.max_release_share_per_month != d_nat.max_release_share_per_month and nat.strategy != "none":
        changed.append(f"release cap {_plural(nat.max_release_share_per_month, 'month')} of demand per month")
    if eco.allocation != d_eco.allocation:
        changed.append(f"allocation {eco.allocation}")
    if eco.priority_sectors != d_eco.priority_sectors:
        changed.append(f"priority sectors {', '.join(eco.priority_sectors[:8])}"
                       + (", ..." if len(eco.priority_sectors) > 8 else ""))
    allied = {mid: m.allied_stock_days for mid, m in s.materials.items() if m.allied_stock_days is not None}
    if al.stock_days != d_al.stock_days or allied:
        text = f"allied sharing {_plural(al.stock_days, 'day')}"
        if allied:
            text += " (" + ", ".join(f"{material_name(m, s)} {_plural(v, 'day')}" for m, v in allied.items()) + ")"
        if al.delay_months != d_al.delay_months or al.max_share_per_month != d_al.max_share_per_month:
            text += f", from month {al.delay_months:g}, at most {al.max_share_per_month:g} of monthly demand a month"
        changed.append(text)
    if s.inventory.pooled != Inventory().pooled:
        changed.append("firms pool their stocks" if s.inventory.pooled else "firms do not pool their stocks")
    if changed:
        return "Policy (differs from the defaults): " + "; ".join(changed)
    return (f"Policy: the defaults (national stockpile {_plural(d_nat.cover_days, 'day')}, "
            f"{_RELEASE_RULES[d_nat.strategy]} at most {_plural(d_nat.max_release_share_per_month, 'month')} of "
            f"demand per month; allocation {d_eco.allocation}; no allied sharing)")


def release_cap_limited(result) -> list[str]:
    """Materials whose national release is held back by the release cap, not by the stock.

    Read from the engine's paths of the central run (``Result.batch.supply``): within the
    restriction there is a month with a shortfall while the release is at the cap
    (``max_release_share_per_month`` x baseline demand), and stock is still left in the
    stockpile when the restriction ends.
    """
    import math

    import numpy as np

    sc, b, i = result.scenario, result.batch, result.index
    sp = b.supply
    if sc.stockpile.national.strategy == "none":
        return []
    r = sc.restriction
    H = sp.shortfall_t.shape[-1]
    first = max(0, int(math.floor(r.start_month)))
    last = min(H, int(math.ceil(r.start_month + r.duration_months - 1e-9)))
    if last <= first:
        return []
    cap = float(np.asarray(b.params["stockpile.national.max_release_share_per_month"])[i])
    out = []
    for j, mid in enumerate(b.spec.materials):
        base = sp.demand_baseline_t[i, j, first:last]
        short = sp.shortfall_t[i, j, first:last] > 1e-6 * base
        at_cap = sp.release_t[i, j, first:last] >= 0.98 * cap * base
        opening = float(sp.opening_national_t[i, j])
        left = float(sp.national_stock_t[i, j, last - 1])
        if opening > 0 and left > 0.01 * opening and bool((short & at_cap).any()):
            out.append(mid)
    return out


def release_cap_hint(result) -> str | None:
    """One line when the release cap, not the stock, limits what the stockpile does (else None)."""
    from simulator.report.format import material_name

    mats = release_cap_limited(result)
    if not mats:
        return None
    cap = result.scenario.stockpile.national.max_release_share_per_month
    names = ", ".join(material_name(m, result.scenario) for m in mats)
    return (f"The release cap of {_plural(cap, 'month')} of demand per month, not the stock, limits the "
            f"stockpile ({names} run short while stock is left at the restriction's end): raise "
            "stockpile.national.max_release_share_per_month")


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
    return f"{m:.1f} months"


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
    xlsx: Optional[Path] = XLSX_OPT,
    force: bool = FORCE_OPT,
    draws: int = typer.Option(
        DEFAULT_DRAWS, "--draws", min=1, max=100_000,
        help="Draws of the calibrated parameters (and of the scenario's \\[uncertainty]) for the 90 % band."),
    no_band: bool = typer.Option(False, "--no-band", help="Run the central scenario only (no band; faster)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the band's draws."),
):
    """Run one scenario and print its summary with a 90 % band."""
    from simulator.core.runner import run as run_scenario
    from simulator.io.outputs import check_out_dir

    sc = load(scenario, set_)
    if out is not None:
        check_out_dir(out, force)
    check_xlsx(xlsx, force)
    with phase("run"):
        result = run_scenario(sc, draws=0 if no_band else draws, seed=seed)
    engine_detail(len(result.batch.gdp_jpy_bn))
    summary = {**result.summary, "release_cap_limited_materials": release_cap_limited(result)}
    if as_json:
        emit_json(summary)
    else:
        echo(format_summary(result))
    if out is not None:
        from simulator.io.outputs import csv_writer, figure_writer, json_writer, provenance, write_atomic

        writers = {
            "summary.json": json_writer(jsonable({**summary, "provenance": provenance(sc)})),
            "monthly.csv": csv_writer(result.monthly),
            "sectors.csv": csv_writer(result.sectors),
        }
        if plot:
            from simulator.plots import plot_run
            writers["run.png"] = figure_writer(lambda: plot_run(result))
        with phase("write"):
            write_atomic(out, writers, force=force)
        note(f"\nWrote {', '.join(writers)} to {out}", machine_output=as_json)
    elif plot:
        from simulator.io.outputs import figure_writer, write_file
        from simulator.plots import plot_run

        with phase("write"):
            path = write_file(Path("resim-run.png"), figure_writer(lambda: plot_run(result)), overwrite=force,
                              next_free=True)
        note(f"\nWrote {path}", machine_output=as_json)
    if xlsx is not None:
        written = write_xlsx(xlsx, run_sheets(result, summary), force)
        note(f"\nWrote {written}", machine_output=as_json)


def run_sheets(result, summary: dict) -> dict:
    """The workbook of ``resim run --xlsx``: summary, monthly tables, sectors, assumptions."""
    import pandas as pd

    rows = [{"key": k, "value": json.dumps(jsonable(v)) if isinstance(v, (list, dict)) else jsonable(v)}
            for k, v in summary.items() if k != "top_sectors"]
    return {
        "summary": pd.DataFrame(rows),
        "economy monthly": result.economy_monthly,
        "materials monthly": result.materials_monthly,
        "sectors": result.sectors,
        "monthly (tidy)": result.monthly,
        "assumptions": assumptions_frame([(result.scenario.name or "scenario", result.scenario)]),
    }


@app.command()
def validate(scenario: Path = typer.Argument(..., help="Scenario TOML file, or the name of a bundled scenario."),
             set_: Optional[List[str]] = SET_OPT):
    """Check a scenario file without running it: every problem on its own line (exit 2), or 'valid'."""
    from simulator.core.spec import batch_spec
    from simulator.errors import ScenarioError
    from simulator.io.text import clip, one_line

    try:
        sc = load(scenario, set_)
    except ScenarioError as exc:
        problems = getattr(exc, "errors", None)
        if not problems:
            raise
        for problem in problems:
            typer.echo(f"resim: error: {clip(one_line(' '.join(problem.one_line().split())), 2000)}", err=True)
        raise typer.Exit(2) from None
    batch_spec(sc)  # also checks the data files it names
    echo(f"{scenario}: valid ({sc.name or 'unnamed'}; {sc.horizon_months} months, "
         f"materials {', '.join(sc.materials)}, table {sc.economy.table})")


@app.command()
def schema():
    """Print the JSON Schema of scenario files (for editor autocompletion and checks)."""
    from simulator.io.scenario import json_schema

    echo(json.dumps(json_schema(), indent=2))
