"""The explorer's logic, free of any web framework: controls, runs, caches, export.

A *setting* is a dict control id -> value. :func:`overrides_for` turns it
into dotted-key overrides of the loaded scenario (only the controls moved
from their initial values), :class:`Session` runs it (central value at once,
the band separately, both cached), and :func:`scenario_toml` writes the
current scenario as a TOML file that ``resim run`` reproduces.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.report.format import month_label

TABLES = ("mic2015_37", "mic2015_185")


@dataclass(frozen=True)
class Control:
    """One input: a slider (number) or a choice."""

    id: str
    key: str
    label: str
    kind: str                      # "slider" | "choice"
    min: float = 0.0
    max: float = 1.0
    step: float = 1.0
    options: tuple = ()
    help: str = ""


def controls_for(sc) -> list[Control]:
    """The explorer's inputs for a scenario (ranges cover its own values)."""
    r, nat = sc.restriction, sc.stockpile.national
    strategies = ["on_shortage", "immediate", "none"]
    allocations = ["proportional", "market", "value_added"]
    if sc.economy.priority_sectors:
        strategies.insert(2, "reserve_for_priority")
        allocations.insert(2, "priority")
    tables = list(TABLES) if sc.economy.table in TABLES else [sc.economy.table, *TABLES]

    def top(value, default):
        return max(default, math.ceil(value))

    return [
        Control("duration", "restriction.duration_months", "Restriction length (months)", "slider",
                0, top(r.duration_months, 36), 0.5),
        Control("severity", "restriction.severity", "Share of Chinese shipments withheld", "slider", 0, 1, 0.05,
                help="1 = all shipments stop"),
        Control("start", "restriction.start_month", "Restriction starts (months after the horizon start)",
                "slider", 0, sc.horizon_months - 1, 0.25),
        Control("lead_normal", "restriction.lead_time_normal_months", "Lead time, normal (months)", "slider",
                0.25, top(r.lead_time_normal_months, 6), 0.25),
        Control("lead_restricted", "restriction.lead_time_restricted_months",
                "Lead time under restriction (months)", "slider", 0.25, top(r.lead_time_restricted_months, 12), 0.25),
        Control("stock_days", "stockpile.national.cover_days", "National stockpile (days of demand)", "slider",
                0, top(nat.cover_days, 365), 5),
        Control("strategy", "stockpile.national.strategy", "Stockpile release rule", "choice",
                options=tuple(strategies)),
        Control("max_release", "stockpile.national.max_release_share_per_month",
                "Largest monthly release (months of demand per month)", "slider", 0.05,
                top(nat.max_release_share_per_month, 2), 0.05),
        Control("cover_scale", "inventory.cover_scale", "Corporate inventory cover (x default)", "slider",
                0, top(sc.inventory.cover_scale, 3), 0.05),
        Control("allies", "allies.stock_days", "Allied sharing (days of Japan's demand)", "slider",
                0, top(sc.allies.stock_days, 180), 5),
        Control("allocation", "economy.allocation", "Allocation of scarce material", "choice",
                options=tuple(allocations)),
        Control("table", "economy.table", "Input-output table", "choice", options=tuple(tables)),
    ]


def initial_settings(sc, controls: list[Control]) -> dict[str, Any]:
    """The scenario's value of each control, by control id (a monthly severity profile: its mean)."""
    out = {}
    for c in controls:
        v = sc.get(c.key)
        if isinstance(v, list):              # a monthly severity profile: its mean as the slider's start
            v = round(sum(v) / len(v), 4)
        out[c.id] = float(v) if c.kind == "slider" else v
    return out


def overrides_for(settings: dict, initial: dict, controls: list[Control]) -> dict[str, Any]:
    """Dotted-key overrides for the controls moved away from their initial values."""
    out = {}
    for c in controls:
        v = settings.get(c.id)
        if v is None or v == "":
            continue
        if c.kind == "slider":
            v = float(v)
            if math.isclose(v, float(initial[c.id]), rel_tol=0, abs_tol=1e-12):
                continue
        elif v == initial[c.id]:
            continue
        out[c.key] = v
    return out


def settings_key(settings: dict, controls: list[Control]) -> tuple:
    """A hashable cache key for the settings of the controls (sliders rounded to 9 decimals; unset ones left out)."""
    return tuple((c.id, round(float(settings[c.id]), 9) if c.kind == "slider" else settings[c.id])
                 for c in controls if settings.get(c.id) not in (None, ""))


class _LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def get_or(self, key, make):
        with self.lock:
            if key in self:
                self.move_to_end(key)
                return self[key]
        value = make()
        with self.lock:
            self[key] = value
            while len(self) > self.size:
                self.popitem(last=False)
        return value

    def peek(self, key):
        with self.lock:
            return self.get(key)


@dataclass
class Central:
    """The run of one setting (no band)."""

    scenario: Any
    result: Any
    overrides: dict
    seconds: float


@dataclass
class Session:
    """A loaded scenario and the caches of its runs and bands.

    Parameters
    ----------
    base : Scenario
        The scenario the explorer was started with.
    draws : int
        Monte Carlo draws of the band (``value_added_draws`` for the value_added rule,
        whose linear programs make each run ~20 times slower).
    sector_draws : int
        Draws re-run in full for the sector band (each ~30 ms).
    """

    base: Any
    draws: int = 200
    value_added_draws: int = 40
    sector_draws: int = 20
    seed: int = 0
    controls: list = field(default_factory=list)
    initial: dict = field(default_factory=dict)

    def __post_init__(self):
        self.controls = controls_for(self.base)
        self.initial = initial_settings(self.base, self.controls)
        self._runs = _LRU(64)
        self._bands = _LRU(64)
        self._sectors = _LRU(64)
        self._band_lock = threading.Lock()

    # -- runs ---------------------------------------------------------------
    def scenario_for(self, settings: dict):
        """The scenario for some settings, and the dotted-key overrides that make it from the loaded one."""
        over = overrides_for(settings, self.initial, self.controls)
        return self.base.with_overrides(over) if over else self.base, over

    def central(self, settings: dict) -> Central:
        """Run one setting (cached); raises ResimError for invalid combinations."""
        from simulator.core.runner import run

        def make():
            t = time.perf_counter()
            sc, over = self.scenario_for(settings)
            res = run(sc)
            return Central(sc, res, over, time.perf_counter() - t)

        return self._runs.get_or(settings_key(settings, self.controls), make)

    def band(self, settings: dict):
        """The band of one setting (cached; one at a time, so the two cores stay free for runs)."""
        from simulator.report.band import band_of

        key = settings_key(settings, self.controls)
        hit = self._bands.peek(key)
        if hit is not None:
            return hit
        c = self.central(settings)
        n = self.value_added_draws if c.scenario.economy.allocation == "value_added" else self.draws
        with self._band_lock:
            return self._bands.get_or(key, lambda: band_of(c.scenario, result=c.result, n=n, seed=self.seed,
                                                           sector_draws=0, exact_timing=False))

    def sector_band(self, settings: dict):
        """Sector band of one setting from ``sector_draws`` full runs (cached)."""
        from simulator.report.band import sector_band

        key = settings_key(settings, self.controls)
        hit = self._sectors.peek(key)
        if hit is not None:
            return hit
        c, b = self.central(settings), self.band(settings)
        return self._sectors.get_or(key, lambda: sector_band(c.scenario, c.result, b.draws, self.sector_draws))

    def cached_sectors(self, settings: dict):
        """The sector band of one setting if it is cached, else None (never computes)."""
        return self._sectors.peek(settings_key(settings, self.controls))

    def cached_band(self, settings: dict):
        """The band of one setting if it is cached, else None (never computes)."""
        return self._bands.peek(settings_key(settings, self.controls))

    def warm_up(self) -> None:
        """Run and band the initial setting in the background, so the first slider move is as fast as the rest.

        It loads what a first answer would otherwise wait for: the structure cache, pandas (the
        figures read the tidy monthly tables) and the band's batch.
        """
        def work():
            try:
                _ = self.central(dict(self.initial)).result.economy_monthly
                self.band(dict(self.initial))
            except Exception:  # noqa: BLE001  (a warm-up failure shows up again in the first callback)
                pass
        threading.Thread(target=work, name="resim-explore-warmup", daemon=True).start()

    def month_label(self, sc, month) -> str:
        """Calendar month of month index ``month`` of scenario ``sc``."""
        return month_label(sc.start_date, month)


def scenario_toml(sc, base, overrides: dict) -> str:
    """The scenario as a complete TOML file (no ``base``) that ``resim run`` reproduces."""
    import tomli_w

    data = sc.model_dump(mode="json", exclude_none=True, exclude={"base"})
    src_dir = Path(base.source_file).resolve().parent if base.source_file else Path.cwd()
    econ = data.get("economy", {})
    if econ.get("table") not in TABLES and econ.get("table"):
        econ["table"] = str((src_dir / econ["table"]).resolve())
    if econ.get("dependence_file"):
        econ["dependence_file"] = str((src_dir / econ["dependence_file"]).resolve())
    if not data.get("uncertainty"):
        data.pop("uncertainty", None)
    from simulator.io.text import clip, one_line

    lines = [
        "Exported by resim explore. Run it with:  resim run THIS_FILE.toml",
        f"Started from: {Path(base.source_file).name if base.source_file else 'the bundled default'}"
        + (f" (sha256 {base.source_sha256[:12]})" if base.source_sha256 else ""),
    ]
    if overrides:
        lines.append("Changed in the explorer:")
        lines += [f"  {k} = {clip(repr(v), 200)}" for k, v in overrides.items()]
    else:
        lines.append("Nothing was changed in the explorer.")
    lines.append("Every value is written out, so this file does not depend on a base file.")
    # one_line: a newline in a file name or value must not end the comment and start a key
    return "\n".join("# " + one_line(line) for line in lines) + "\n\n" + tomli_w.dumps(data)
