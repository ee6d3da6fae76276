"""Every run carries its band (issue 13): posterior draws, combination, rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.core.bands import band_values, decimals_for, format_band, round_frame
from simulator.io.posterior import load_posterior
from simulator.io.scenario import bundled_scenario_path


@pytest.fixture(scope="module")
def default_run():
    return simulator.run(simulator.load_scenario())


def test_run_reports_central_and_band_keys(default_run):
    s = default_run.summary
    for metric in ("gdp_loss_pct", "gdp_loss_jpy_bn"):
        assert s[f"{metric}_p05"] < s[f"{metric}_p50"] < s[f"{metric}_p95"]
        assert s[f"{metric}_p05"] <= s[metric] <= s[f"{metric}_p95"]
    assert s["band_draws"] == 200
    # yen and percent bands are the same draws
    ratio = s["gdp_loss_jpy_bn_p95"] / s["gdp_loss_pct_p95"]
    assert ratio == pytest.approx(s["gdp_jpy_bn"] / 100, rel=1e-9)


def test_done_when_nri_inside_default_band_and_2010_below_bound(default_run):
    s = default_run.summary
    assert s["gdp_loss_pct_p05"] <= 0.43 <= s["gdp_loss_pct_p95"]
    halt = simulator.run(simulator.load_scenario(bundled_scenario_path("validation-2010.toml"))).summary
    assert halt["gdp_loss_pct_p95"] < 0.02


def test_no_band_when_draws_zero():
    r = simulator.run(simulator.load_scenario(), draws=0)
    assert "gdp_loss_pct_p05" not in r.summary and r.summary["band_draws"] == 0
    assert not any(c.endswith("_p05") for c in r.economy_monthly.columns)
    assert r.draws is None


def test_band_tables_have_ordered_columns(default_run):
    em = default_run.economy_monthly
    for var in ("gdp_loss_jpy_bn", "cumulative_gdp_loss_pct"):
        assert (em[f"{var}_p05"] <= em[f"{var}_p95"] + 1e-12).all()
    sec = default_run.sectors
    assert (sec["gdp_loss_jpy_bn_p05"] <= sec["gdp_loss_jpy_bn_p95"] + 1e-12).all()
    # the cumulative band at the horizon's end is the summary's band
    last = em.iloc[-1]
    assert last["cumulative_gdp_loss_pct_p95"] == pytest.approx(default_run.summary["gdp_loss_pct_p95"], rel=1e-9)


def test_keys_the_scenario_sets_are_not_drawn():
    sc = simulator.load_scenario().with_overrides({"inventory.cover_scale": 1.3})
    values = band_values(sc, 50)
    assert "inventory.cover_scale" not in values
    assert "recovery.deferred_scale" in values
    r = simulator.run(sc, draws=50)
    assert set(r.draws.columns) >= set(values)
    assert "inventory.cover_scale" not in r.draws.columns


def test_user_uncertainty_combines_with_the_posterior(tmp_path):
    f = tmp_path / "u.toml"
    f.write_text(f'base = "{bundled_scenario_path("japan-one-year.toml").as_posix()}"\n'
                 '[uncertainty]\n'
                 '"stockpile.national.decision_delay_months" = {dist = "uniform", low = 0.5, high = 1.5}\n')
    sc = simulator.load_scenario(f)
    values = band_values(sc, 100)
    assert "stockpile.national.decision_delay_months" in values and "inventory.cover_scale" in values
    assert values["stockpile.national.decision_delay_months"].min() >= 0.5


def test_same_seed_same_band_and_sweep_matches_run():
    sc = simulator.load_scenario()
    a = simulator.run(sc, draws=60, seed=3).summary
    b = simulator.run(sc, draws=60, seed=3).summary
    assert a["gdp_loss_pct_p95"] == b["gdp_loss_pct_p95"]
    df = simulator.sweep(sc, {"restriction.duration_months": [6, 12]}, draws=60, seed=3)
    row = df[df["restriction.duration_months"] == 12].iloc[0]
    for k in ("gdp_loss_pct", "gdp_loss_pct_p05", "gdp_loss_pct_p95"):
        assert row[k] == pytest.approx(a[k], rel=1e-9)
    # common draws: the band is monotone in duration
    assert (df["gdp_loss_pct_p95"].diff().dropna() > 0).all()


def test_posterior_file_is_a_full_table():
    draws, info = load_posterior()
    n = {len(v) for v in draws.values()}
    assert n == {info["n_draws"]}
    assert info["effective_sample_size"] > 500


@pytest.mark.parametrize(("lo", "hi", "decimals"), [(0.2, 1.1, 1), (0.36, 1.06, 1), (0.009, 0.128, 2),
                                                   (0.009, 0.6, 1), (1200, 3400, -2), (2221, 6464, -3),
                                                   (0.5, 0.5, 2)])
def test_decimals_follow_the_band_width(lo, hi, decimals):
    assert decimals_for(lo, hi) == decimals


def test_format_band_reads_like_a_sentence():
    assert format_band(0.705, 0.365, 1.061, "%") == "0.7 % (90 % band 0.4–1.1 %)"
    assert format_band(4295, 2221, 6464, "bn yen", thousands=True) == "4,000 bn yen (90 % band 2,000–6,000 bn yen)"
    assert format_band(0.03, 0.009, 0.128, "%") == "0.03 % (90 % band 0.01–0.13 %)"
    assert format_band(0.0, 0.0, 0.0, "%") == "0 % (in every draw)"
    assert format_band(None, 0, 1) == "n/a"


def test_round_frame_rounds_each_column_to_its_narrowest_band():
    df = pd.DataFrame({"x": [0.7051, 1.7243], "x_p05": [0.3651, 0.866], "x_p95": [1.0612, 2.711],
                       "other": [1.23456, 2.0]})
    out = round_frame(df)                  # narrowest width 0.70: one decimal
    assert out["x"].tolist() == [0.7, 1.7]
    assert out["other"].tolist() == [1.23456, 2.0]
    assert np.allclose(out["x_p05"], [0.4, 0.9])


def test_first_order_indices_on_a_known_function():
    from simulator.analysis.drivers import first_order_indices

    rng = np.random.default_rng(0)
    x1, x2, x3 = rng.uniform(-1, 1, (3, 20000))
    y = 3 * x1 + x2 + 0.0 * x3
    s = first_order_indices({"x1": x1, "x2": x2, "x3": x3}, y)
    assert s["x1"] == pytest.approx(0.9, abs=0.02)        # 9 / (9 + 1)
    assert s["x2"] == pytest.approx(0.1, abs=0.02)
    assert s["x3"] == pytest.approx(0.0, abs=0.01)
    assert first_order_indices({"x": x1}, np.zeros(100)) == {"x": 0.0}


def test_band_drivers_rank_the_posterior_parameters():
    from simulator.analysis.drivers import band_drivers

    df = band_drivers(simulator.load_scenario(), draws=600)
    assert len(df) >= 10 and (df["first_order"].diff().dropna() <= 0).all()
    assert ((df["band_narrowing_pct"] >= 0) & (df["band_narrowing_pct"] <= 100)).all()
    # the criticality scale (the level of every line's response) is among the main drivers
    assert "economy.criticality_scale" in df["parameter"].head(4).tolist()
