"""Tables for docs/model.md, "Policy levers": how much each lever changes the default scenario.

Usage::

    python scripts/policy_table.py                # print the Markdown tables (bands of 200 posterior draws)
    python scripts/policy_table.py --draws 0      # central runs only (faster)
    python scripts/policy_table.py --write        # also replace them in docs/model.md

The tables sit in docs/model.md between ``<!-- policy-table:start -->`` and
``<!-- policy-table:end -->``. Every number comes from running the bundled
default scenario (``simulator.load_scenario()``: allocation ``market``, the
calibrated parameters at their posterior medians) with the overrides shown.
Each cell is "central (5-95 %)": the central run and the 90 % band of the same
posterior draws (:mod:`simulator.core.bands`; every cell of a table uses the
same draws, so differences between cells are not blurred by sampling).
Rerun after any model or calibration change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import simulator
from simulator.core.bands import DEFAULT_DRAWS, band_column

DOCS = Path(__file__).resolve().parent.parent / "docs" / "model.md"
START, END = "<!-- policy-table:start -->", "<!-- policy-table:end -->"
DURATIONS = (3, 6, 12)
CAP_PCT = 0.1
# business oriented machinery (incl. medical), electronic components (incl. magnet making, 3299)
PRIORITY = ["31", "32"]
RULES = ("proportional", "market", "priority", "value_added")


def cells(df, metric: str = "gdp_loss_pct") -> list[str]:
    """"central (5-95 %)" for each row of a sweep, or the central value alone without a band."""
    if f"{metric}_p05" in df.columns:
        return band_column(df[metric], df[f"{metric}_p05"], df[f"{metric}_p95"])
    return [f"{v:.3f}" for v in df[metric]]


def priority_codes(table: str) -> list[str]:
    """The priority sectors in ``table``: 31 and 32, or at 185 sectors the codes inside them."""
    if table == "mic2015_37":
        return PRIORITY
    from simulator.io.datafiles import resolve_table_dir
    from simulator.io.tables import load_table

    fine = load_table(str(resolve_table_dir(table)))
    return [c for c, parent in zip(fine.codes, fine.parent_codes, strict=True) if parent in PRIORITY]


def allocation_table(base, draws: int) -> list[str]:
    rows = [
        "| table | restriction | proportional | market (default) | priority (31, 32) | value_added | "
        "value_added vs market |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for table in ("mic2015_37", "mic2015_185"):
        sc = base.with_overrides({"economy.table": table, "economy.priority_sectors": priority_codes(table)})
        df = simulator.sweep(sc, {"restriction.duration_months": list(DURATIONS), "economy.allocation": list(RULES)},
                             draws=draws)
        df["cell"] = cells(df)
        for months in DURATIONS:
            g = df[df["restriction.duration_months"] == months].set_index("economy.allocation")
            change = 100 * (g.loc["value_added", "gdp_loss_pct"] / g.loc["market", "gdp_loss_pct"] - 1)
            rows.append(f"| {table} | {months} months | " + " | ".join(g.loc[r, "cell"] for r in RULES)
                        + f" | {change:+.0f} % |")
    return rows


def release_table(base, draws: int) -> list[str]:
    cases = [
        ("on_shortage (default)", {}),
        ("immediate", {"stockpile.national.strategy": "immediate"}),
        ("reserve_for_priority (31, 32)", {"stockpile.national.strategy": "reserve_for_priority",
                                           "economy.priority_sectors": PRIORITY}),
        ("none", {"stockpile.national.strategy": "none"}),
        ("on_shortage, pooled corporate stocks", {"inventory.pooled": True}),
        ("on_shortage + allies 30 days (delay 2, cap 0.25/month)", {"allies.stock_days": 30.0}),
    ]
    rows = ["| release rule | " + " | ".join(f"{m} months" for m in DURATIONS) + " |",
            "|---|" + "---:|" * len(DURATIONS)]
    for label, over in cases:
        df = simulator.sweep(base.with_overrides(over) if over else base,
                             {"restriction.duration_months": list(DURATIONS)}, draws=draws)
        rows.append(f"| {label} | " + " | ".join(cells(df)) + " |")
    return rows


def _days(r: dict) -> str:
    if "stockpile_days_p05" not in r:
        return f"{r['stockpile_days']:.0f} days"
    lo, hi = r["stockpile_days_p05"], r["stockpile_days_p95"]
    band = f"{lo:.0f} to over 730" if hi == float("inf") else f"{lo:.0f}–{hi:.0f}"
    return f"{r['stockpile_days']:.0f} days ({band})"


def sizing_table(base, draws: int) -> list[str]:
    from simulator.analysis.policy import optimize_stockpile

    need_head = "required stockpile (5-95 %)" if draws else "required stockpile"
    rows = [f"| release rule | restriction | loss, no stockpile | floor (730 days) | {need_head} | "
            "stock | holding cost | break-even chance |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, over in (("default (on_shortage, <= 0.5 months/month)", {}),
                        ("on_shortage, <= 1 month/month", {"stockpile.national.max_release_share_per_month": 1.0}),
                        ("immediate, <= 1 month/month", {"stockpile.national.strategy": "immediate",
                                                         "stockpile.national.max_release_share_per_month": 1.0})):
        ans = optimize_stockpile(base.with_overrides(over) if over else base, max_gdp_loss_pct=CAP_PCT,
                                 over={"restriction.duration_months": list(DURATIONS)}, draws=draws)
        for r in ans.to_dict(orient="records"):
            if r["status"] == "cap not reachable":
                need = cost = stock = be = "unreachable"
                if "share_of_draws_unreachable" in r and r["share_of_draws_unreachable"] < 1:
                    need += f" ({100 * (1 - r['share_of_draws_unreachable']):.0f} % of draws reach it)"
            else:
                need = _days(r)
                stock = f"{r['stockpile_t']:,.0f} t"
                cost = f"{r['holding_cost_jpy_bn_per_year']:.1f} bn yen/yr"
                be = "-" if r["stockpile_days"] == 0 else f"{100 * r['breakeven_probability_per_year']:.3f} %/yr"
            rows.append(f"| {label} | {r['restriction.duration_months']:g} months | "
                        f"{r['gdp_loss_pct_no_stockpile']:.3f} | {r['gdp_loss_pct_floor']:.3f} | {need} | {stock} | "
                        f"{cost} | {be} |")
    return rows


def tables(draws: int = DEFAULT_DRAWS) -> str:
    base = simulator.load_scenario()
    nat, eco = base.stockpile.national, base.economy
    band = (f"Each cell: central (5-95 % of {draws} posterior draws)." if draws
            else "Central runs only (no band).")
    head = (f"Default scenario (`{Path(base.source_file).name}`: allocation `{eco.allocation}` with reallocation "
            f"{eco.reallocation:g}, criticality scale {eco.criticality_scale:g}, inventory cover scale "
            f"{base.inventory.cover_scale:g} (posterior median), national stockpile {nat.cover_days:g} days released "
            f"up to {nat.max_release_share_per_month:g} months of demand per month); cumulative net GDP loss over "
            f"{base.horizon_months} months, % of one year's GDP. {band} "
            "Generated by `python scripts/policy_table.py`.")
    parts = [head, "", "**Allocation rules**", "", *allocation_table(base, draws), "",
             "**Release strategies, pooling and allied sharing** (market allocation, 37 sectors)", "",
             *release_table(base, draws), "",
             f"**Required national stockpile** (all materials, cap {CAP_PCT:g} % of GDP; "
             "`simulator.optimize_stockpile`; losses central)", "", *sizing_table(base, draws)]
    return "\n".join(parts)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the tables in docs/model.md")
    parser.add_argument("--draws", type=int, default=DEFAULT_DRAWS, help="posterior draws per cell (0: no band)")
    args = parser.parse_args(argv)
    if args.draws < 0:
        parser.error("--draws must be 0 or more")
    text = tables(args.draws)
    print(text)
    if args.write:
        doc = DOCS.read_text(encoding="utf-8")
        if START not in doc or END not in doc:
            sys.exit(f"{DOCS}: markers {START} ... {END} not found")
        pre, rest = doc.split(START, 1)
        _, post = rest.split(END, 1)
        DOCS.write_text(f"{pre}{START}\n{text}\n{END}{post}", encoding="utf-8")
        print(f"\nwrote {DOCS}")


if __name__ == "__main__":
    main(sys.argv[1:])
