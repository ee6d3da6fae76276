"""Scenario files: schema, loading, inheritance, overrides and validation.

A scenario is a TOML file that states only what differs from the
documented defaults. Defaults live in two places, each once: the field
defaults of the models below, and the bundled material table
``simulator/data/materials.toml`` (merged under ``[materials.<id>]``).
A scenario may name a ``base`` file to inherit from; keys are merged
deeply, arrays are replaced whole.

Everything is validated by pydantic into frozen models. Every failure
becomes a :class:`~simulator.errors.ScenarioError` naming the file, the
dotted key path and what is allowed. Scenario files are data: they are
parsed with :mod:`tomllib` and never executed.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import math
import os
import re
import sys
import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from simulator.errors import ScenarioError
from simulator.io.datafiles import BUNDLED_TABLES, DataFiles, resolve_data_files
from simulator.io.files import SCENARIO_MAX_BYTES, describe_problem, read_bounded
from simulator.io.text import clip, has_control, one_line

# --------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------

# Every numeric key has a physical lower and upper bound, given by Field(ge=..., le=...)
# on the field itself (so simulator.core.params.field_bounds, and with it sweeps and
# calibration, see the same range). Keys where 0 is meaningless start at a small
# positive value rather than "> 0", so no subnormal or near-zero divisor reaches the
# engine; _Model refuses subnormal numbers on every field, new ones too.

#: Smallest positive number of months where 0 is meaningless (about 7 hours).
MIN_MONTHS = 0.01
#: Nonzero magnitudes below this (the subnormal floats) are refused on every field; 0 stays allowed.
TINY = sys.float_info.min
#: Longest scenario name and description, characters (they reach terminals and plot titles).
MAX_NAME = 200
MAX_DESCRIPTION = 2000
#: Longest path-like value (economy.table, base, data folders and files).
MAX_PATH = 4096
#: Most material groups, uncertain keys and priority sectors in one scenario.
MAX_MATERIALS = 64
MAX_UNCERTAIN = 200
MAX_PRIORITY_SECTORS = 1000
#: Deepest nesting of tables and arrays in a scenario file or an override value.
MAX_NESTING = 16
#: Most parts of a dotted key (``materials.ndfeb.china_share`` has 3).
MAX_KEY_PARTS = 8
#: Longest ``base`` chain: a file, its base, that file's base, ...
MAX_BASE_DEPTH = 32
#: Longest override value, characters.
MAX_OVERRIDE_CHARS = 100_000

Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
#: Months of cover held by a firm group: 0 to 10 years.
CoverMonths = Annotated[float, Field(ge=0.0, le=120.0, allow_inf_nan=False)]


def _tiny(value: Any) -> bool:
    if isinstance(value, float):
        return 0.0 < abs(value) < TINY
    if isinstance(value, (list, tuple)):
        return any(_tiny(v) for v in value)
    return False


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_tiny_magnitudes(cls, value):
        if _tiny(value):
            raise ValueError("subnormal numbers (nonzero, below 2.2e-308 in magnitude) are not meaningful; "
                             "use 0 or a value in the allowed range")
        return value


class Restriction(_Model):
    """China's restriction of shipments to Japan."""

    start_month: float = Field(
        1.0, ge=0.0, le=600.0,
        description="Months from the start of the horizon to the start of the restriction.",
    )
    duration_months: float = Field(
        12.0, ge=0.0, le=600.0,
        description="Length of the restriction in months; 0 means no restriction.",
    )
    severity: Union[Share, list[Share]] = Field(
        1.0,
        description=(
            "Share of Chinese shipments withheld (0-1), or a list of monthly values over the "
            "restriction (the last value holds to the end; the list may not be longer than the "
            "restriction)."
        ),
    )
    lead_time_normal_months: float = Field(
        1.5, ge=MIN_MONTHS, le=24.0,
        description="Order-to-arrival time for Chinese material in normal times (usual 1-2 months).",
    )
    lead_time_restricted_months: float = Field(
        3.5, ge=MIN_MONTHS, le=36.0,
        description="Order-to-arrival time for Chinese material ordered during the restriction (3-4 months reported).",
    )

    held_share: Share = Field(
        0.0,
        description="Share of the orders the restriction refuses that China holds at export and ships when it ends "
                    "(1 = an informal halt such as 2010's; 0 = a ban: refused orders are cancelled and re-placed "
                    "elsewhere). Cargo already in the pipeline at the start is always held.",
    )
    transit_months: float = Field(
        0.5, ge=0.0, le=12.0,
        description="Last part of the lead time, after export (shipping and customs): Chinese shipments "
                    "already this close to arrival when a restriction starts still arrive.",
    )

    @model_validator(mode="after")
    def _profile_fits(self):
        if isinstance(self.severity, list):
            if len(self.severity) == 0:
                raise ValueError("severity: a monthly profile needs at least one value")
            if len(self.severity) > math.ceil(self.duration_months - 1e-9):
                raise ValueError(
                    f"severity: the monthly profile has {len(self.severity)} values but the "
                    f"restriction lasts {self.duration_months:g} months; give at most "
                    f"{math.ceil(self.duration_months - 1e-9)} values"
                )
        return self


class Material(_Model):
    """One rare-earth material group: baseline demand and where it comes from."""

    name: str = Field("", max_length=MAX_NAME, description="Display name.")
    demand_t_per_month: float = Field(
        ..., ge=1e-3, le=1e7, description="Japan's baseline demand, tonnes per month (at least 1 kg).",
    )
    china_share: Share = Field(..., description="Share of baseline supply imported from China.")
    restriction_scope_share: Share = Field(
        1.0, description="Share of the Chinese flow of this material that the restriction covers.",
    )
    china_max_ratio: float = Field(
        1.5, ge=1.0, le=10.0,
        description="Chinese shipments can rise to this multiple of their baseline when firms restock.",
    )
    substitution_max_share: float = Field(
        0.0, ge=0.0, lt=1.0,
        description="Demand reduction (substitution, thrifting) reached at the end of the ramp.",
    )
    alternative_capacity_share: float = Field(
        0.0, ge=0.0, le=2.0,
        description="Extra non-Chinese supply at the end of its ramp, as a share of baseline demand.",
    )
    stockpile_cover_days: float | None = Field(
        None, ge=0.0, le=3650.0,
        description="National stockpile of this material in days of baseline demand; "
                    "empty = stockpile.national.cover_days.",
    )
    corporate_cover_scale: float = Field(
        1.0, ge=0.0, le=20.0,
        description="Multiplier on the corporate inventory cover of this material.",
    )
    criticality_scale: float = Field(
        1.0, ge=0.0, le=10.0,
        description="Multiplier on the short-run criticality of every application of this material (capped at 1).",
    )
    allied_stock_days: float | None = Field(
        None, ge=0.0, le=3650.0,
        description="Allied stocks of this material pledged to Japan, days of Japan's baseline demand; "
                    "empty = allies.stock_days.",
    )
    price_jpy_per_kg: float | None = Field(
        None, ge=0.01, le=1e7,
        description="Price for valuing a stockpile (holding cost), yen per kg; empty = unknown (no cost shown).",
    )


class Inventory(_Model):
    """Corporate inventories.

    Each application of the use table is a firm group holding its own cover
    (``criticality.csv``: lean auto lines ~5 weeks, magnet makers ~2-3 months, traders ~3 months).
    """

    cover_scale: float = Field(
        0.73, ge=0.0, le=20.0,
        description="Multiplier on every firm group's cover (criticality.csv). Default: the posterior median "
                    "of the calibration (data/posterior.json; the 2025 first stoppages pin it down).",
    )
    restock_months: float = Field(
        3.0, ge=MIN_MONTHS, le=60.0,
        description="Firms order to close the gap to their target stock over this many months.",
    )
    pooled: bool = Field(
        False, description="Firms lend stock to each other (one pool) instead of each using its own.",
    )


class NationalStockpile(_Model):
    """The national (JOGMEC) stockpile and its release rule."""

    cover_days: float = Field(
        30.0, ge=0.0, le=3650.0,
        description="Holdings in days of baseline demand (target 60 days; actual rare-earth holdings are secret, "
                    "assumed 50 % filled).",
    )
    strategy: Literal["on_shortage", "immediate", "reserve_for_priority", "none"] = Field(
        "on_shortage",
        description="on_shortage: release once corporate cover falls below the trigger, after a decision delay; "
                    "immediate: release from the start of the restriction; "
                    "reserve_for_priority: like on_shortage, but only the economy.priority_sectors' share of the "
                    "shortfall, earmarked for them; none: never release.",
    )
    trigger_cover_months: float = Field(
        1.0, ge=0.0, le=60.0,
        description="on_shortage: release once corporate stocks fall below this many months of baseline demand.",
    )
    decision_delay_months: float = Field(
        1.0, ge=0.0, le=60.0, description="Months between the trigger and the first release.",
    )
    max_release_share_per_month: float = Field(
        0.5, ge=1e-3, le=10.0,
        description="Largest monthly release, as a share of baseline monthly demand.",
    )
    refill_months: float = Field(
        24.0, ge=0.0, le=600.0,
        description="After the restriction, the stockpile is refilled over this many months; 0 = never refilled.",
    )


class StockpileCost(_Model):
    """What holding a stockpile costs (for the cost-benefit view)."""

    carrying_rate_per_year: float = Field(
        0.05, ge=0.0, le=1.0,
        description="Yearly holding cost as a share of the stock's value: interest, storage, insurance (assumption).",
    )


class Stockpile(_Model):
    """The national stockpile and what holding it costs."""

    national: NationalStockpile = NationalStockpile()
    cost: StockpileCost = StockpileCost()


class Allies(_Model):
    """G7/allied sharing: partners' stocks released to Japan, an extra non-Chinese source."""

    stock_days: float = Field(
        0.0, ge=0.0, le=3650.0,
        description="Partners' stocks pledged to Japan, days of Japan's baseline demand per material; 0 = no sharing.",
    )
    delay_months: float = Field(
        2.0, ge=0.0, le=60.0,
        description="Months from the restriction start until partners accept orders (coordination); shipments then "
                    "take restriction.lead_time_normal_months.",
    )
    max_share_per_month: float = Field(
        0.25, ge=1e-3, le=10.0,
        description="Largest monthly allied shipment, as a share of Japan's baseline monthly demand.",
    )


class Ramp(_Model):
    """A linear ramp that starts some months into the restriction (base of the ramped levers)."""

    delay_months: float = Field(
        3.0, ge=0.0, le=600.0, description="Months after the restriction starts before the ramp begins.",
    )
    ramp_months: float = Field(
        12.0, ge=0.0, le=600.0, description="Months from the start of the ramp to its full level (linear).",
    )


class AlternativeSupply(Ramp):
    """Non-Chinese supply ramping up to materials.<id>.alternative_capacity_share."""


class Substitution(Ramp):
    """Substitution and thrifting ramping up to materials.<id>.substitution_max_share."""

    delay_months: float = Field(
        2.0, ge=0.0, le=600.0, description="Months after the restriction starts before demand reduction begins.",
    )


class Economy(_Model):
    """The input-output economy, the physical use table, and how scarce material is shared."""

    table: str = Field(
        "mic2015_37", min_length=1, max_length=MAX_PATH,
        description="Input-output table: 'mic2015_37', 'mic2015_185', a directory with the same file layout "
                    "(relative to the scenario file; docs/byo-data.md), or 'pymrio:PATH', a system pymrio reads "
                    "(EXIOBASE 3, OECD ICIO, a saved IOSystem), one region of it (economy.region).",
    )
    use_table: str | None = Field(
        None, min_length=1, max_length=MAX_PATH,
        description="Folder of the physical use table (use_table.csv, criticality.csv, applications.csv, "
                    "final_links.csv, made_to_order.csv; relative to the scenario file); "
                    "leave it out for the bundled one.",
    )
    region: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.()&'-]{0,63}$",
        description="Region of a 'pymrio:' table, as the system labels it (e.g. 'JP' in EXIOBASE, "
                    "'JPN' in OECD ICIO); empty = the region labelled JP, JPN or Japan. "
                    "Only with economy.table = 'pymrio:PATH'.",
    )
    gdp_jpy_bn: float = Field(
        609_300.0, ge=1e3, le=1e8,
        description="Annual nominal GDP the table is scaled to, billion yen (CY2024: 609.3 trn yen).",
    )
    criticality_scale: float = Field(
        1.0, ge=0.0, le=10.0,
        description="Multiplier on every application's short-run criticality (capped at 1), for sweeps and "
                    "calibration.",
    )
    criticality: Share = Field(
        0.5,
        description="Strength of downstream propagation: share of a customer's output lost per unit of lost "
                    "domestic supply of a critical input.",
    )
    critical_input_min_share: Share = Field(
        0.03,
        description="An input is critical to a customer if it is at least this share of the customer's output "
                    "(input coefficient).",
    )
    allocation: Literal["proportional", "market", "priority", "value_added"] = Field(
        "market",
        description="How scarce material is shared among applications: proportional to need; "
                    "market (a share 'reallocation' goes to the highest bidders first: value of the final product "
                    "per kg x criticality); priority (applications of economy.priority_sectors first, the rest by "
                    "market); value_added (all of it to the applications with the most value added at risk per "
                    "tonne first).",
    )
    reallocation: Share = Field(
        0.5,
        description="allocation = 'market' or 'priority': share of scarce material that goes to the highest bidders "
                    "first (0 = pro-rata, 1 = full triage).",
    )
    priority_sectors: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        [], max_length=MAX_PRIORITY_SECTORS,
        description="allocation = 'priority': applications bought or assembled by these sector codes are served in "
                    "full first, in this order; strategy = 'reserve_for_priority': national releases go only to them.",
    )


class Recovery(_Model):
    """What happens after material is back: restart and catch-up."""

    ramp_months: float = Field(
        1.0, ge=0.0, le=24.0,
        description="Months a production line takes from a full stop back to normal output once material is back "
                    "(linear; 0 = at once).",
    )
    deferred_scale: float = Field(
        0.67, ge=0.0, le=2.0,
        description="Multiplier on the share of lost deliveries of made-to-order sectors that is deferred and "
                    "made up later (made_to_order.csv; 0 = all cancelled). "
                    "Default: the posterior median (data/posterior.json).",
    )
    capacity_ceiling: float = Field(
        1.15, ge=1.0, le=2.0,
        description="Most output a sector can reach while making up deferred orders, as a multiple of its baseline.",
    )


class Softening(_Model):
    """Market channels that soften a restriction (each can be switched off with 0)."""

    imported_components: float = Field(
        0.75, ge=0.0, le=1.0,
        description="Share of the ready-made components imported by assemblers that counts as unaffected "
                    "(1 = the import shares of final_links.csv; 0 = off). "
                    "Default: the posterior median (data/posterior.json).",
    )
    leakage_share: Share = Field(
        0.1, description="Share of the withheld Chinese flow that reaches Japan through third countries at full ramp.",
    )
    leakage_months: float = Field(
        6.0, ge=0.0, le=60.0,
        description="Months from the restriction's start until leakage reaches its full share (linear).",
    )
    overseas_share: Share = Field(
        0.05,
        description="Share of the lost components that assemblers get from their own overseas plants at full ramp.",
    )
    overseas_months: float = Field(
        6.0, ge=0.0, le=60.0,
        description="Months from the restriction's start until the overseas shift reaches its full share (linear).",
    )


class Distribution(_Model):
    """An uncertain parameter's distribution (scipy.stats)."""

    dist: Literal["uniform", "triangular", "normal", "lognormal"]
    low: float | None = Field(None, ge=-1e12, le=1e12)
    high: float | None = Field(None, ge=-1e12, le=1e12)
    mode: float | None = Field(None, ge=-1e12, le=1e12)
    mean: float | None = Field(None, ge=-1e12, le=1e12)
    sd: float | None = Field(None, gt=0.0, le=1e12)

    @model_validator(mode="after")
    def _needs(self):
        need = {
            "uniform": ("low", "high"),
            "triangular": ("low", "mode", "high"),
            "normal": ("mean", "sd"),
            "lognormal": ("mean", "sd"),
        }[self.dist]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{self.dist} needs {', '.join(need)}; missing {', '.join(missing)}")
        # every value in `need` is set from here on
        if self.dist in ("uniform", "triangular"):
            assert self.low is not None and self.high is not None
            if not self.low <= self.high:
                raise ValueError("low must not exceed high")
        if self.dist == "triangular":
            assert self.low is not None and self.mode is not None and self.high is not None
            if not self.low <= self.mode <= self.high:
                raise ValueError("mode must lie between low and high")
        if self.dist == "lognormal":
            assert self.mean is not None
            if self.mean <= 0:
                raise ValueError("lognormal needs a positive mean")
        return self


class Scenario(_Model):
    """A complete, validated scenario. Build with :func:`load_scenario`."""

    name: str = Field("", max_length=MAX_NAME, description="Short label used in tables and plots.")
    description: str = Field("", max_length=MAX_DESCRIPTION, description="What the scenario represents.")
    base: str | None = Field(None, max_length=MAX_PATH,
                             description="A scenario file to inherit from (relative to this file).")
    horizon_months: int = Field(36, ge=1, le=600, description="Simulated months.")
    steps_per_month: int = Field(
        4, ge=1, le=31,
        description="Internal time steps per month (4 = about weekly, so a half-month lead-time change matters).",
    )
    start_date: str = Field(
        "2026-01", pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Calendar month of month 0, YYYY-MM.",
    )
    restriction: Restriction = Restriction()
    materials: dict[str, Material] = Field(..., min_length=1, max_length=MAX_MATERIALS)
    inventory: Inventory = Inventory()
    stockpile: Stockpile = Stockpile()
    alternative_supply: AlternativeSupply = AlternativeSupply()
    substitution: Substitution = Substitution()
    economy: Economy = Economy()
    recovery: Recovery = Recovery()
    softening: Softening = Softening()
    allies: Allies = Allies()
    uncertainty: dict[str, Distribution] = Field(
        {}, max_length=MAX_UNCERTAIN,
        description="Distributions of uncertain parameters for Monte Carlo, keyed by dotted key.",
    )
    source_file: str | None = Field(None, description="Set by the loader.", exclude=True)
    source_sha256: str | None = Field(None, description="Set by the loader.", exclude=True)
    _explicit: frozenset[str] = PrivateAttr(default=frozenset())
    _origins: dict = PrivateAttr(default_factory=dict)
    _files: tuple = PrivateAttr(default=())

    @property
    def explicit_keys(self) -> frozenset[str]:
        """Dotted keys the scenario's files or overrides set themselves (not defaults).

        Calibrated parameters (``data/posterior.csv``) vary in the uncertainty
        band only where the scenario leaves them at their defaults: a value a
        user wrote down is theirs.
        """
        return self._explicit

    @property
    def origins(self) -> dict[str, str]:
        """Where each value the files or overrides wrote came from: dotted key -> file (or ``--set``).

        Keys not in it are defaults (the schema's, or ``data/materials.toml`` for the bundled materials).
        """
        return dict(self._origins)

    @property
    def files(self) -> tuple[str, ...]:
        """The scenario file and the chain of ``base`` files it inherits from, the file itself first."""
        return self._files

    @field_validator("materials")
    @classmethod
    def _material_ids(cls, value):
        for key in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
                raise ValueError(f"material id {key!r}: use lower-case letters, digits and _")
        return value

    @model_validator(mode="after")
    def _consistency(self):
        if self.restriction.start_month >= self.horizon_months:
            raise ValueError(
                f"restriction.start_month: {self.restriction.start_month:g} must be before the end of "
                f"the horizon ({self.horizon_months} months)"
            )
        if self.restriction.lead_time_restricted_months < self.restriction.lead_time_normal_months:
            raise ValueError(
                "restriction.lead_time_restricted_months: must be at least lead_time_normal_months"
            )
        room = math.ceil(self.horizon_months - self.restriction.start_month - 1e-9)
        if isinstance(self.restriction.severity, list) and len(self.restriction.severity) > room:
            raise ValueError(
                f"restriction.severity: the monthly profile has {len(self.restriction.severity)} values but "
                f"only {room} months of the horizon follow the restriction start; give at most {room}"
            )
        for key in self.uncertainty:
            _check_uncertain_key(self, key)
        if self.stockpile.national.strategy == "reserve_for_priority" and not self.economy.priority_sectors:
            raise ValueError(
                "stockpile.national.strategy: 'reserve_for_priority' needs economy.priority_sectors "
                "(the sector codes the releases are earmarked for)"
            )
        return self

    # -- conveniences -------------------------------------------------------
    def flat(self) -> dict[str, Any]:
        """All values as a flat mapping of dotted keys (what ``--set`` accepts)."""
        return _flatten(self.model_dump(exclude={"uncertainty", "base"}))

    def data_files(self) -> DataFiles:
        """The data files this scenario uses (resolved relative to its file)."""
        return resolve_data_files(self.economy.table, self.economy.use_table, self.source_file,
                                  self.economy.region)

    def get(self, dotted: str) -> Any:
        """The value at a dotted key, e.g. ``scenario.get("restriction.duration_months")``."""
        node: Any = self
        for part in dotted.split("."):
            if isinstance(node, BaseModel):
                if part not in type(node).model_fields:
                    raise ScenarioError(f"unknown key{_suggest(part, type(node).model_fields)}", key=dotted)
                node = getattr(node, part)
            elif isinstance(node, dict):
                if part not in node:
                    raise ScenarioError(f"unknown key{_suggest(part, node)}", key=dotted)
                node = node[part]
            else:
                raise ScenarioError("is not a table", key=dotted)
        return node

    def with_overrides(self, overrides: dict[str, Any]) -> "Scenario":
        """A new validated scenario with dotted-key overrides applied."""
        raw = self.model_dump(exclude_none=False)
        raw.pop("source_file", None)
        raw.pop("source_sha256", None)
        origins: dict[tuple, str] = {}
        _apply_overrides(raw, overrides, origins)
        new = _validate(raw, self.source_file or "<scenario>", origins,
                        source_file=self.source_file, sha=self.source_sha256)
        new._explicit = self._explicit | _dotted(origins)
        new._origins = {**self._origins, **{".".join(map(str, k)): v for k, v in origins.items()}}
        new._files = self._files
        return new


def _check_uncertain_key(scenario: Scenario, key: str) -> None:
    try:
        value = scenario.get(key)
    except ScenarioError as exc:
        raise ValueError(f"uncertainty: {_quoted(key)}: {exc.message}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"uncertainty: {key!r} is not a number, so it cannot be sampled")


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

DEFAULT_SCENARIO = "japan-one-year.toml"


def bundled_scenario_path(name: str = DEFAULT_SCENARIO) -> Path:
    """Path of a scenario bundled with the package (works outside a checkout)."""
    return Path(str(resources.files("simulator") / "scenarios" / name))


def bundled_scenarios() -> dict[str, Path]:
    """The scenarios bundled with the package: name (the file name without ``.toml``) -> path, sorted."""
    folder = resources.files("simulator") / "scenarios"
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".toml"))
    return {name[:-len(".toml")]: bundled_scenario_path(name) for name in names}


def find_scenario(scenario: str | Path) -> Path:
    """A scenario argument as a path.

    A file (an existing path wins), ``./NAME.toml`` for ``NAME``, else the
    bundled scenario of that name (``japan-six-months``).

    Raises
    ------
    ScenarioError
        For a bare name that is neither a file nor a bundled scenario: the line lists the bundled ones.
    """
    text = str(scenario)
    if os.path.lexists(scenario) or "/" in text or os.sep in text:
        return Path(scenario)                     # a path: the loader says what is wrong with it
    if not text.endswith(".toml") and os.path.lexists(text + ".toml"):
        return Path(text + ".toml")               # `resim run mine` for ./mine.toml
    names = bundled_scenarios()
    stem = text[:-len(".toml")] if text.endswith(".toml") else text
    if stem in names:
        return names[stem]
    close = difflib.get_close_matches(stem, list(names), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ScenarioError(f"no such file, and no bundled scenario of that name{hint} (bundled: {', '.join(names)}; "
                        "resim scenarios describes them)", file=_quoted(text).strip("'"))


def _material_defaults() -> dict[str, dict]:
    text = (resources.files("simulator") / "data" / "materials.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _read_toml(path: Path, key: str | None = None, digest: dict | None = None) -> dict:
    """Parse a scenario file: a regular file of at most 1 MB, UTF-8 TOML, nested at most MAX_NESTING deep.

    ``digest``, if given, receives the sha256 of the bytes that were parsed (``digest["sha256"]``).
    """
    data = read_bounded(path, SCENARIO_MAX_BYTES, what="scenario files", key=key, error=ScenarioError)
    if digest is not None:
        digest["sha256"] = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise ScenarioError("the file is empty; a scenario needs at least one TOML key (or use the defaults with "
                            "no file)", file=str(path))
    try:
        text = data.decode("utf-8-sig")  # -sig: editors on Windows prepend a byte-order mark
    except UnicodeDecodeError:
        raise ScenarioError("not a text file (invalid UTF-8); scenario files are TOML", file=str(path)) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"invalid TOML: {exc}", file=str(path)) from None
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise ScenarioError("invalid TOML: arrays or tables nested too deeply", file=str(path)) from None
    depth = _nesting(doc)
    if depth > MAX_NESTING:
        raise ScenarioError(f"tables or arrays nested more than {MAX_NESTING} levels deep (a dotted key with "
                            "too many parts?); scenario files nest only a few levels", file=str(path))
    return doc


def _merge(into: dict, new: dict, origins: dict, origin: str, prefix: tuple = ()) -> None:
    """Deep-merge ``new`` into ``into`` (tables merge, everything else replaces)."""
    for key, value in new.items():
        path = prefix + (key,)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, origins, origin, path)
        else:
            into[key] = copy.deepcopy(value)
            _mark(value, origins, origin, path)


def _mark(value: Any, origins: dict, origin: str, path: tuple) -> None:
    origins[path] = origin
    if isinstance(value, dict):
        for k, v in value.items():
            _mark(v, origins, origin, path + (k,))


def _nesting(value: Any, limit: int = MAX_NESTING) -> int:
    """How deep tables and arrays nest in ``value`` (iterative; stops counting past ``limit``)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _quoted(text: str, limit: int = 80) -> str:
    """User text for an error line: control characters escaped, clipped, in quotes."""
    return "'" + clip(one_line(str(text)), limit) + "'"


def _read_chain(path: Path, origins: dict, digest: dict | None = None, files: list | None = None) -> dict:
    """Read a scenario file and the chain of ``base`` files it names (iteratively), then merge them.

    The chain is at most :data:`MAX_BASE_DEPTH` files; a file that appears twice is a cycle.
    """
    chain: list[tuple[Path, dict]] = []
    seen: list[str] = []
    current, named_by = path, None
    while True:
        if named_by is not None:
            parent, named = named_by
            problem = describe_problem(current)
            if problem:
                raise ScenarioError(f"base file {_quoted(named)} {problem} (looked at {current})",
                                    file=str(parent), key="base")
        raw = _read_toml(current, digest=digest if not chain else None)
        resolved = os.path.realpath(current)
        if resolved in seen:
            cycle = " -> ".join(seen + [resolved])
            raise ScenarioError(f"base files include each other ({cycle})", file=str(current), key="base")
        seen.append(resolved)
        chain.append((current, raw))
        base = raw.get("base")
        if base is None:
            break
        if not isinstance(base, str) or not base:
            raise ScenarioError("must be a file name (string)", file=str(current), key="base")
        if len(chain) >= MAX_BASE_DEPTH:
            raise ScenarioError(f"the chain of base files is longer than {MAX_BASE_DEPTH} files (a file, its "
                                "base, that file's base, ...); flatten it", file=str(path), key="base")
        named_by = (current, base)
        current = _base_path(current, base)
    merged: dict = {}
    for file, raw in reversed(chain):
        _merge(merged, raw, origins, str(file))
    if files is not None:
        files[:] = [str(f) for f, _ in chain]
    return merged


def _base_path(current: Path, base: str) -> Path:
    """Where ``base`` points: relative to the file naming it, else a bundled scenario.

    If no such file exists and ``base`` is a bundled scenario's file name
    (``japan-one-year.toml``), the bundled one.
    """
    near = current.parent / base
    if os.path.lexists(near) or "/" in base or "\\" in base:
        return near
    bundled = bundled_scenarios()
    name = base[:-len(".toml")] if base.endswith(".toml") else base
    return bundled[name] if name in bundled else near


def parse_override_value(text: str, source: str = "--set", key: str | None = None) -> Any:
    """Parse the value of ``--set key=value`` as a TOML value, else keep it as a string.

    Raises
    ------
    ScenarioError
        (naming ``source``, e.g. ``--set`` or ``--grid``) for a control character such as a
        newline (it could smuggle in another key), a value over 100,000 characters, or
        arrays nested more than MAX_NESTING deep.
    """
    if has_control(text):
        raise ScenarioError(f"control characters (newline, carriage return, escape, ...) are not allowed in "
                            f"values; got {_quoted(text)}", file=source, key=key)
    if len(text) > MAX_OVERRIDE_CHARS:
        raise ScenarioError(f"the value is {len(text):,} characters long; at most {MAX_OVERRIDE_CHARS:,}",
                            file=source, key=key)
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise ScenarioError(f"arrays nested too deeply; at most {MAX_NESTING} levels", file=source,
                            key=key) from None
    if _nesting(value) > MAX_NESTING:
        raise ScenarioError(f"arrays nested too deeply; at most {MAX_NESTING} levels", file=source, key=key)
    return value


def check_override_key(dotted: str, source: str = "--set") -> list[str]:
    """Check a dotted key given on the command line or to ``with_overrides``; return its parts.

    Raises
    ------
    ScenarioError
        For an empty part, a control character, or more than MAX_KEY_PARTS parts.
    """
    if not isinstance(dotted, str):
        raise ScenarioError(f"keys are dotted strings (got {type(dotted).__name__})", file=source)
    if has_control(dotted):
        raise ScenarioError(f"control characters are not allowed in keys; got {_quoted(dotted)}", file=source)
    parts = dotted.split(".")
    if len(parts) > MAX_KEY_PARTS:
        raise ScenarioError(f"a dotted key has at most {MAX_KEY_PARTS} parts (got {len(parts)})", file=source,
                            key=clip(dotted, 80))
    if not dotted or any(not p for p in parts):
        raise ScenarioError("not a dotted key path (e.g. restriction.duration_months)", file=source,
                            key=clip(dotted, 80))
    return parts


#: Fields a new material group needs (the bundled groups take theirs from data/materials.toml).
NEW_MATERIAL_NEEDS = ("demand_t_per_month", "china_share")


def _check_override_materials(raw: dict, overrides: dict[str, Any]) -> None:
    """An override of ``materials.<id>...`` names a known material, unless it defines a whole new one."""
    known = raw.get("materials")
    if not isinstance(known, dict):
        return
    given: dict[str, set] = {}
    first: dict[str, str] = {}
    for dotted in overrides:
        parts = dotted.split(".") if isinstance(dotted, str) else []
        if len(parts) >= 2 and parts[0] == "materials" and parts[1] not in known:
            first.setdefault(parts[1], dotted)
            fields = given.setdefault(parts[1], set())
            if len(parts) == 3:
                fields.add(parts[2])
            elif len(parts) == 2 and isinstance(overrides[dotted], dict):
                fields |= set(overrides[dotted])
    for mid, fields in given.items():
        if not set(NEW_MATERIAL_NEEDS) <= fields:
            raise ScenarioError(
                f"unknown material {_quoted(mid, 40)}{_suggest(mid, known)} (known: {', '.join(known)}); "
                f"a new material needs {' and '.join(NEW_MATERIAL_NEEDS)}", file="--set", key=first[mid])


def _apply_overrides(raw: dict, overrides: dict[str, Any] | None, origins: dict) -> None:
    for dotted in overrides or {}:
        check_override_key(dotted)
    _check_override_materials(raw, overrides or {})
    for dotted, value in (overrides or {}).items():
        parts = check_override_key(dotted)
        node = raw
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ScenarioError(
                    f"{'.'.join(parts[:depth + 1])} is a value, not a table", file="--set", key=dotted
                )
            node = child
        if type(value).__module__ == "numpy":  # numpy scalars and arrays -> plain Python
            value = value.tolist()
        if _nesting(value) > MAX_NESTING:
            raise ScenarioError(f"nested more than {MAX_NESTING} levels deep", file="--set", key=dotted)
        node[parts[-1]] = copy.deepcopy(value)
        _mark(value, origins, "--set", tuple(parts))


def load_scenario(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, merge and validate a scenario file.

    Parameters
    ----------
    path : str or Path, optional
        A TOML scenario file, or the name of a bundled scenario (``"japan-six-months"``; a file
        of that name in the working directory wins). ``None`` loads the bundled default
        (``japan-one-year.toml``: a one-year full restriction from 2026).
    overrides : dict, optional
        Dotted keys and values applied on top, e.g.
        ``{"restriction.duration_months": 6}``. Unless ``name`` is among
        them, the scenario's name says what they changed (:func:`modified_label`),
        so tables and plots are never titled as the unmodified file.

    Returns
    -------
    Scenario
        The validated, immutable scenario.

    Raises
    ------
    ScenarioError
        With the file, the dotted key and what is allowed. When pydantic
        finds several problems, a :class:`ScenarioErrors` (the first one,
        with all of them in ``errors``). A problem that only the overrides
        cause names ``--set``, not the file.
    """
    path = bundled_scenario_path() if path is None else find_scenario(path)
    origins: dict[tuple, str] = {}
    digest: dict = {}
    files: list[str] = []
    raw = _read_chain(path, origins, digest, files)
    # The bundled material defaults sit under whatever the file says.
    defaults = _material_defaults()
    materials = raw.get("materials", {})
    if not isinstance(materials, dict):
        raise ScenarioError("must be a table of material groups", file=str(path), key="materials")
    merged_materials: dict = {}
    for mid in list(defaults) + [m for m in materials if m not in defaults]:
        entry = copy.deepcopy(defaults.get(mid, {}))
        user = materials.get(mid, {})
        if not isinstance(user, dict):
            raise ScenarioError("must be a table", file=origins.get(("materials", mid), str(path)),
                                key=f"materials.{mid}")
        entry.update(user)
        merged_materials[mid] = entry
    raw["materials"] = merged_materials
    file_raw = copy.deepcopy(raw) if overrides else None
    file_origins = dict(origins)
    _apply_overrides(raw, overrides, origins)
    sha = digest["sha256"]                 # of the bytes that were parsed (the file is read once)
    unmodified = None
    try:
        scenario = _validate(raw, str(path), origins, source_file=str(path), sha=sha, strict=True)
    except ScenarioError as exc:
        if overrides and _valid_or_none(file_raw, str(path), file_origins) is not None:
            raise _blame_overrides(exc, overrides) from None   # the file alone is fine: the overrides broke it
        raise
    if overrides:
        unmodified = _valid_or_none(file_raw, str(path), file_origins)
        label = modified_label(scenario, overrides, unmodified)
        if label != scenario.name:
            scenario = scenario.model_copy(update={"name": label})
    scenario._explicit = _dotted(origins)
    scenario._origins = {".".join(str(p) for p in k): v for k, v in origins.items()}
    scenario._files = tuple(files)
    _check_data_paths(scenario, scenario._origins)
    return scenario


def _valid_or_none(raw: dict | None, file: str, origins: dict) -> Scenario | None:
    """The scenario ``raw`` validates to, or None if it does not."""
    if raw is None:
        return None
    try:
        return _validate(raw, file, dict(origins), source_file=file, sha=None, strict=True)
    except ScenarioError:
        return None


def _blame_overrides(exc: ScenarioError, overrides: dict[str, Any]) -> ScenarioError:
    """``exc`` (and every problem it carries) reported against ``--set``.

    A problem with a key the overrides did not set (a cross-field rule) says
    which overrides the file is valid without.
    """
    errors = []
    for e in getattr(exc, "errors", [exc]):
        if e.file != "--set":
            set_keys = [k for k in overrides if k not in LABEL_KEYS]
            cause = (f" (the file is valid without --set {', '.join(clip(k, 60) for k in set_keys[:5])}"
                     f"{', ...' if len(set_keys) > 5 else ''})") if e.key not in overrides else ""
            e = ScenarioError(e.message + cause, file="--set", key=e.key)
        errors.append(e)
    return errors[0] if len(errors) == 1 else ScenarioErrors(errors)


#: Keys that label a scenario rather than change it (not listed as modifications).
LABEL_KEYS = ("name", "description")
#: Longest "key=value" shown for one override in a derived label.
MAX_LABEL_ITEM = 60


def _label_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".10g")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_label_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_label_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def modified_label(scenario: Scenario, overrides: dict[str, Any] | None,
                   unmodified: Scenario | None = None) -> str:
    """The name to show for ``scenario`` after ``overrides``: the one place labels are derived.

    ``"one-year full restriction (modified: restriction.duration_months=3)"``.
    An override of ``name`` itself wins as it is; overrides that leave a value
    as the file had it (``unmodified``, the scenario without them) and
    ``description`` are not listed. The label is at most MAX_NAME characters
    (``+N more`` stands for what does not fit).
    """
    overrides = dict(overrides or {})
    if "name" in overrides:
        return scenario.name
    changed = []
    for key, value in overrides.items():
        if key in LABEL_KEYS:
            continue
        if unmodified is not None:
            try:
                if unmodified.get(key) == scenario.get(key):
                    continue
            except ScenarioError:
                pass
        changed.append(clip(one_line(f"{key}={_label_value(value)}"), MAX_LABEL_ITEM))
    if not changed:
        return scenario.name
    base = scenario.name or (Path(scenario.source_file).stem if scenario.source_file else "scenario")
    shown = list(changed)
    while True:
        more = len(changed) - len(shown)
        text = f"{base} (modified: {', '.join(shown)}{f', +{more} more' if more else ''})"
        if len(text) <= MAX_NAME or len(shown) <= 1:
            break
        shown.pop()
    if len(text) > MAX_NAME:                 # a very long name: shorten the name, keep what changed
        tail = text[len(base):]
        text = clip(base, max(10, MAX_NAME - len(tail))) + tail
    return clip(text, MAX_NAME)


def _dotted(origins: dict) -> frozenset[str]:
    """Every key path the files and overrides wrote, as dotted keys."""
    return frozenset(".".join(str(p) for p in path) for path in origins)


def _check_data_paths(s: Scenario, origins: dict[str, str] | None = None) -> None:
    """Custom data paths resolve relative to the scenario file; a missing one fails at load.

    The error names where the value came from (the file that set it, or ``--set``).
    """
    assert s.source_file is not None        # load_scenario, the only caller, sets it
    base = Path(s.source_file).parent
    checks = [("economy.use_table", s.economy.use_table, "use-table folder")]
    pymrio = s.economy.table.startswith("pymrio:")
    if s.economy.region is not None and not pymrio:
        raise ScenarioError("applies only to economy.table = 'pymrio:PATH' (a region of a multi-regional table)",
                            file=(origins or {}).get("economy.region", s.source_file), key="economy.region")
    if pymrio:
        if not s.economy.table[len("pymrio:"):].strip():
            raise ScenarioError("'pymrio:' needs a path: pymrio:PATH, a folder or zip file pymrio can read",
                                file=(origins or {}).get("economy.table", s.source_file), key="economy.table")
        checks.append(("economy.table", s.economy.table[len("pymrio:"):].strip(), "pymrio source"))
    elif s.economy.table not in BUNDLED_TABLES:
        checks.append(("economy.table", s.economy.table, "table directory"))
    for key, value, kind in checks:
        if value:
            where = Path(value) if Path(value).is_absolute() else base / value
            problem = describe_problem(where, want="file" if kind == "pymrio source" else "directory")
            if problem == "is a directory" and kind == "pymrio source":
                problem = None                      # a folder or a zip file, both fine
            if problem:
                origin = (origins or {}).get(key, s.source_file)
                if kind == "pymrio source":
                    msg = (f"pymrio source {_quoted(value)} {problem} (looked at {where}; relative paths start at "
                           "the scenario file's directory)")
                elif key == "economy.table":
                    msg = (f"unknown table {_quoted(value)}: no bundled table has that name, and as a "
                           f"directory: {problem} (looked at {where}); allowed: "
                           + ", ".join(BUNDLED_TABLES) + ", a directory with Z.csv, final_demand.csv and "
                           "value_added.csv (relative to the scenario file), or 'pymrio:PATH'")
                else:
                    msg = (f"{kind} {_quoted(value)} {problem} (looked at {where}; relative paths start at the "
                           "scenario file's directory)")
                raise ScenarioError(msg, file=origin, key=key)


#: Keys of earlier versions and what replaced them (model v2, docs/model.md).
MIGRATED = {
    ("inventory", "cover_months"): "firm groups are now the applications of the use table, each with its own "
                                   "cover (criticality.csv); scale them with inventory.cover_scale",
    ("inventory", "demand_share"): "firm groups are now the applications of the use table with their shares "
                                   "of demand (use_table.csv); point economy.use_table at your own table",
    ("economy", "dependence_file"): "replaced by economy.use_table (a folder with the physical use table)",
    ("economy", "dependence_scale"): "replaced by economy.criticality_scale (multiplies every application's "
                                     "criticality)",
}


def _refuse_migrated(raw: dict, file: str, origins: dict) -> None:
    """A key of an earlier version gets an error naming what replaced it."""
    for (table, key), new in MIGRATED.items():
        if isinstance(raw.get(table), dict) and key in raw[table]:
            raise ScenarioError(f"no longer exists: {new}", file=origins.get((table, key), file), key=f"{table}.{key}")
    for mid, entry in (raw.get("materials") or {}).items():
        if isinstance(entry, dict) and "dependence_scale" in entry:
            raise ScenarioError(f"no longer exists: replaced by materials.{mid}.criticality_scale",
                                file=origins.get(("materials", mid, "dependence_scale"), file),
                                key=f"materials.{mid}.dependence_scale")


class ScenarioErrors(ScenarioError):
    """Several problems in one scenario (pydantic reports them all).

    It reads as the first problem (``message``, ``file``, ``key``), with a
    note of how many more there are; ``errors`` holds every one of them,
    each a :class:`ScenarioError` (``resim validate`` prints them all).
    """

    def __init__(self, errors: list[ScenarioError]):
        self.errors = list(errors)
        first, more = self.errors[0], len(self.errors) - 1
        note = f" (and {more} more problem{'s' if more > 1 else ''}; resim validate lists them all)" if more else ""
        super().__init__(first.message + note, file=first.file, key=first.key)


def _validate(raw: dict, file: str, origins: dict, source_file: str | None, sha: str | None,
              strict: bool = False) -> Scenario:
    _refuse_migrated(raw, file, origins)
    raw = dict(raw)
    raw["source_file"] = source_file
    raw["source_sha256"] = sha
    try:
        # strict for files and --set: `true` or "12" is not a number of months
        return Scenario.model_validate(raw, strict=strict)
    except ValidationError as exc:
        errors, seen = [], set()
        for err in exc.errors():
            one = _to_scenario_error(err, file, origins)
            if (one.file, one.key) in seen:       # a union reports each of its members: keep the first
                continue
            seen.add((one.file, one.key))
            errors.append(one)
        raise (errors[0] if len(errors) == 1 else ScenarioErrors(errors)) from None


def _model_at(loc: tuple) -> tuple[type[BaseModel] | None, dict | None]:
    """The model class (or mapping) holding the last element of ``loc``."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(part)
            if field is None:
                return None, None
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                model = ann
            elif getattr(ann, "__origin__", None) is dict:
                model = get_args(ann)[1]
            else:
                return None, None
        else:
            # inside a dict of models: the part is the dict key
            continue
    return (model if isinstance(model, type) and issubclass(model, BaseModel) else None), None


def _suggest(word: str | int, options) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _to_scenario_error(err: ErrorDetails, file: str, origins: dict) -> ScenarioError:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("float", "list[...]", "constrained-float")))
    # pydantic adds the union member name to the loc; drop such tags
    loc = tuple(p for p in loc if not (isinstance(p, str) and (p.startswith("list[") or p.startswith("function-"))))
    key = ".".join(str(p) for p in loc) if loc else None
    origin = file
    for n in range(len(loc), 0, -1):
        if loc[:n] in origins:
            origin = origins[loc[:n]]
            break
    etype = err["type"]
    if etype == "extra_forbidden":
        model, _ = _model_at(loc)
        allowed = list(model.model_fields) if model else []
        allowed = [a for a in allowed if a not in ("source_file", "source_sha256")]
        msg = f"unknown key{_suggest(loc[-1], allowed)}"
        if allowed:
            msg += f" (allowed here: {', '.join(allowed)})"
        return ScenarioError(msg, file=origin, key=key)
    if etype == "missing":
        return ScenarioError("is required but missing", file=origin, key=key)
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
        # model-level validators name their own field as "field: message"
        m = re.match(r"^([a-z_.]+): (.*)$", msg, re.S)
        if m and "." not in m.group(1):
            key = ".".join(filter(None, [key, m.group(1)]))
            msg = m.group(2)
        elif m:
            key = m.group(1)
            msg = m.group(2)
        parts = tuple(key.split(".")) if key else ()
        for n in range(len(parts), 0, -1):
            if parts[:n] in origins:
                origin = origins[parts[:n]]
                break
    if etype in _RANGE_ERRORS:
        allowed_range = _allowed_range(loc)
        if allowed_range:
            msg = f"{msg}; allowed: {allowed_range}"
    elif etype in ("too_long", "string_too_long") and isinstance(err.get("input"), (str, list, dict)):
        limit = (err.get("ctx") or {}).get("max_length")
        kind = "characters" if isinstance(err["input"], str) else "entries"
        if limit is not None:
            msg = f"has {len(err['input']):,} {kind}; at most {limit:,}"
        return ScenarioError(msg, file=origin, key=clip(key or "", 200) or None)
    got = err.get("input")
    if etype not in ("model_type", "dict_type") and not isinstance(got, (dict, list)) and got is not None:
        msg = f"{msg} (got {clip(one_line(repr(got)), 80)})"
    return ScenarioError(msg, file=origin, key=clip(key, 200) if key else key)


_RANGE_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _allowed_range(loc: tuple) -> str | None:
    """Describe the range of the field at ``loc`` from its Field bounds: ``0.01 to 24``, ``at least 0``."""
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return None
    model: Any = Scenario
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None) if isinstance(model, type) else None
        if fields is None or part not in fields:
            if model is not None and isinstance(model, type) and issubclass(model, BaseModel):
                return None
            continue            # a dict key (a material id, an uncertain key)
        info = fields[part]
        ann = info.annotation
        args: tuple[Any, ...] = getattr(ann, "__args__", ())
        inner = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else (inner[0] if inner else None)
        if getattr(ann, "__origin__", None) is dict:
            model = args[1]
    if info is None:
        return None
    bounds: dict = {}
    metas = list(info.metadata)
    for arg in getattr(info.annotation, "__args__", ()) or ():        # list[Share], Share | None
        metas += list(getattr(arg, "__metadata__", ()))
        for sub in getattr(arg, "__args__", ()) or ():
            metas += list(getattr(sub, "__metadata__", ()))
    metas += list(getattr(info.annotation, "__metadata__", ()))
    for meta in metas:
        for sub in [meta, *getattr(meta, "metadata", ())]:
            for name in ("ge", "gt", "le", "lt"):
                if getattr(sub, name, None) is not None:
                    bounds.setdefault(name, getattr(sub, name))
    low = high = None
    if "ge" in bounds or "gt" in bounds:
        low = f"{bounds['ge']:g}" if "ge" in bounds else f"more than {bounds['gt']:g}"
    if "le" in bounds or "lt" in bounds:
        high = f"{bounds['le']:g}" if "le" in bounds else f"less than {bounds['lt']:g}"
    if low and high:
        return f"{low} to {high}"
    if low:
        return f"at least {low}" if "ge" in bounds else low
    if high:
        return f"at most {high}" if "le" in bounds else high
    return None


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _drop_required(node: Any) -> None:
    """Remove every ``required`` list: with ``base`` inheritance any table may be given in part."""
    if isinstance(node, dict):
        node.pop("required", None)
        for value in node.values():
            _drop_required(value)
    elif isinstance(node, list):
        for value in node:
            _drop_required(value)


def json_schema() -> dict:
    """The JSON Schema of scenario files (for editors' autocompletion and checks).

    It accepts every file ``resim validate`` accepts. A file states only what
    differs (from the defaults, or from its ``base`` file), so no key is
    required anywhere: the bundled material groups take their values from
    ``data/materials.toml`` (shown as defaults), and a new group's
    ``demand_t_per_month`` and ``china_share`` may come from a base file.
    """
    schema = Scenario.model_json_schema(mode="validation")
    schema["title"] = "resim scenario file"
    props = schema.get("properties", {})
    for internal in ("source_file", "source_sha256"):
        props.pop(internal, None)
    _drop_required(schema)
    material = schema["$defs"]["Material"]
    material["description"] = (
        "A rare-earth material group. The bundled groups (" + ", ".join(_material_defaults()) + ") take "
        "every value they do not state from data/materials.toml; a new group needs "
        + " and ".join(NEW_MATERIAL_NEEDS) + " (in this file or its base file).")
    mats = props["materials"]
    mats.pop("minProperties", None)           # the bundled groups are always there
    mats["propertyNames"] = {"pattern": "^[a-z][a-z0-9_]*$"}
    mats["description"] = ("Material groups: [materials.<id>]; the bundled ones need only what differs "
                           "from data/materials.toml.")
    bundled = {}
    for mid, values in _material_defaults().items():
        bundled[mid] = {
            "$ref": "#/$defs/Material",
            "description": str(values.get("name", mid)) + " (bundled; defaults from data/materials.toml)",
            "properties": {k: {"default": v} for k, v in values.items()},
        }
    mats["properties"] = bundled
    return schema
