"""The shipped (calibrated) model against history: 2010 and April-July 2025.

Bands and their justification are in docs/validation.md; row numbers are
domain facts (docs/domain-facts.md).
"""

from pathlib import Path

import numpy as np
import pytest

import simulator

ROOT = Path(__file__).parent.parent
WEEKS_PER_MONTH = 365.25 / 12 / 7

#: 2010: no stoppage was reported (6.6). 0.005 % of GDP (~30 bn yen) is about one day of
#: the car industry's value added (7.6), which would have been a reported stoppage.
MAX_LOSS_2010_PCT = 0.005
#: 2010: Chinese supply missing over Oct 2010 - Jan 2011 (shortfalls below baseline, summed),
#: in months of baseline, from the import series (6.3): 1.36 with September (2,246 t) as the
#: baseline (0.43 + 0.72 + 0 + 0.21), 0.85 with the 2010 average (1,667 t) (0.23 + 0.62 + 0 + 0).
MISSING_2010_MONTHS = (0.85, 1.36)
#: 2025: Suzuki stopped 7.4 weeks after the start (5.8), European plants from ~8.7 weeks
#: (3.12, 5.10); +-1.5 weeks for the weekly step and the UNVERIFIED April severity.
FIRST_STOCKOUT_2025_WEEKS = (6.0, 10.0)
#: 2025: one model line stopped for three weeks (5.8), so the loss is above zero; well under
#: a week of the whole car industry's value added (~0.03 % of GDP, 7.6), which was not seen.
MAX_LOSS_2025_PCT = 0.03


@pytest.fixture(scope="module")
def case2010():
    sc = simulator.load_scenario(ROOT / "scenarios" / "validation-2010.toml")
    return sc, simulator.run(sc, keep_sector_paths=False)


@pytest.fixture(scope="module")
def case2025():
    sc = simulator.load_scenario(ROOT / "scenarios" / "validation-2025.toml")
    return sc, simulator.run(sc, keep_sector_paths=False)


def test_validation_cases_use_the_shipped_calibration(case2010, case2025):
    default = simulator.load_scenario()
    for sc, _ in (case2010, case2025):
        assert sc.economy.dependence_scale == default.economy.dependence_scale
        assert sc.economy.dependence_scale != 1.0


def test_2010_halt_leaves_no_gdp_loss(case2010):
    sc, res = case2010
    assert sc.start_date == "2010-09" and sc.restriction.severity == [0.43, 0.72]
    assert res.summary["gdp_loss_pct"] <= MAX_LOSS_2010_PCT


def test_2010_missing_chinese_supply_matches_the_import_series(case2010):
    sc, res = case2010
    mm = res.materials_monthly
    arrivals = mm.groupby("month")["arrivals_china_t"].sum().to_numpy()
    baseline = sum(m.demand_t_per_month * m.china_share for m in sc.materials.values())
    missing = np.clip(1.0 - arrivals[1:5] / baseline, 0.0, None).sum()   # Oct 2010 - Jan 2011
    lo, hi = MISSING_2010_MONTHS
    assert lo <= missing <= hi
    # October, the first month of the halt, is matched month by month (observed 1,278/2,246 = 0.57)
    assert arrivals[1] / baseline == pytest.approx(1278 / 2246, abs=0.05)


def test_2025_first_stockouts_among_the_leanest_firms(case2025):
    sc, res = case2025
    groups = res.batch.supply.group_first_shortage_month[0]            # (materials, firm groups)
    weeks = (groups - sc.restriction.start_month) * WEEKS_PER_MONTH
    lean = int(np.argmin(sc.inventory.cover_months))
    first = weeks.min()
    assert np.isfinite(first)
    assert weeks[:, lean].min() == first                               # the leanest go first
    lo, hi = FIRST_STOCKOUT_2025_WEEKS
    assert lo <= first <= hi
    # the controlled heavy rare earths are among the first (5.1)
    dytb = list(sc.materials).index("dytb")
    assert lo <= weeks[dytb, lean] <= hi
    # firms holding three months or more ran through (Shin-Etsu kept full capacity, 5.11)
    stocked = np.asarray(sc.inventory.cover_months) >= 3.0
    assert not np.isfinite(weeks[:, stocked]).any()


def test_2025_aggregate_loss_is_small_but_not_zero(case2025):
    _, res = case2025
    loss = res.summary["gdp_loss_pct"]
    assert 0.0 < loss < MAX_LOSS_2025_PCT
