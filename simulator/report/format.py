"""Words and numbers for people: material names, months, and rounding to the band.

A number is shown with as many digits as its band supports: two significant
figures of the band's width (p95 - p05). 0.43 % with a band of 0.22-0.61 %
has a width of 0.39, so two decimals; 2,620 bn yen with a band of
1,350-3,690 has a width of 2,340, so hundreds: "2,600 bn yen".
"""

from __future__ import annotations

import math

#: Short names of the bundled material groups, for sentences and legends.
MATERIAL_NAMES = {"ndfeb": "NdFeB magnets", "dytb": "Dy/Tb", "celay": "Ce/La/Y"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Words for scenario keys in tables (unit in the words).
KEY_WORDS = {
    "restriction.start_month": "restriction starts (months after the horizon start)",
    "restriction.duration_months": "restriction length (months)",
    "restriction.severity": "share of Chinese shipments withheld (0-1)",
    "restriction.lead_time_normal_months": "lead time, normal (months)",
    "restriction.lead_time_restricted_months": "lead time under restriction (months)",
    "restriction.transit_months": "transit time (months)",
    "stockpile.national.cover_days": "national stockpile (days of demand)",
    "stockpile.national.strategy": "national stockpile release rule",
    "stockpile.national.max_release_share_per_month": "largest monthly release (share of monthly demand)",
    "stockpile.national.decision_delay_months": "release decision delay (months)",
    "stockpile.national.trigger_cover_months": "release trigger (months of corporate cover)",
    "inventory.cover_scale": "corporate inventory cover (x default)",
    "inventory.pooled": "firms pool their stocks",
    "allies.stock_days": "allied sharing (days of Japan's demand)",
    "economy.allocation": "allocation rule for scarce material",
    "economy.table": "input-output table",
    "economy.criticality_scale": "short-run criticality of every application (x table)",
    "economy.reallocation": "share of scarce material going to the highest bidders first (0-1)",
    "recovery.deferred_scale": "deferred share of lost made-to-order deliveries (x table)",
    "recovery.ramp_months": "restart ramp after material is back (months)",
    "recovery.capacity_ceiling": "catch-up capacity (x baseline output)",
    "softening.leakage_share": "withheld flow reaching Japan via third countries (share)",
    "softening.overseas_share": "assembly shifted to overseas plants (share)",
    "softening.imported_components": "imported ready-made components counted as unaffected (0-1)",
    "horizon_months": "horizon (months)",
    "start_date": "first month of the horizon",
}


def material_name(mid: str, scenario=None) -> str:
    """'dytb' -> 'Dy/Tb'; unknown ids fall back to the scenario's name for them."""
    if mid in MATERIAL_NAMES:
        return MATERIAL_NAMES[mid]
    if scenario is not None and mid in scenario.materials and scenario.materials[mid].name:
        return scenario.materials[mid].name
    return mid


def key_words(key: str, scenario=None) -> str:
    """Words for a dotted key: 'materials.dytb.china_share' -> 'Dy/Tb: china share'."""
    if key in KEY_WORDS:
        return KEY_WORDS[key]
    parts = key.split(".")
    if parts[0] == "materials" and len(parts) == 3:
        return f"{material_name(parts[1], scenario)}: {parts[2].replace('_', ' ')}"
    return key


def month_label(start_date: str, month: float | None) -> str:
    """Month index (may be fractional) -> 'Sep 2026'; None -> ''."""
    if month is None or not math.isfinite(month):
        return ""
    y, m = (int(x) for x in start_date.split("-"))
    k = m - 1 + int(math.floor(month + 1e-9))
    return f"{MONTHS[k % 12]} {y + k // 12}"


def date_label(date: str) -> str:
    """'2026-09' -> 'Sep 2026'."""
    y, m = date.split("-")[:2]
    return f"{MONTHS[int(m) - 1]} {y}"


def decimals_for(low: float | None, high: float | None, central: float | None = None, sig: int = 2) -> int:
    """Decimals that give ``sig`` significant figures of the band width (may be negative)."""
    width = None if low is None or high is None else abs(high - low)
    ref = width if width and math.isfinite(width) and width > 0 else None
    if ref is None:  # no band: significant figures of the value itself
        ref = abs(central) if central else None
    if not ref:
        return 0
    return sig - 1 - int(math.floor(math.log10(ref)))


def fmt_number(x: float | None, decimals: int, thousands: bool = True, signed: bool = False) -> str:
    """Round to ``decimals`` (negative: tens, hundreds...) and format; "\u2212" for minus."""
    if x is None or not math.isfinite(x):
        return "n/a"
    r = round(x, decimals)
    if r == 0:
        r = 0.0  # no "-0"
    d = max(decimals, 0)
    text = f"{abs(r):,.{d}f}" if thousands else f"{abs(r):.{d}f}"
    if r < 0:
        return "\u2212" + text
    return ("+" + text) if signed and r > 0 else text


def fmt_interval(iv, unit: str = "", sep: str = " to ", sig: int = 2, signed: bool = False) -> dict:
    """Central value and band, rounded together to the band's width.

    Returns a dict with ``central``, ``low``, ``high`` (strings), ``unit``,
    ``decimals`` and ``text`` ("0.43 % (0.22–0.61 %)"; with negative or signed
    values the range reads "−0.12 to −0.03 pp"). Minus signs are U+2212.
    """
    d = decimals_for(iv.low, iv.high, iv.central, sig)
    c = fmt_number(iv.central, d, signed=signed)
    if iv.has_band and iv.low == iv.high == iv.central:
        lo = hi = c
        text = f"{c}{unit} in every draw"
    elif iv.has_band:
        lo, hi = fmt_number(iv.low, d, signed=signed), fmt_number(iv.high, d, signed=signed)
        if not signed and iv.low >= 0 and iv.high >= 0:
            sep = "\u2013"
        text = f"{c}{unit} ({lo}{sep}{hi}{unit})"
    else:
        lo = hi = ""
        text = f"{c}{unit}"
    return {"central": c, "low": lo, "high": hi, "unit": unit.strip(), "decimals": d, "text": text}


def fmt_month_interval(iv, start_date: str, never: str = "never") -> dict:
    """An event month with its band, in words ('Mar 2026 (Mar–Apr 2026)').

    ``never`` names the event not happening ("never", "no loss"), as in
    "never in 5 % of draws"; ``all_none`` is True when it happens in no draw.
    """
    c = month_label(start_date, iv.central) if iv.central is not None else ""
    lo = month_label(start_date, iv.low) if iv.low is not None else ""
    hi = month_label(start_date, iv.high) if iv.high is not None else ""
    if lo and hi:
        if lo == hi:
            band = f"all draws {lo}"
        elif lo.split()[1] == hi.split()[1]:
            band = f"{lo.split()[0]}\u2013{hi}"
        else:
            band = f"{lo} \u2013 {hi}"
    else:
        band = ""
    share = iv.share_none
    all_none = share >= 0.995
    if all_none:
        band = ""
    elif share >= 0.005:
        band = (band + "; " if band else "") + f"{never} in {100 * share:.0f} % of draws"
    return {"central": c or never, "band": band, "all_none": all_none}


def weeks_after(month: float | None, start: float) -> float | None:
    """Weeks from month ``start`` to month ``month`` (None if there is no such month)."""
    if month is None or not math.isfinite(month):
        return None
    return (month - start) * 52.0 / 12.0
