"""Tables for docs/model.md, "Policy levers": how much each lever changes the default scenario.

Usage::

    python scripts/policy_table.py            # print the Markdown tables
    python scripts/policy_table.py --write    # also replace them in docs/model.md

The tables sit in docs/model.md between ``<!-- policy-table:start -->`` and
``<!-- policy-table:end -->``. Every number comes from running the bundled
default scenario (``simulator.load_scenario()``) with the overrides shown;
rerun after any model or calibration change.
"""

from __future__ import annotations

import sys
from pathlib import Path

import simulator
from simulator.core.runner import simulate_scenarios

DOCS = Path(__file__).resolve().parent.parent / "docs" / "model.md"
START, END = "<!-- policy-table:start -->", "<!-- policy-table:end -->"
DURATIONS = (3, 6, 12)
CAP_PCT = 0.1
PRIORITY = ["31", "32"]   # business oriented machinery (incl. medical), electronic components


def loss_pct(sc) -> float:
    return float(simulate_scenarios([sc]).gdp_loss_pct[0])


def allocation_table(base) -> list[str]:
    rows = [
        "| table | restriction | proportional | priority (31, 32) | value_added | value_added vs proportional |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for table in ("mic2015_37", "mic2015_185"):
        for months in DURATIONS:
            sc = base.with_overrides({"economy.table": table, "restriction.duration_months": months})
            codes = PRIORITY if table == "mic2015_37" else _codes_185(sc)
            prop = loss_pct(sc)
            pri = loss_pct(sc.with_overrides({"economy.allocation": "priority", "economy.priority_sectors": codes}))
            va = loss_pct(sc.with_overrides({"economy.allocation": "value_added"}))
            rows.append(f"| {table} | {months} months | {prop:.3f} | {pri:.3f} | {va:.3f} | "
                        f"{100 * (va - prop) / prop:+.1f} % |")
    return rows


def _codes_185(sc) -> list[str]:
    """The 185-sector codes inside the 37-sector priority sectors (same share of use)."""
    from simulator.core.spec import batch_spec
    from simulator.io.datafiles import resolve_table_dir
    from simulator.io.tables import load_table

    table = load_table(str(resolve_table_dir("mic2015_185")))
    st = batch_spec(sc)
    inside = [c for c, parent in zip(table.codes, table.parent_codes) if parent in PRIORITY]
    dep = st.economy.dependence.max(axis=1)
    return [c for c in inside if dep[st.sector_codes.index(c)] > 0]


def release_table(base) -> list[str]:
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
        vals = [loss_pct(base.with_overrides({**over, "restriction.duration_months": m})) for m in DURATIONS]
        rows.append(f"| {label} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    return rows


def sizing_table(base) -> list[str]:
    from simulator.analysis.policy import optimize_stockpile

    rows = ["| release rule | restriction | loss, no stockpile | floor (730 days) | required stockpile | "
            "stock | holding cost | break-even chance |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, over in (("default (on_shortage, <= 0.5 months/month)", {}),
                        ("on_shortage, <= 1 month/month", {"stockpile.national.max_release_share_per_month": 1.0}),
                        ("immediate, <= 1 month/month", {"stockpile.national.strategy": "immediate",
                                                         "stockpile.national.max_release_share_per_month": 1.0})):
        ans = optimize_stockpile(base.with_overrides(over), max_gdp_loss_pct=CAP_PCT,
                                 over={"restriction.duration_months": list(DURATIONS)})
        for r in ans.to_dict(orient="records"):
            if r["status"] == "cap not reachable":
                need = cost = stock = be = "unreachable"
            else:
                need = f"{r['stockpile_days']:.0f} days"
                stock = f"{r['stockpile_t']:,.0f} t"
                cost = f"{r['holding_cost_jpy_bn_per_year']:.1f} bn yen/yr"
                be = "-" if r["stockpile_days"] == 0 else f"{100 * r['breakeven_probability_per_year']:.3f} %/yr"
            rows.append(f"| {label} | {r['restriction.duration_months']:g} months | "
                        f"{r['gdp_loss_pct_no_stockpile']:.3f} | {r['gdp_loss_pct_floor']:.3f} | {need} | {stock} | "
                        f"{cost} | {be} |")
    return rows


def tables() -> str:
    base = simulator.load_scenario()
    nat = base.stockpile.national
    head = (f"Default scenario (`{Path(base.source_file).name}`: economy.dependence_scale = "
            f"{base.economy.dependence_scale:g}, national stockpile {nat.cover_days:g} days released "
            f"up to {nat.max_release_share_per_month:g} months of demand per month); cumulative GDP loss "
            f"over {base.horizon_months} months, % of one year's GDP. Generated by `python scripts/policy_table.py`.")
    parts = [head, "", "**Allocation rules**", "", *allocation_table(base), "",
             "**Release strategies, pooling and allied sharing** (proportional allocation, 37 sectors)", "",
             *release_table(base), "",
             f"**Required national stockpile** (all materials, cap {CAP_PCT:g} % of GDP; "
             "`simulator.optimize_stockpile`)", "", *sizing_table(base)]
    return "\n".join(parts)


def main(argv: list[str]) -> None:
    text = tables()
    print(text)
    if "--write" in argv:
        doc = DOCS.read_text(encoding="utf-8")
        if START not in doc or END not in doc:
            sys.exit(f"{DOCS}: markers {START} ... {END} not found")
        pre, rest = doc.split(START, 1)
        _, post = rest.split(END, 1)
        DOCS.write_text(f"{pre}{START}\n{text}\n{END}{post}", encoding="utf-8")
        print(f"\nwrote {DOCS}")


if __name__ == "__main__":
    main(sys.argv[1:])
