"""Print the tables of docs/validation.md, "What each mechanism does to the default loss" (markdown).

Each row switches one mechanism of model v2 off, or changes its rule, in the
default scenario (the bundled ``japan-one-year.toml``) and reports the net and
gross GDP loss over the horizon, % of one year's GDP. Every row runs the
central scenario and the same 200 posterior draws as the default (the band of
``resim run``), so each change also gets a *paired* 90 % band: the 5-95 %
range, over the draws, of (row - default) in the same draw. A row that sets a
calibrated key itself keeps its value in every draw (docs/validation.md §4).

Run: ``RESIM_CACHE_DIR=... python scripts/mechanism_table.py`` (a few minutes on
two cores; the first run compiles the fast engine).
"""

from __future__ import annotations

import numpy as np

import simulator
from simulator.core.bands import decimals_for, round_to
from simulator.core.results import summary_arrays

DRAWS = 200
SEED = 0
M = ("ndfeb", "dytb", "celay")

ROWS: list[tuple[str, dict]] = [
    ("everything as default", {}),
    ("allocation `proportional` (pro-rata)", {"economy.allocation": "proportional"}),
    ("allocation `market`, reallocation 0", {"economy.reallocation": 0.0}),
    ("allocation `market`, reallocation 1", {"economy.reallocation": 1.0}),
    ("allocation `value_added`", {"economy.allocation": "value_added"}),
    ("restart lag off", {"recovery.ramp_months": 0.0}),
    ("catch-up off", {"recovery.deferred_scale": 0.0}),
    ("catch-up ceiling 1.10", {"recovery.capacity_ceiling": 1.10}),
    ("catch-up ceiling 1.25", {"recovery.capacity_ceiling": 1.25}),
    ("imported components off", {"softening.imported_components": 0.0}),
    ("leakage off", {"softening.leakage_share": 0.0}),
    ("overseas shift off", {"softening.overseas_share": 0.0}),
    ("all softening off", {"softening.imported_components": 0.0, "softening.leakage_share": 0.0,
                           "softening.overseas_share": 0.0}),
    ("national stockpile 0 days", {"stockpile.national.cover_days": 0.0}),
    ("185-sector table", {"economy.table": "mic2015_185"}),
    ("pooled corporate stocks", {"inventory.pooled": True}),
    ("critical-input links off", {"economy.criticality": 0.0}),
    ("substitution off", {f"materials.{m}.substitution_max_share": 0.0 for m in M}),
    ("alternative supply off", {f"materials.{m}.alternative_capacity_share": 0.0 for m in M}),
]


def losses(overrides: dict) -> dict[str, np.ndarray]:
    """Net and gross loss (% of GDP) and net loss (bn yen): index 0 central, 1.. the band's draws."""
    sc = simulator.load_scenario(overrides=overrides)
    res = simulator.run(sc, keep_sector_paths=False, draws=DRAWS, seed=SEED)
    s = summary_arrays(res.batch)
    rows = np.concatenate([[res.index], res.band_rows]) if res.has_band else np.array([res.index])
    return {"net": s["gdp_loss_pct"][rows], "gross": s["gdp_loss_gross_pct"][rows],
            "net_bn": s["gdp_loss_jpy_bn"][rows], "gross_bn": s["gdp_loss_gross_jpy_bn"][rows]}


def num(x: float, d: int, sign: bool = False) -> str:
    x = round_to(x, d)
    if x == 0:
        x = 0.0
    s = f"{abs(x):,.{max(d, 0)}f}"
    if x < 0:
        return "−" + s
    return ("+" + s) if sign and x > 0 else s


def banded(central: float, draws: np.ndarray, sign: bool = False, max_decimals: int = 3) -> str:
    """'+0.12 (+0.05 to +0.30)', rounded to what the 5-95 % band supports (at most ``max_decimals``)."""
    lo, hi = np.percentile(draws, [5, 95])
    d = min(decimals_for(lo, hi), max_decimals)
    if round_to(lo, d) == round_to(hi, d):
        d = min(max(d, decimals_for(central, central, 2)), max_decimals)
        return f"{num(central, d, sign)} (every draw)"
    return f"{num(central, d, sign)} ({num(lo, d, sign)} to {num(hi, d, sign)})"


def fmt_overrides(ov: dict) -> str:
    if not ov:
        return "(none)"
    if len({k.split(".")[-1] for k in ov}) == 1 and all(k.startswith("materials.") for k in ov):
        key = next(iter(ov)).split(".")[-1]
        return f"`materials.<id>.{key} = {next(iter(ov.values()))}` for {', '.join(M)}"
    return ", ".join(f"`{k} = {v!r}`".replace("True", "true") for k, v in ov.items())


def pct_band(x: np.ndarray) -> str:
    return f"{np.percentile(x, 5):.3f}–{np.percentile(x, 95):.3f}"


def main() -> None:
    base = losses({})
    print(f"Default: net {base['net'][0]:.4f} % of GDP ({base['net_bn'][0]:,.0f} bn yen), "
          f"gross {base['gross'][0]:.4f} % ({base['gross_bn'][0]:,.0f} bn yen); "
          f"90 % band of the net loss {pct_band(base['net'][1:])} % ({DRAWS} draws, seed {SEED}).\n")

    print("| mechanism | overrides | net loss, % of GDP | change in net, percentage points (90 % band) "
          "| gross loss, % of GDP | change in gross, percentage points (90 % band) |")
    print("|---|---|---:|---:|---:|---:|")
    got = {}
    for name, ov in ROWS:
        r = base if not ov else losses(ov)
        got[name] = r
        if not ov:
            print(f"| {name} | (none) | {r['net'][0]:.3f} | – | {r['gross'][0]:.3f} | – |")
            continue
        dn, dg = r["net"] - base["net"], r["gross"] - base["gross"]
        print(f"| {name} | {fmt_overrides(ov)} | {r['net'][0]:.3f} | {banded(dn[0], dn[1:], True)} | "
              f"{r['gross'][0]:.3f} | {banded(dg[0], dg[1:], True)} |")

    # figures quoted in the text (central runs unless a band is given)
    print()
    res = simulator.run(simulator.load_scenario(), keep_sector_paths=False, draws=0)
    em = res.economy_monthly
    catch = (em["gdp_loss_gross_jpy_bn"] - em["gdp_loss_jpy_bn"]).to_numpy()
    short = res.materials_monthly.groupby("month")["shortfall_t"].sum().to_numpy() > 0
    print(f"Catch-up (gross − net): {catch.sum():,.0f} bn yen in all, {catch[short].sum():,.0f} bn yen "
          f"({100 * catch[short].sum() / catch.sum():.0f} %) in months with a material shortfall; "
          f"{100 * (1 - base['net'][0] / base['gross'][0]):.0f} % of the gross loss is made up.")
    zero = got["allocation `market`, reallocation 0"]["net"][0]
    full = got["allocation `market`, reallocation 1"]["net"][0]
    print(f"Reallocation 0.5 gets {100 * (zero - base['net'][0]) / (zero - full):.0f} % of the net gain "
          "of full triage (reallocation 1 against 0).")
    ratio = base["net"] / got["all softening off"]["net"]
    print(f"Net loss with the softening channels / without: {ratio[0]:.2f} "
          f"(90 % band {pct_band(ratio[1:])}).")

    print("\n| restriction, months | net loss, 37 sectors, % of GDP | net loss, 185 sectors, % of GDP "
          "| 185 / 37, net (ratio) | gross loss, 37 sectors, % of GDP | gross loss, 185 sectors, % of GDP "
          "| 185 / 37, gross (ratio) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for months in (3.0, 6.0, 12.0):
        a = losses({"restriction.duration_months": months})
        b = losses({"restriction.duration_months": months, "economy.table": "mic2015_185"})
        print(f"| {months:g} | {a['net'][0]:.3f} | {b['net'][0]:.3f} | {b['net'][0] / a['net'][0]:.3f} | "
              f"{a['gross'][0]:.3f} | {b['gross'][0]:.3f} | {b['gross'][0] / a['gross'][0]:.3f} |")

    print("\n| severity (share withheld) | net loss, % of GDP (90 % band) "
          "| share of the full restriction's net loss (90 % band) | gross loss, % of GDP (90 % band) "
          "| share of the full restriction's gross loss (90 % band) |")
    print("|---:|---:|---:|---:|---:|")
    for sev in (0.0, 0.25, 0.5, 0.75, 1.0):
        r = losses({"restriction.severity": sev})
        sn = r["net"] / np.maximum(base["net"], 1e-12)
        sg = r["gross"] / np.maximum(base["gross"], 1e-12)
        print(f"| {sev:.2f} | {banded(r['net'][0], r['net'][1:])} | {banded(sn[0], sn[1:])} | "
              f"{banded(r['gross'][0], r['gross'][1:])} | {banded(sg[0], sg[1:])} |")

    grid = [round(0.01 * i, 2) for i in range(101)]
    for label, extra in (("as default", {}),
                         ("no lead-time stretch", {"restriction.lead_time_restricted_months": 1.5})):
        sc = simulator.load_scenario(overrides=extra)
        df = simulator.sweep(sc, {"restriction.severity": grid}, draws=0)
        net, gross = df["gdp_loss_pct"].to_numpy(), df["gdp_loss_gross_pct"].to_numpy()
        first = next((x for x, v in zip(grid, gross, strict=True) if v > 0), None)
        rising = bool(np.all(np.diff(net) >= -1e-12)), bool(np.all(np.diff(gross) >= -1e-12))
        print(f"\nSeverity 0-1 in steps of 0.01, {label} (central): net never falls: {rising[0]}; "
              f"gross never falls: {rising[1]}; smallest severity with a gross loss: {first}.")

    print("\n| restriction, months | net loss, % of GDP (90 % band) | gross loss, % of GDP (90 % band) "
          "| net loss, bn yen (90 % band) | net as a share of gross, % |")
    print("|---:|---:|---:|---:|---:|")
    for months in (1.0, 2.0, 3.0, 6.0, 12.0, 24.0):
        r = losses({"restriction.duration_months": months})
        share = f"{100 * r['net'][0] / r['gross'][0]:.0f}" if r["gross"][0] > 0 else "–"
        print(f"| {months:g} | {banded(r['net'][0], r['net'][1:])} | "
              f"{banded(r['gross'][0], r['gross'][1:])} | "
              f"{banded(r['net_bn'][0], r['net_bn'][1:], max_decimals=0)} | {share} |")


if __name__ == "__main__":
    main()
