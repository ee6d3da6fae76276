"""``resim optimize``: the smallest national stockpile that keeps the GDP loss under a cap.

Every input (scenario, cap, durations, materials, output directory) is
checked before anything runs; files are written all-or-nothing through
:func:`simulator.io.outputs.write_atomic`. Heavy imports (scipy, pandas,
matplotlib) stay inside the command so ``resim run`` starts fast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import List, Optional

import typer

from simulator.cli.common import (
    FORCE_OPT,
    SCENARIO_ARG,
    SET_OPT,
    app,
    check_option_text,
    echo,
    load,
    note,
    phase,
    quoted,
)
from simulator.core.bands import DEFAULT_DRAWS
from simulator.errors import ScenarioError

DEFAULT_DURATIONS = "3,6,12"
#: Most restriction lengths one ``resim optimize`` sizes a stockpile for (each is a search).
MAX_CASES = 50


def parse_number_list(text: str, option: str, low: float, high: float, unit: str) -> list[float]:
    """``"3,6,12"`` -> ``[3.0, 6.0, 12.0]``, each finite and in [low, high]; at most MAX_CASES values."""
    check_option_text(text, option)
    parts = text.split(",")
    if len(parts) > MAX_CASES:
        raise ScenarioError(f"{len(parts):,} values; at most {MAX_CASES}", file=option)
    out = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ScenarioError(f"{quoted(part.strip())} is not a number; give e.g. {DEFAULT_DURATIONS}",
                                file=option) from None
        if not (math.isfinite(value) and low <= value <= high):
            raise ScenarioError(f"{value:g} {unit}: allowed {low:g} to {high:g}", file=option)
        out.append(value)
    return out


def _days(r) -> str:
    """The answer in days, rounded to what its band supports (one decimal without a band)."""
    from simulator.core.bands import decimals_for, round_to

    if ("stockpile_days_p05" in r._fields and math.isfinite(r.stockpile_days_p05)
            and math.isfinite(r.stockpile_days_p95)):
        d = max(0, decimals_for(r.stockpile_days_p05, r.stockpile_days_p95))
        return f"{round_to(r.stockpile_days, d):,.{d}f}"
    return f"{r.stockpile_days:.1f}"


def format_answers(answers, scenario) -> str:
    """The table ``resim optimize`` prints."""
    from simulator.report.format import material_name

    nat = scenario.stockpile.national
    mats = answers["materials"].iloc[0].split(",")
    cap = float(answers["max_gdp_loss_pct"].iloc[0])
    lines = [
        f"Scenario: {scenario.name or '(unnamed)'}" + (f"  [{scenario.source_file}]" if scenario.source_file else ""),
        f"Smallest national stockpile of {', '.join(material_name(m, scenario) for m in mats)} "
        "(days of baseline demand) keeping the "
        f"cumulative GDP loss over {scenario.horizon_months} months at or under {cap:g}% of annual GDP.",
        f"Release rule: {nat.strategy}, at most {nat.max_release_share_per_month:g} months of demand per month"
        + (f", {nat.decision_delay_months:g} month(s) after corporate cover falls below "
           f"{nat.trigger_cover_months:g} month(s)" if nat.strategy in ("on_shortage", "reserve_for_priority") else "")
        + f"; allocation {scenario.economy.allocation}.",
        "",
        f"{'case':<34} {'stockpile':>10} {'tonnes':>9} {'loss: none':>10} {'at answer':>10} "
        f"{'floor':>7} {'cost/yr':>9} {'break-even':>11}",
        f"{'':<34} {'days':>10} {'t':>9} {'% GDP':>10} {'% GDP':>10} {'% GDP':>7} {'JPY bn':>9} {'% per yr':>11}",
    ]
    for r in answers.itertuples():
        case = r.case.replace("restriction.duration_months=", "restriction ")
        if "restriction " in case and "," not in case:
            case += " months"
        if r.status == "cap not reachable":
            lines.append(f"{case:<34} {'unreachable':>10} {'':>9} {r.gdp_loss_pct_no_stockpile:>10.3f} {'':>10} "
                         f"{r.gdp_loss_pct_floor:>7.3f}")
            continue
        be = ("" if not math.isfinite(r.breakeven_probability_per_year)
              else f"{100 * r.breakeven_probability_per_year:.3f}")
        cost = "n/a" if not math.isfinite(r.holding_cost_jpy_bn_per_year) else f"{r.holding_cost_jpy_bn_per_year:,.1f}"
        lines.append(f"{case:<34} {_days(r):>10} {r.stockpile_t:>9,.0f} {r.gdp_loss_pct_no_stockpile:>10.3f} "
                     f"{r.gdp_loss_pct:>10.3f} {r.gdp_loss_pct_floor:>7.3f} {cost:>9} {be:>11}")
        if "stockpile_days_p05" in answers.columns and math.isfinite(r.stockpile_days_p05):
            hi = "more than --max-days" if not math.isfinite(r.stockpile_days_p95) else f"{r.stockpile_days_p95:,.0f}"
            lines.append(f"{'':<34}   90 % band of the days needed: {r.stockpile_days_p05:,.0f}–{hi}"
                         + (f" ({100 * r.share_of_draws_unreachable:.0f} % of draws unreachable)"
                            if r.share_of_draws_unreachable > 0 else ""))
    if (answers["status"] == "cap not reachable").any():
        lines += ["", "unreachable: no stockpile up to --max-days meets the cap; 'floor' is the loss with the largest "
                      "one. The release rule binds (raise stockpile.national.max_release_share_per_month, shorten "
                      "decision_delay_months, or try strategy = \"immediate\")."]
    lines += ["", "cost/yr: value x stockpile.cost.carrying_rate_per_year; break-even: the yearly chance of such a "
                  "restriction above which holding the stock pays (cost/yr / loss avoided)."]
    return "\n".join(lines)


@app.command()
def optimize(
    scenario: Optional[Path] = SCENARIO_ARG,
    max_loss_pct: float = typer.Option(0.1, "--max-loss-pct", help="Cap on the cumulative GDP loss, % of annual GDP."),
    durations: str = typer.Option(
        DEFAULT_DURATIONS, "--durations", "-d", help="Restriction lengths in months, comma-separated."),
    materials: Optional[str] = typer.Option(
        None, "--materials", "-m", help="Materials to size, comma-separated (default: all)."),
    max_days: float = typer.Option(730.0, "--max-days", help="Largest stockpile searched, days of baseline demand."),
    set_: Optional[List[str]] = SET_OPT,
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Write the table, the curve and the charts into this directory."),
    force: bool = FORCE_OPT,
    draws: int = typer.Option(DEFAULT_DRAWS, "--draws", min=1, max=10_000,
                              help="Draws of the calibrated parameters for the band of each answer."),
    no_band: bool = typer.Option(False, "--no-band", help="Central answers only (no bands; faster)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the band's draws."),
):
    """Smallest national stockpile keeping the GDP loss under a cap, per restriction length."""
    from simulator.io.outputs import check_out_dir

    sc = load(scenario, set_)
    if not (math.isfinite(max_loss_pct) and max_loss_pct > 0):
        raise ScenarioError(f"must be a positive percentage (got {max_loss_pct:g})", file="--max-loss-pct")
    if not (math.isfinite(max_days) and 0 < max_days <= 3650):
        raise ScenarioError(f"must be in (0, 3650] days (got {max_days:g})", file="--max-days")
    lengths = parse_number_list(durations, "--durations", 0.0, 600.0, "months")
    mats = None
    if materials:
        check_option_text(materials, "--materials")
        mats = [m.strip() for m in materials.split(",") if m.strip()]
        unknown = [m for m in mats if m not in sc.materials]
        if unknown or not mats:
            raise ScenarioError(f"unknown material ids {unknown}; allowed: {', '.join(sc.materials)}",
                                file="--materials")
    over = {"restriction.duration_months": lengths}
    for length in lengths:  # validate every case before the work starts
        sc.with_overrides({"restriction.duration_months": length})
    if out is not None:
        check_out_dir(out, force)

    from simulator.analysis.policy import optimize_stockpile

    answers, curve = optimize_stockpile(sc, max_gdp_loss_pct=max_loss_pct, over=over, materials=mats,
                                        max_days=max_days, return_curve=True, draws=0 if no_band else draws,
                                        seed=seed)
    echo(format_answers(answers, sc))
    if out is not None:
        import numpy as np

        from simulator.io.outputs import csv_writer, figure_writer, json_writer, provenance, write_atomic
        from simulator.plots import plot_cost_benefit, plot_stockpile_curve

        # JSON has no infinity: a band beyond --max-days (inf) is written as null, like NaN
        finite = answers.replace([np.inf, -np.inf], np.nan)
        records = finite.astype(object).where(finite.notna(), None).to_dict(orient="records")
        writers = {
            "required_stockpile.csv": csv_writer(answers),
            "stockpile_curve.csv": csv_writer(curve),
            "stockpile_curve.png": figure_writer(lambda: plot_stockpile_curve(curve, answers)),
            "cost_benefit.png": figure_writer(lambda: plot_cost_benefit(curve)),
            "summary.json": json_writer({"required_stockpile": records, "provenance": provenance(sc)}),
        }
        with phase("write"):
            write_atomic(out, writers, force=force)
        note(f"\nWrote {', '.join(writers)} to {out}")
