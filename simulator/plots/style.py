"""One look for every figure: colours safe for colour-blind readers, words with units.

- :data:`PALETTE`: the Okabe-Ito colours (Okabe & Ito 2008; Wong, *Nature
  Methods* 8, 441, 2011), distinguishable with every common colour-vision
  deficiency. :data:`QUALITATIVE` is their order for unordered lines
  (scenario files, materials); :data:`MATERIAL_COLORS` fixes one colour per
  bundled material, the same as in the HTML report.
- :data:`SEQUENTIAL`: ``viridis`` (perceptually uniform, readable in grey
  scale and with every common deficiency) for ordered values such as
  restriction lengths; its pale yellow end is cut off. Above
  :data:`MAX_LEGEND_LINES` ordered lines, figures show a colour bar instead
  of a legend.
- :data:`STYLE`: the rc settings every figure is drawn with (its default
  colour cycle is the Okabe-Ito one, so no colour falls back to ``tab10``).
- :func:`label_for`: an axis label with its unit for a scenario key or an
  output column, never the raw dotted key.
- :data:`MATERIAL_NAMES`, :func:`material_name`, :func:`date_label`: the
  words legends and tick labels use.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cycler import cycler

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: The Okabe-Ito colours.
PALETTE = {
    "blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73", "orange": "#E69F00",
    "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000",
}
#: Unordered lines, in this order (yellow last: it is faint on white).
QUALITATIVE = [PALETTE[k] for k in
               ("blue", "vermillion", "green", "orange", "sky", "purple", "black", "yellow")]
#: One colour per bundled material (as in ``simulator.report.figures``).
MATERIAL_COLORS = {"ndfeb": PALETTE["blue"], "dytb": PALETTE["vermillion"], "celay": PALETTE["green"]}
#: Sequential colour map for ordered values, and the part of it used (no pale end).
SEQUENTIAL = "viridis"
SEQUENTIAL_RANGE = (0.0, 0.8)
#: Monthly GDP loss bars, the central line of a single series, and its band.
LOSS_COLOR = PALETTE["purple"]
LOSS_DARK = "#6a3d5c"           # whiskers on the loss bars (a darker reddish purple)
CENTRAL_COLOR = PALETTE["black"]
BAND_COLOR = PALETTE["blue"]
#: Opacity of a 5-95 % band around a line of the same colour.
BAND_ALPHA = 0.12
#: The restriction period (grey: it must not compete with the lines' colours).
RESTRICTION_SHADE = "#999999"
RESTRICTION_ALPHA = 0.15
#: A cap or threshold line.
CAP_COLOR = "#444444"
#: Ordered lines above this count get a colour bar instead of a legend.
MAX_LEGEND_LINES = 8

STYLE: dict[RcKeyType, Any] = {
    "font.size": 11, "axes.titlesize": 12.5, "axes.labelsize": 11, "legend.fontsize": 10,
    "legend.title_fontsize": 10, "xtick.labelsize": 10, "ytick.labelsize": 10, "figure.titlesize": 13,
    "axes.spines.top": False, "axes.grid": True, "grid.alpha": 0.3,
    "axes.prop_cycle": cycler(color=QUALITATIVE),
    "image.cmap": SEQUENTIAL,
}

#: Short names of the bundled material groups (the same as ``simulator.report.format.MATERIAL_NAMES``).
MATERIAL_NAMES = {"ndfeb": "NdFeB magnets", "dytb": "Dy/Tb", "celay": "Ce/La/Y"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def material_name(mid: str, scenario=None) -> str:
    """'dytb' -> 'Dy/Tb'; other ids: the scenario's name for them, else the id."""
    if mid in MATERIAL_NAMES:
        return MATERIAL_NAMES[mid]
    mats = getattr(scenario, "materials", None) or {}
    if mid in mats and getattr(mats[mid], "name", None):
        return mats[mid].name
    return mid


def material_color(mid: str, i: int) -> str:
    """Return a material's colour: fixed for the bundled ones, else the i-th unused palette colour."""
    if mid in MATERIAL_COLORS:
        return MATERIAL_COLORS[mid]
    others = [c for c in QUALITATIVE if c not in MATERIAL_COLORS.values()]
    return others[i % len(others)]


def date_label(date: str) -> str:
    """'2026-09' -> 'Sep 2026' (anything else unchanged)."""
    m = re.fullmatch(r"(\d{4})-(\d{2})(?:-\d{2})?", str(date))
    if not m or not 1 <= int(m.group(2)) <= 12:
        return str(date)
    return f"{MONTHS[int(m.group(2)) - 1]} {m.group(1)}"


# --------------------------------------------------------------------------
# Words with units
# --------------------------------------------------------------------------

#: Axis labels (with units) of scenario keys and output columns.
LABELS = {
    # scenario keys
    "restriction.start_month": "Restriction start (months after the horizon start)",
    "restriction.duration_months": "Restriction length (months)",
    "restriction.severity": "Share of Chinese shipments withheld (0-1)",
    "restriction.lead_time_normal_months": "Lead time, normal (months)",
    "restriction.lead_time_restricted_months": "Lead time under restriction (months)",
    "restriction.transit_months": "Transit time (months)",
    "restriction.held_share": "Share of cargo held at export (0-1)",
    "stockpile.national.cover_days": "National stockpile (days of demand)",
    "stockpile.national.max_release_share_per_month": "Largest monthly release (months of demand per month)",
    "stockpile.national.decision_delay_months": "Release decision delay (months)",
    "stockpile.national.trigger_cover_months": "Release trigger (months of corporate cover)",
    "stockpile.national.refill_months": "Stockpile refill time (months)",
    "stockpile.cost.carrying_rate_per_year": "Carrying cost of the stockpile (share of its value per year)",
    "inventory.cover_scale": "Corporate inventory (x default)",
    "inventory.restock_months": "Restocking time (months)",
    "allies.stock_days": "Allied sharing (days of Japan's demand)",
    "allies.delay_months": "Allied sharing delay (months)",
    "allies.max_share_per_month": "Largest allied delivery (months of demand per month)",
    "alternative_supply.delay_months": "Alternative supply delay (months)",
    "alternative_supply.ramp_months": "Alternative supply ramp (months)",
    "substitution.delay_months": "Substitution delay (months)",
    "substitution.ramp_months": "Substitution ramp (months)",
    "economy.dependence_scale": "Sector dependence on rare earths (x default)",
    "economy.criticality_scale": "Criticality of every application (x table)",
    "economy.criticality": "Default criticality of an application (0-1)",
    "economy.reallocation": "Share of scarce material going to the highest bidders first (0-1)",
    "economy.gdp_jpy_bn": "Annual GDP (JPY bn)",
    "recovery.deferred_scale": "Deferred share of lost made-to-order deliveries (x table)",
    "recovery.ramp_months": "Restart ramp after material is back (months)",
    "recovery.capacity_ceiling": "Catch-up capacity (x baseline output)",
    "softening.leakage_share": "Withheld flow reaching Japan via third countries (share)",
    "softening.leakage_months": "Time for third-country leakage to build up (months)",
    "softening.overseas_share": "Assembly shifted to overseas plants (share)",
    "softening.overseas_months": "Time to shift assembly overseas (months)",
    "softening.imported_components": "Imported components counted as unaffected (0-1)",
    "horizon_months": "Horizon (months)",
    # summary metrics and monthly variables
    "gdp_loss_pct": "Cumulative GDP loss (% of annual GDP)",
    "gdp_loss_jpy_bn": "Cumulative GDP loss (JPY bn)",
    "gdp_loss_gross_pct": "Cumulative GDP loss before catch-up (% of annual GDP)",
    "gdp_loss_gross_jpy_bn": "Cumulative GDP loss before catch-up (JPY bn)",
    "output_loss_jpy_bn": "Cumulative gross output loss (JPY bn)",
    "output_loss_gross_jpy_bn": "Cumulative gross output loss before catch-up (JPY bn)",
    "peak_monthly_gdp_loss_jpy_bn": "Worst month's GDP loss (JPY bn)",
    "peak_monthly_gdp_loss_pct_of_month": "Worst month's GDP loss (% of that month's GDP)",
    "peak_month": "Worst month (months after the horizon start)",
    "months_with_loss": "Months with a GDP loss",
    "first_shortage_month": "First shortage (months after the horizon start)",
    "cumulative_gdp_loss_pct": "Cumulative GDP loss (% of annual GDP)",
    "cumulative_gdp_loss_jpy_bn": "Cumulative GDP loss (JPY bn)",
    "cumulative_gdp_loss_gross_pct": "Cumulative GDP loss before catch-up (% of annual GDP)",
    "gdp_loss_pct_of_month": "GDP loss (% of the month's GDP)",
    "stockpile_days": "National stockpile (days of baseline demand)",
    "stockpile_t": "National stockpile (t)",
    "stock_value_jpy_bn": "Value of the stockpile (JPY bn)",
    "holding_cost_jpy_bn_per_year": "Holding cost (JPY bn per year)",
    "gdp_loss_avoided_jpy_bn": "GDP loss avoided per restriction (JPY bn)",
    "breakeven_probability_per_year": "Break-even chance of the restriction (per year, 0-1)",
}
#: Per-material scenario fields (``materials.<id>.<field>``).
MATERIAL_FIELDS = {
    "china_share": "China's share of supply (0-1)",
    "substitution_max_share": "substitution potential (share of demand)",
    "alternative_capacity_share": "alternative supply capacity (share of demand)",
    "stockpile_cover_days": "national stockpile (days of demand)",
    "corporate_cover_scale": "corporate inventory (x default)",
    "criticality_scale": "criticality (x table)",
    "demand_t_per_month": "demand (t per month)",
    "price_jpy_per_kg": "price (JPY per kg)",
    "allied_stock_days": "allied sharing (days of demand)",
    "restriction_scope_share": "share covered by the restriction (0-1)",
    "china_max_ratio": "China's surge capacity after the restriction (x baseline)",
}
#: Per-material output columns (``<id>_<metric>``).
MATERIAL_METRICS = {
    "shortfall_t": "shortfall over the horizon (t)",
    "peak_shortage_share": "worst month's shortfall (share of demand)",
    "first_shortage_month": "first shortage (months after the horizon start)",
    "national_release_t": "national stockpile released (t)",
    "t": "national stockpile held (t)",
}
_PERCENTILE = {"_p05": "5th percentile", "_p50": "median of draws", "_p95": "95th percentile"}
#: Unit words by the end of a column name (the code's naming rule).
_UNITS = [("_pct_of_month", "% of the month's GDP"), ("_jpy_bn_per_year", "JPY bn per year"),
          ("_jpy_bn", "JPY bn"), ("_pct", "% of annual GDP"), ("_share", "0-1"), ("_months", "months"),
          ("_month", "months"), ("_days", "days"), ("_t", "t"), ("_scale", "x default"),
          ("_per_year", "per year")]


def _unit_of(name: str) -> str | None:
    for end, unit in _UNITS:
        if name.endswith(end):
            return unit
    return None


def _words(name: str) -> str:
    """'lead_time_normal_months' -> 'Lead time normal (months)': words and, if known, the unit."""
    unit = _unit_of(name)
    stem = name
    for end, u in _UNITS:
        if u == unit and name.endswith(end) and end not in ("_share", "_scale"):
            stem = name[: -len(end)]
            break
    text = stem.replace("_", " ").strip() or name
    text = text[:1].upper() + text[1:]
    return f"{text} ({unit})" if unit else text


def label_for(name: str, scenario=None) -> str:
    """Axis label with unit for a scenario key or an output column.

    Known names read from :data:`LABELS`; ``materials.<id>.<field>`` and
    ``<id>_<metric>`` carry the material's display name; band columns
    (``_p05``, ``_p50``, ``_p95``) say which percentile they are; any other
    name becomes words with the unit its suffix implies. Never returns the
    raw dotted key.
    """
    name = str(name)
    for suffix, words in _PERCENTILE.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            base = label_for(name[: -len(suffix)], scenario)
            head, sep, unit = base.partition(" (")
            return f"{head}, {words}{sep}{unit}"
    if name in LABELS:
        return LABELS[name]
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "materials":
        field = MATERIAL_FIELDS.get(parts[2], _words(parts[2]))
        return f"{material_name(parts[1], scenario)}: {field}"
    mats = set(MATERIAL_NAMES) | set(getattr(scenario, "materials", None) or {})
    for mid in sorted(mats, key=len, reverse=True):
        if name.startswith(mid + "_") and name[len(mid) + 1:] in MATERIAL_METRICS:
            return f"{material_name(mid, scenario)}: {MATERIAL_METRICS[name[len(mid) + 1:]]}"
    if len(parts) > 1:
        return _words(parts[-1])
    return _words(name)


def noun(name: str) -> str:
    """'Cumulative GDP loss (% of ...)' -> 'cumulative GDP loss', for use inside a sentence."""
    words = label_for(name).split(" (")[0].split()
    if words and not words[0].isupper() and not (len(words[0]) > 1 and words[0][1:2].isupper()):
        words[0] = words[0].lower()
    return " ".join(words)


def without_unit(label: str) -> str:
    """'Cumulative GDP loss (% of annual GDP)' -> 'Cumulative GDP loss'."""
    return label.split(" (")[0]


def sentence(text: str) -> str:
    """Put a title that starts with user text in sentence case.

    The first letter is capitalised unless the word is already mixed case ('iPhone').
    """
    if text[:1].islower() and not text[1:2].isupper():
        return text[:1].upper() + text[1:]
    return text


# --------------------------------------------------------------------------
# Colours for many lines
# --------------------------------------------------------------------------

def is_ordered(values) -> bool:
    """Whether every value is a real number (so lines get a sequential colour)."""
    import numpy as np

    return bool(len(values)) and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        for v in values)


def line_colors(values, ordered: bool):
    """Colours for lines with these values: sequential (dark = smallest) when ordered, else Okabe-Ito.

    Ordered lines are spaced evenly along the scale by the rank of their
    value, so uneven values (0, 30, 60, 180 days) still get distinct colours.

    Returns
    -------
    (list of colours, matplotlib.cm.ScalarMappable or None)
        The mappable (for :func:`colorbar`: one block per distinct value,
        labelled with it) only for ordered values.
    """
    import matplotlib as mpl
    import numpy as np

    n = len(values)
    if not ordered or n == 0:
        return [QUALITATIVE[i % len(QUALITATIVE)] for i in range(n)], None
    lo, hi = SEQUENTIAL_RANGE
    base = mpl.colormaps[SEQUENTIAL]
    v = np.asarray(values, dtype=float)
    distinct = np.unique(v)
    k = len(distinct)
    blocks = [base(lo + (hi - lo) * i / max(1, k - 1)) for i in range(k)]
    colors = [blocks[int(np.searchsorted(distinct, x))] for x in v]
    cmap = mpl.colors.ListedColormap(blocks, name=f"{SEQUENTIAL}_steps")
    norm = mpl.colors.BoundaryNorm(np.arange(k + 1) - 0.5, k)
    mappable = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
    # tick labels of the colour bar; matplotlib's stubs do not declare extra attributes on its objects
    mappable.resim_values = distinct  # type: ignore[attr-defined]
    return colors, mappable


def colorbar(fig, mappable, ax, label: str, values=None):
    """Add a stepped colour bar for ordered lines: one block per value, labelled with it."""
    import numpy as np

    cb = fig.colorbar(mappable, ax=ax, pad=0.01, fraction=0.04, aspect=30)
    cb.set_label(label)
    distinct = getattr(mappable, "resim_values", None)
    if distinct is None and values is not None:
        distinct = np.unique(np.asarray(values, dtype=float))
    if distinct is not None:
        step = max(1, int(np.ceil(len(distinct) / 16)))
        idx = np.arange(0, len(distinct), step)
        cb.set_ticks(idx)
        cb.set_ticklabels([f"{distinct[i]:g}" for i in idx])
        cb.ax.minorticks_off()
    cb.outline.set_visible(False)
    return cb
