"""Stored outputs of the engine, to check that performance work changes no number.

``tests/data/engine_reference.npz`` holds, for a set of batches that cover
every code path of the engine (stockpile strategies including
``reserve_for_priority``, pooled stocks, the four allocation rules, allied
sharing, severity profiles, monthly steps, the 185-sector table, no
critical-input links, random draws of every numeric key including held
cargo, restart lag, catch-up and the softening channels), the full
parameter tables and every array of the
:class:`~simulator.core.engine.BatchResult` (net and gross losses, each
application's loss share, each firm group's shortfall, held cargo).

History: first generated with the engine as of commit 14d43b6, *before* any
vectorisation work; regenerated for an intended model change (severity
withholds a share of Chinese shipments, only the covered share waits the
restricted lead time, the on_shortage rule also triggers on the first
shortfall); regenerated again for model v2 (commit b7c4d2d: severity as a
volume cap, firm groups as the applications of the use table, allocation in
the material loop, held cargo, restart lag, catch-up, softening channels).
The values come from running the numpy loop of that engine::

    python tests/engine_reference.py

``tests/test_engine_reference.py`` checks that both the numpy and the
compiled (numba) material loop reproduce them. Regenerate the file only
when a model change is intended (and say so in the commit), never to make a
performance change pass.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

PATH = Path(__file__).parent / "data" / "engine_reference.npz"

SUPPLY_FIELDS = (
    "demand_baseline_t", "demand_t", "arrivals_china_t", "arrivals_other_t", "arrivals_national_t",
    "use_t", "shortfall_t", "release_t", "corporate_stock_t", "national_stock_t", "held_t",
    "group_shortfall_t", "opening_corporate_t", "opening_national_t", "first_shortage_month",
    "group_first_shortage_month", "allied_shipped_t",
)
RESULT_FIELDS = (
    "gdp_loss_jpy_bn", "gdp_loss_gross_jpy_bn", "output_loss_jpy_bn", "output_loss_gross_jpy_bn",
    "sector_output_loss_jpy_bn", "sector_gdp_loss_jpy_bn", "sector_gdp_loss_gross_jpy_bn",
    "sector_monthly_output_loss_jpy_bn", "application_loss_share",
)

#: name -> (structural overrides for load_scenario, scenarios, seed; None = the defaults)
CASES = {
    "defaults_37": ({}, 2, None),
    "on_shortage_37": ({}, 24, 1),
    "immediate_37": ({"stockpile.national.strategy": "immediate"}, 12, 2),
    "none_37": ({"stockpile.national.strategy": "none"}, 6, 3),
    "pooled_37": ({"inventory.pooled": True}, 8, 4),
    "priority_37": ({"economy.allocation": "priority", "economy.priority_sectors": ["31", "32", "30"]}, 8, 5),
    "profile_37": ({"restriction.severity": [0.4, 1.0, 0.7], "restriction.duration_months": 9.0}, 6, 6),
    "monthly_steps_37": ({"steps_per_month": 1, "horizon_months": 24}, 6, 7),
    "sectors_185": ({"economy.table": "mic2015_185"}, 8, 8),
    "no_criticality_37": ({"economy.criticality": 0.0}, 8, 9),
    "proportional_37": ({"economy.allocation": "proportional"}, 8, 10),
    "value_added_37": ({"economy.allocation": "value_added"}, 8, 11),
    "reserve_37": ({"stockpile.national.strategy": "reserve_for_priority", "economy.priority_sectors": ["35"]},
                   8, 12),
    "pooled_priority_37": ({"inventory.pooled": True, "economy.allocation": "priority",
                            "economy.priority_sectors": ["35", "32"]}, 6, 13),
    "allies_37": ({"allies.stock_days": 45.0}, 8, 14),
}


def _draws(rng: np.random.Generator, n: int, materials, profile: bool, allies: bool = False) -> dict[str, np.ndarray]:
    """Random values of the numeric keys, inside their allowed ranges."""
    lead_n = rng.uniform(0.3, 2.5, n)
    d = {
        "restriction.start_month": rng.choice([0.0, 1.0, 2.5, 5.25], n),
        "restriction.lead_time_normal_months": lead_n,
        "restriction.lead_time_restricted_months": lead_n + rng.uniform(0.0, 3.0, n),
        "restriction.transit_months": rng.uniform(0.0, 1.0, n),
        "restriction.held_share": rng.choice([0.0, 0.0, 0.4, 1.0], n),
        "inventory.cover_scale": rng.uniform(0.2, 1.5, n),
        "inventory.restock_months": rng.uniform(0.5, 6.0, n),
        "stockpile.national.cover_days": rng.uniform(0.0, 60.0, n),
        "stockpile.national.trigger_cover_months": rng.uniform(0.0, 3.0, n),
        "stockpile.national.decision_delay_months": rng.uniform(0.0, 3.0, n),
        "stockpile.national.max_release_share_per_month": rng.uniform(0.05, 1.0, n),
        "stockpile.national.refill_months": rng.choice([0.0, 6.0, 24.0], n),
        "alternative_supply.delay_months": rng.uniform(0.0, 6.0, n),
        "alternative_supply.ramp_months": rng.choice([0.0, 6.0, 12.0], n),
        "substitution.delay_months": rng.uniform(0.0, 6.0, n),
        "substitution.ramp_months": rng.choice([0.0, 12.0], n),
        "economy.criticality_scale": rng.uniform(0.6, 1.4, n),
        "economy.reallocation": rng.uniform(0.0, 1.0, n),
        "recovery.ramp_months": rng.choice([0.0, 0.5, 1.0, 3.0], n),
        "recovery.deferred_scale": rng.uniform(0.0, 1.5, n),
        "recovery.capacity_ceiling": rng.uniform(1.05, 1.25, n),
        "softening.imported_components": rng.uniform(0.0, 1.0, n),
        "softening.leakage_share": rng.uniform(0.0, 0.25, n),
        "softening.leakage_months": rng.choice([0.0, 3.0, 6.0, 12.0], n),
        "softening.overseas_share": rng.uniform(0.0, 0.15, n),
        "softening.overseas_months": rng.choice([0.0, 3.0, 6.0, 12.0], n),
    }
    if not profile:
        d["restriction.duration_months"] = rng.choice([0.0, 3.0, 7.5, 12.0, 12.0, 20.0], n)
        d["restriction.severity"] = rng.uniform(0.3, 1.0, n)
    if allies:
        d["allies.stock_days"] = rng.uniform(0.0, 90.0, n)
        d["allies.delay_months"] = rng.uniform(0.0, 4.0, n)
        d["allies.max_share_per_month"] = rng.uniform(0.05, 1.0, n)
    for m in materials:
        d[f"materials.{m}.china_share"] = rng.uniform(0.3, 1.0, n)
        d[f"materials.{m}.restriction_scope_share"] = rng.uniform(0.5, 1.0, n)
        d[f"materials.{m}.china_max_ratio"] = rng.uniform(1.0, 2.0, n)
        d[f"materials.{m}.substitution_max_share"] = rng.uniform(0.0, 0.2, n)
        d[f"materials.{m}.alternative_capacity_share"] = rng.uniform(0.0, 0.15, n)
        d[f"materials.{m}.corporate_cover_scale"] = rng.uniform(0.3, 1.2, n)
        d[f"materials.{m}.criticality_scale"] = rng.uniform(0.5, 1.5, n)
    return d


def case_table(name: str):
    """The parameter table of a case, drawn afresh (used to build the file)."""
    import simulator
    from simulator.core.params import with_values

    overrides, n, seed = CASES[name]
    base = simulator.load_scenario(overrides=dict(overrides))
    if seed is None:
        return with_values(base, n, {})
    rng = np.random.default_rng(seed)
    draws = _draws(rng, n, list(base.materials), "restriction.severity" in overrides,
                   allies="allies.stock_days" in overrides)
    return with_values(base, n, draws)


def stored_table(name: str, data):
    """The stored parameter table of a case; keys added to the schema since
    the file was made keep their defaults."""
    import simulator
    from simulator.core.params import ParamTable, with_values

    overrides, n, _ = CASES[name]
    base = simulator.load_scenario(overrides=dict(overrides))
    table = with_values(base, n, {})
    values = dict(table.values)
    prefix = f"{name}/param/"
    for key in data.files:
        if key.startswith(prefix):
            values[key[len(prefix):]] = data[key]
    return ParamTable(spec=table.spec, values=values)


def result_arrays(res) -> dict[str, np.ndarray]:
    """Every array of a BatchResult, flat; fields that are None (no allies) are left out."""
    out = {f: getattr(res.supply, f) for f in SUPPLY_FIELDS}
    out.update({f: getattr(res, f) for f in RESULT_FIELDS})
    return {k: v for k, v in out.items() if v is not None}


def main() -> None:
    # The reference is the numpy loop's (the compiled loop is checked against it).
    os.environ["RESIM_ENGINE"] = "numpy"
    from simulator.core.engine import simulate

    arrays = {}
    for name in CASES:
        table = case_table(name)
        res = simulate(table, keep_sector_paths=True)
        for key, value in table.values.items():
            arrays[f"{name}/param/{key}"] = value
        for key, value in result_arrays(res).items():
            arrays[f"{name}/out/{key}"] = value
        print(f"{name}: {table.size} scenarios, mean GDP loss {res.gdp_loss_pct.mean():.4f}% "
              f"(gross {res.gdp_loss_gross_pct.mean():.4f}%)")
    PATH.parent.mkdir(exist_ok=True)
    np.savez_compressed(PATH, **arrays)
    print(f"wrote {PATH} ({PATH.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
