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
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from simulator.errors import ScenarioError
from simulator.io.datafiles import BUNDLED_TABLES, DataFiles, resolve_data_files

# --------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------

Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
        1.5, gt=0.0, le=24.0,
        description="Order-to-arrival time for Chinese material in normal times (usual 1-2 months).",
    )
    lead_time_restricted_months: float = Field(
        3.5, gt=0.0, le=36.0,
        description="Order-to-arrival time for Chinese material ordered during the restriction (3-4 months reported).",
    )

    transit_months: float = Field(
        0.5, ge=0.0, le=12.0,
        description="Last part of the lead time, after export (shipping and customs): Chinese shipments already this close to arrival when a restriction starts still arrive.",
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

    name: str = Field("", description="Display name.")
    demand_t_per_month: float = Field(
        ..., gt=0.0, le=1e7, description="Japan's baseline demand, tonnes per month.",
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
        description="National stockpile of this material in days of baseline demand; empty = stockpile.national.cover_days.",
    )
    corporate_cover_scale: float = Field(
        1.0, ge=0.0, le=20.0,
        description="Multiplier on the corporate inventory cover of this material.",
    )
    dependence_scale: float = Field(
        1.0, ge=0.0, le=10.0,
        description="Multiplier on every sector's dependence on this material (capped at 1).",
    )
    allied_stock_days: float | None = Field(
        None, ge=0.0, le=3650.0,
        description="Allied stocks of this material pledged to Japan, days of Japan's baseline demand; empty = allies.stock_days.",
    )
    price_jpy_per_kg: float | None = Field(
        None, gt=0.0, le=1e7,
        description="Price for valuing a stockpile (holding cost), yen per kg; empty = unknown (no cost shown).",
    )


class Inventory(_Model):
    """Corporate inventories as a distribution of months of cover across firms."""

    cover_months: list[NonNeg] = Field(
        [1.25, 2.0, 3.0, 6.0],
        description="Months of baseline use held by each firm group (lean auto lines ~5 weeks, manufacturers, traders ~3 months, stockpilers ~6 months).",
        min_length=1, max_length=20,
    )
    demand_share: list[Share] = Field(
        [0.35, 0.30, 0.25, 0.10],
        description="Share of the material's demand used by each firm group; sums to 1.",
        min_length=1, max_length=20,
    )
    cover_scale: float = Field(
        1.0, ge=0.0, le=20.0, description="Multiplier on every group's cover (for sweeps).",
    )
    restock_months: float = Field(
        3.0, gt=0.0, le=60.0,
        description="Firms order to close the gap to their target stock over this many months.",
    )
    pooled: bool = Field(
        False, description="Firms lend stock to each other (one pool) instead of each using its own.",
    )

    @model_validator(mode="after")
    def _shares(self):
        if len(self.cover_months) != len(self.demand_share):
            raise ValueError(
                f"demand_share: has {len(self.demand_share)} values but cover_months has "
                f"{len(self.cover_months)}; give one share per firm group"
            )
        total = sum(self.demand_share)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"demand_share: the shares sum to {total:g}; they must sum to 1")
        return self


class NationalStockpile(_Model):
    """The national (JOGMEC) stockpile and its release rule."""

    cover_days: float = Field(
        30.0, ge=0.0, le=3650.0,
        description="Holdings in days of baseline demand (target 60 days; actual rare-earth holdings are secret, assumed 50 % filled).",
    )
    strategy: Literal["on_shortage", "immediate", "reserve_for_priority", "none"] = Field(
        "on_shortage",
        description="on_shortage: release once corporate cover falls below the trigger, after a decision delay; immediate: release from the start of the restriction; reserve_for_priority: like on_shortage, but only the economy.priority_sectors' share of the shortfall, earmarked for them; none: never release.",
    )
    trigger_cover_months: float = Field(
        1.0, ge=0.0, le=60.0,
        description="on_shortage: release once corporate stocks fall below this many months of baseline demand.",
    )
    decision_delay_months: float = Field(
        1.0, ge=0.0, le=60.0, description="Months between the trigger and the first release.",
    )
    max_release_share_per_month: float = Field(
        0.5, gt=0.0, le=10.0,
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
        description="Months from the restriction start until partners accept orders (coordination); shipments then take restriction.lead_time_normal_months.",
    )
    max_share_per_month: float = Field(
        0.25, gt=0.0, le=10.0,
        description="Largest monthly allied shipment, as a share of Japan's baseline monthly demand.",
    )


class Ramp(_Model):
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

    delay_months: float = Field(2.0, ge=0.0, le=600.0, description="Months after the restriction starts before demand reduction begins.")


class Economy(_Model):
    """The input-output economy and how shortages propagate."""

    table: str = Field(
        "mic2015_37",
        description="Input-output table: 'mic2015_37', 'mic2015_185', or a directory with the same file layout (relative to the scenario file).",
    )
    dependence_file: str | None = Field(
        None,
        description="Sector x material dependence CSV; empty = the bundled 185-sector table aggregated to the chosen table.",
    )
    gdp_jpy_bn: float = Field(
        609_300.0, gt=0.0, le=1e8,
        description="Annual nominal GDP the table is scaled to, billion yen (CY2024: 609.3 trn yen).",
    )
    dependence_scale: float = Field(
        1.0, ge=0.0, le=10.0,
        description="Multiplier on every sector's dependence share (capped at 1), for sweeps and calibration.",
    )
    criticality: Share = Field(
        0.5,
        description="Strength of downstream propagation: share of a customer's output lost per unit of lost domestic supply of a critical input.",
    )
    critical_input_min_share: Share = Field(
        0.03,
        description="An input is critical to a customer if it is at least this share of the customer's output (input coefficient).",
    )
    allocation: Literal["proportional", "priority", "value_added"] = Field(
        "proportional",
        description="How scarce material is shared among sectors: proportional to demand, priority sectors first, or value_added (the shares that minimise the month's GDP loss, a linear program).",
    )
    priority_sectors: list[str] = Field(
        [], description="allocation = 'priority': sector codes served in full first, in this order; strategy = 'reserve_for_priority': the sectors national releases are earmarked for.",
    )


class Distribution(_Model):
    """An uncertain parameter's distribution (scipy.stats)."""

    dist: Literal["uniform", "triangular", "normal", "lognormal"]
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0.0)

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
        if self.dist in ("uniform", "triangular") and not self.low <= self.high:
            raise ValueError("low must not exceed high")
        if self.dist == "triangular" and not self.low <= self.mode <= self.high:
            raise ValueError("mode must lie between low and high")
        if self.dist == "lognormal" and self.mean <= 0:
            raise ValueError("lognormal needs a positive mean")
        return self


class Scenario(_Model):
    """A complete, validated scenario. Build with :func:`load_scenario`."""

    name: str = Field("", description="Short label used in tables and plots.")
    description: str = Field("", description="What the scenario represents.")
    base: str | None = Field(None, description="A scenario file to inherit from (relative to this file).")
    horizon_months: int = Field(36, ge=1, le=600, description="Simulated months.")
    steps_per_month: int = Field(
        4, ge=1, le=31,
        description="Internal time steps per month (4 = about weekly, so a half-month lead-time change matters).",
    )
    start_date: str = Field("2026-01", pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Calendar month of month 0, YYYY-MM.")
    restriction: Restriction = Restriction()
    materials: dict[str, Material] = Field(..., min_length=1)
    inventory: Inventory = Inventory()
    stockpile: Stockpile = Stockpile()
    alternative_supply: AlternativeSupply = AlternativeSupply()
    substitution: Substitution = Substitution()
    economy: Economy = Economy()
    allies: Allies = Allies()
    uncertainty: dict[str, Distribution] = Field(
        {},
        description="Distributions of uncertain parameters for Monte Carlo, keyed by dotted key.",
    )
    source_file: str | None = Field(None, description="Set by the loader.", exclude=True)
    source_sha256: str | None = Field(None, description="Set by the loader.", exclude=True)

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
        return resolve_data_files(self.economy.table, self.economy.dependence_file, self.source_file)

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
        return _validate(raw, self.source_file or "<scenario>", origins,
                         source_file=self.source_file, sha=self.source_sha256)


def _check_uncertain_key(scenario: Scenario, key: str) -> None:
    try:
        value = scenario.get(key)
    except ScenarioError as exc:
        raise ValueError(f"uncertainty: {key!r}: {exc.message}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"uncertainty: {key!r} is not a number, so it cannot be sampled")


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

DEFAULT_SCENARIO = "japan-one-year.toml"


def bundled_scenario_path(name: str = DEFAULT_SCENARIO) -> Path:
    """Path of a scenario bundled with the package (works outside a checkout)."""
    return Path(str(resources.files("simulator") / "scenarios" / name))


def _material_defaults() -> dict[str, dict]:
    text = (resources.files("simulator") / "data" / "materials.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _read_toml(path: Path, key: str | None = None) -> dict:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError("file not found", file=str(path), key=key) from None
    except IsADirectoryError:
        raise ScenarioError("is a directory, not a scenario file", file=str(path), key=key) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read: {exc.strerror}", file=str(path), key=key) from None
    if not data.strip():
        raise ScenarioError("the file is empty; a scenario needs at least one TOML key (or use the defaults with no file)", file=str(path))
    try:
        text = data.decode("utf-8-sig")  # -sig: editors on Windows prepend a byte-order mark
    except UnicodeDecodeError:
        raise ScenarioError("not a text file (invalid UTF-8); scenario files are TOML", file=str(path)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"invalid TOML: {exc}", file=str(path)) from None
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise ScenarioError("invalid TOML: arrays or tables nested too deeply", file=str(path)) from None


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


def _read_chain(path: Path, origins: dict, seen: tuple[Path, ...] = ()) -> dict:
    """Read a scenario file and, first, the base files it names."""
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in seen + (resolved,))
        raise ScenarioError(f"base files include each other ({chain})", file=str(path), key="base")
    raw = _read_toml(path)
    merged: dict = {}
    base = raw.get("base")
    if base is not None:
        if not isinstance(base, str) or not base:
            raise ScenarioError("must be a file name (string)", file=str(path), key="base")
        base_path = (path.parent / base)
        if not base_path.is_file():
            raise ScenarioError(f"base file {base!r} not found (looked at {base_path})", file=str(path), key="base")
        merged = _read_chain(base_path, origins, seen + (resolved,))
    _merge(merged, raw, origins, str(path))
    return merged


def parse_override_value(text: str) -> Any:
    """Parse the value of ``--set key=value`` as a TOML value, else keep it as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _apply_overrides(raw: dict, overrides: dict[str, Any] | None, origins: dict) -> None:
    for dotted, value in (overrides or {}).items():
        parts = dotted.split(".")
        if not dotted or any(not p for p in parts):
            raise ScenarioError("not a dotted key path (e.g. restriction.duration_months)", file="--set", key=dotted)
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
        node[parts[-1]] = copy.deepcopy(value)
        _mark(value, origins, "--set", tuple(parts))


def load_scenario(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, merge and validate a scenario file.

    Parameters
    ----------
    path : str or Path, optional
        A TOML scenario file. ``None`` loads the bundled default
        (``japan-one-year.toml``: a one-year full restriction from 2026).
    overrides : dict, optional
        Dotted keys and values applied on top, e.g.
        ``{"restriction.duration_months": 6}``.

    Returns
    -------
    Scenario
        The validated, immutable scenario.

    Raises
    ------
    ScenarioError
        With the file, the dotted key and what is allowed.
    """
    path = bundled_scenario_path() if path is None else Path(path)
    origins: dict[tuple, str] = {}
    raw = _read_chain(path, origins)
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
            raise ScenarioError("must be a table", file=origins.get(("materials", mid), str(path)), key=f"materials.{mid}")
        entry.update(user)
        merged_materials[mid] = entry
    raw["materials"] = merged_materials
    _apply_overrides(raw, overrides, origins)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    scenario = _validate(raw, str(path), origins, source_file=str(path), sha=sha, strict=True)
    _check_data_paths(scenario)
    return scenario


def _check_data_paths(s: Scenario) -> None:
    """Custom data paths resolve relative to the scenario file; a missing one fails at load."""
    base = Path(s.source_file).parent
    checks = [("economy.dependence_file", s.economy.dependence_file, Path.is_file, "file")]
    if s.economy.table not in BUNDLED_TABLES:
        checks.append(("economy.table", s.economy.table, Path.is_dir, "table directory"))
    for key, value, exists, kind in checks:
        if value:
            where = Path(value) if Path(value).is_absolute() else base / value
            if not exists(where):
                raise ScenarioError(f"{kind} {value!r} not found (looked at {where}; relative paths "
                                    "start at the scenario file's directory)", file=s.source_file, key=key)


def _validate(raw: dict, file: str, origins: dict, source_file: str | None, sha: str | None,
              strict: bool = False) -> Scenario:
    raw = dict(raw)
    raw["source_file"] = source_file
    raw["source_sha256"] = sha
    try:
        # strict for files and --set: `true` or "12" is not a number of months
        return Scenario.model_validate(raw, strict=strict)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise _to_scenario_error(err, file, origins) from None


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
                model = ann.__args__[1]
            else:
                return None, None
        else:
            # inside a dict of models: the part is the dict key
            continue
    return (model if isinstance(model, type) and issubclass(model, BaseModel) else None), None


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _to_scenario_error(err: dict, file: str, origins: dict) -> ScenarioError:
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
        for n in range(len(key.split(".")) if key else 0, 0, -1):
            if tuple(key.split("."))[:n] in origins:
                origin = origins[tuple(key.split("."))[:n]]
                break
    got = err.get("input")
    if etype not in ("model_type", "dict_type") and not isinstance(got, (dict, list)) and got is not None:
        msg = f"{msg} (got {got!r})"
    return ScenarioError(msg, file=origin, key=key)


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def json_schema() -> dict:
    """The JSON Schema of scenario files (for editors' autocompletion)."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["title"] = "resim scenario file"
    props = schema.get("properties", {})
    for internal in ("source_file", "source_sha256"):
        props.pop(internal, None)
    if "required" in schema:
        schema["required"] = [r for r in schema["required"] if r != "materials"]
    return schema
