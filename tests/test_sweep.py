"""Sweeps, Monte Carlo and the sweep/compare CLI."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import invoke

import simulator
from simulator.analysis.sweep import (
    monthly_percentiles,
    rank_correlations,
    sample_values,
    summarize_samples,
)
from simulator.core.results import summary_arrays
from simulator.errors import ScenarioError
from simulator.io.posterior import load_posterior
from simulator.io.scenario import Distribution

ROOT = Path(__file__).resolve().parents[1]
UNCERTAIN = ROOT / "scenarios" / "japan-one-year-uncertain.toml"


def _same(a, b, rel=1e-9):
    """Equal to a relative tolerance, with matching inf/nan."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    assert np.array_equal(np.isinf(a), np.isinf(b))
    ok = np.isfinite(a)
    np.testing.assert_allclose(a[ok], b[ok], rtol=rel, atol=1e-12)


# --------------------------------------------------------------------------
# sweep
# --------------------------------------------------------------------------

def test_sweep_matches_individual_runs(default_scenario):
    grid = {
        "restriction.duration_months": [2, 6, 12],
        "stockpile.national.cover_days": [0, 90],
        "stockpile.national.strategy": ["on_shortage", "immediate"],   # structural: separate batches
    }
    df = simulator.sweep(default_scenario, grid, draws=0)
    assert len(df) == 12
    assert list(df.columns[:3]) == list(grid)
    combos = list(itertools.product(*grid.values()))
    assert [tuple(r) for r in df[list(grid)].itertuples(index=False)] == combos
    metrics = [c for c in df.columns if c not in grid]
    assert "gdp_loss_pct" in metrics and "gdp_loss_jpy_bn" in metrics
    assert not any(m.endswith("_p05") for m in metrics)              # draws=0: central runs only
    for i, combo in enumerate(combos):
        res = simulator.run(default_scenario.with_overrides(dict(zip(grid, combo, strict=True))),
                            keep_sector_paths=False, draws=0)
        expected = summary_arrays(res.batch)
        for m in metrics:
            _same(df.loc[i, m], expected[m][0])
    # the sweep is not trivially flat: longer restrictions cost more
    loss = df[(df["stockpile.national.cover_days"] == 0) & (df["stockpile.national.strategy"] == "on_shortage")]
    assert loss["gdp_loss_pct"].is_monotonic_increasing and loss["gdp_loss_pct"].iloc[-1] > 0


def test_sweep_bands_by_default_match_banded_runs(default_scenario):
    """A summary sweep carries the 90 % band of every point (the same posterior draws at every
    point); its central columns are the central runs, its bands those of banded runs."""
    from simulator.core.bands import BAND_METRICS, DEFAULT_DRAWS

    grid = {"restriction.duration_months": [3, 12], "stockpile.national.strategy": ["on_shortage", "immediate"]}
    central = simulator.sweep(default_scenario, grid, draws=0)
    banded = simulator.sweep(default_scenario, grid)
    assert banded.attrs["band_draws"] == DEFAULT_DRAWS
    for m in BAND_METRICS:
        _same(banded[m], central[m])
        assert (banded[f"{m}_p05"] <= banded[f"{m}_p50"] + 1e-12).all()
        assert (banded[f"{m}_p50"] <= banded[f"{m}_p95"] + 1e-12).all()
    assert (banded["gdp_loss_pct_p95"] > banded["gdp_loss_pct_p05"]).all()
    # the structural group (immediate release) has its band too: the same as a banded run's
    few = simulator.sweep(default_scenario, grid, draws=30, seed=4)
    row = few.iloc[3]
    assert (row["restriction.duration_months"], row["stockpile.national.strategy"]) == (12, "immediate")
    res = simulator.run(default_scenario.with_overrides({"stockpile.national.strategy": "immediate"}),
                        keep_sector_paths=False, draws=30, seed=4)
    for k in ("gdp_loss_pct", "gdp_loss_pct_p05", "gdp_loss_pct_p95"):
        assert row[k] == pytest.approx(res.summary[k], rel=1e-9)
    with pytest.raises(ScenarioError, match="draws"):
        simulator.sweep(default_scenario, grid, monthly=True, draws=5)


def test_sweep_list_valued_key_and_none(default_scenario):
    """A monthly severity profile (a list) and an empty value (None) are structural: separate batches."""
    grid = {"restriction.severity": [[1.0, 0.5], [0.5, 1.0], 0.75],
            "materials.dytb.stockpile_cover_days": [None, 120.0]}
    df = simulator.sweep(default_scenario, grid, draws=0)
    assert len(df) == 6
    for i, combo in enumerate(itertools.product(*grid.values())):
        res = simulator.run(default_scenario.with_overrides(dict(zip(grid, combo, strict=True))),
                            keep_sector_paths=False, draws=0)
        _same(df.loc[i, "gdp_loss_jpy_bn"], res.summary["gdp_loss_jpy_bn"])
        _same(df.loc[i, "dytb_national_release_t"], res.summary["dytb_national_release_t"])
    # a bigger stockpile of Dy/Tb releases more of it
    released = df["dytb_national_release_t"]
    assert (released.loc[1::2].to_numpy() > released.loc[0::2].to_numpy()).all()


def test_sweep_monthly_matches_result_monthly(default_scenario):
    m = simulator.sweep(default_scenario, {"restriction.duration_months": [3, 9]}, monthly=True)
    assert list(m.columns) == ["scenario_id", "restriction.duration_months", "month", "date", "kind",
                               "item", "variable", "value"]
    assert m.attrs["keys"] == ["restriction.duration_months"]
    res = simulator.run(default_scenario.with_overrides({"restriction.duration_months": 9}), draws=0)
    want = res.monthly[res.monthly["kind"] != "sector"].reset_index(drop=True)
    got = m[m["scenario_id"] == 1].drop(columns=["scenario_id", "restriction.duration_months"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got.drop(columns="value"), want.drop(columns="value"), check_dtype=False)
    _same(got["value"], want["value"])
    assert set(m.loc[m["scenario_id"] == 0, "restriction.duration_months"]) == {3}


def test_sweep_monthly_variable_selection(default_scenario):
    m = simulator.sweep(default_scenario, {"restriction.duration_months": [3, 6]},
                        monthly=["cumulative_gdp_loss_pct", "corporate_stock_t"])
    assert set(m["variable"]) == {"cumulative_gdp_loss_pct", "corporate_stock_t"}
    with pytest.raises(ScenarioError, match="unknown monthly variable 'gdp'"):
        simulator.sweep(default_scenario, {"restriction.duration_months": [3]}, monthly=["gdp"])


def test_sweep_structural_horizon_and_numeric_together(default_scenario):
    df = simulator.sweep(default_scenario, {"horizon_months": [24, 36], "restriction.duration_months": [6, 12]})
    for i, (h, d) in enumerate(itertools.product([24, 36], [6, 12])):
        res = simulator.run(default_scenario.with_overrides({"horizon_months": h, "restriction.duration_months": d}),
                            keep_sector_paths=False)
        _same(df.loc[i, "gdp_loss_pct"], res.summary["gdp_loss_pct"])


@pytest.mark.parametrize("grid, key, message", [
    ({"restriction.duration_months": [3, 700]}, "restriction.duration_months", "out of range"),
    ({"restriction.duration_months": [3, "abc"]}, "restriction.duration_months", "not a number"),
    ({"restriction.duration_months": []}, "restriction.duration_months", "at least one value"),
    ({"restriction.duraton_months": [3]}, "restriction.duraton_months", "unknown key"),
    ({"materials.ndfeb.china_share": [0.5, 1.2]}, "materials.ndfeb.china_share", "out of range"),
    ({"stockpile.national.strategy": ["sometimes"]}, "stockpile.national.strategy", "on_shortage"),
    ({"restriction.lead_time_restricted_months": [1.0]}, "restriction.lead_time_restricted_months", "at least"),
])
def test_sweep_bad_grid_names_the_key(default_scenario, grid, key, message):
    with pytest.raises(ScenarioError) as err:
        simulator.sweep(default_scenario, grid)
    assert err.value.key == key
    assert message in err.value.message


def test_sweep_severity_profile_must_fit_duration():
    sc = simulator.load_scenario(ROOT / "scenarios" / "licensing-slowdown.toml")
    with pytest.raises(ScenarioError, match="severity profile") as err:
        simulator.sweep(sc, {"restriction.duration_months": [2, 12]})
    assert err.value.key == "restriction.duration_months"
    df = simulator.sweep(sc, {"restriction.duration_months": [5, 12]})
    res = simulator.run(sc.with_overrides({"restriction.duration_months": 5}), keep_sector_paths=False)
    _same(df.loc[0, "gdp_loss_pct"], res.summary["gdp_loss_pct"])


def test_sweep_progress_callback_counts_every_scenario(default_scenario):
    seen = []
    simulator.sweep(default_scenario, {"restriction.duration_months": [1, 2, 3],
                                       "stockpile.national.strategy": ["on_shortage", "none"]},
                    progress=seen.append)
    assert sum(seen) == 6


def test_sweep_and_sample_pass_the_client_to_the_executor(default_scenario, monkeypatch):
    import inspect

    from simulator.core import executor

    grid = {"restriction.duration_months": [3, 6]}
    plain = simulator.sweep(default_scenario, grid, draws=0)
    marker = object()
    if "client" not in inspect.signature(executor.run_summary).parameters:
        with pytest.raises(ScenarioError, match="Dask client"):
            simulator.sweep(default_scenario, grid, client=marker)
        return
    real, seen = executor.run_summary, []

    def recording(table, client=None, **kwargs):
        seen.append(client)
        return real(table, **kwargs)      # run locally; the executor's own tests cover Dask

    monkeypatch.setattr(executor, "run_summary", recording)
    pd.testing.assert_frame_equal(simulator.sweep(default_scenario, grid, client=marker), plain)
    simulator.sample(UNCERTAIN, n=4, client=marker)
    assert seen == [marker, marker]
    with pytest.raises(ScenarioError, match="monthly"):
        simulator.sweep(default_scenario, grid, monthly=True, client=marker)
    # bands run locally: a client means central runs, and asking for both is refused
    with pytest.raises(ScenarioError, match="locally"):
        simulator.sweep(default_scenario, grid, client=marker, draws=5)


# --------------------------------------------------------------------------
# sample
# --------------------------------------------------------------------------

def test_uncertain_scenario_is_centred_on_the_central_values():
    """The [uncertainty] example must stay centred on the scenario it perturbs
    (re-centre it if calibration moves a default)."""
    sc = simulator.load_scenario(UNCERTAIN)
    # the file carries only what the calibrated posterior holds fixed: two lead times and
    # three alternative capacities
    assert len(sc.uncertainty) == 5
    off = []
    for key, d in sc.uncertainty.items():
        value = sc.get(key)
        value = sc.stockpile.national.cover_days if value is None else value
        centre = {"triangular": d.mode, "normal": d.mean, "lognormal": d.mean,
                  "uniform": None if d.low is None else (d.low + d.high) / 2}[d.dist]
        if not math.isclose(centre, value, rel_tol=1e-9, abs_tol=1e-12):
            off.append(f"{key}: centred on {centre:g}, the scenario's value is {value:g}")
    assert not off, "; ".join(off)


def test_sample_is_reproducible_and_within_bounds():
    a = simulator.sample(UNCERTAIN, n=64, seed=3)
    b = simulator.sample(UNCERTAIN, n=64, seed=3)
    c = simulator.sample(UNCERTAIN, n=64, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["gdp_loss_pct"], c["gdp_loss_pct"])
    sc = simulator.load_scenario(UNCERTAIN)
    keys = a.attrs["keys"]
    assert list(a.columns[: 1 + len(keys)]) == ["draw"] + keys
    # the scenario's own distributions, after the posterior's parameters it does not draw itself
    assert keys[-len(sc.uncertainty):] == list(sc.uncertainty)
    posterior, _ = load_posterior()
    paired = keys[:-len(sc.uncertainty)]
    assert paired and set(paired) == set(posterior) - set(sc.uncertainty) - set(sc.explicit_keys)
    assert a.attrs["posterior"] is True
    for key in paired:                                   # every paired value is a posterior draw
        assert np.isin(a[key].to_numpy(), np.asarray(posterior[key])).all(), key
    for key, d in sc.uncertainty.items():
        if d.dist in ("uniform", "triangular"):
            assert a[key].between(d.low, d.high).all(), key
    assert (a["economy.criticality_scale"] >= 0).all()
    assert a["gdp_loss_pct"].std() > 0
    # posterior=False: only the scenario's distributions vary, and the spread shrinks
    own = simulator.sample(UNCERTAIN, n=64, seed=3, posterior=False)
    assert own.attrs["keys"] == list(sc.uncertainty)
    for key in sc.uncertainty:
        _same(own[key], a[key])                          # one stream per key: the same draws
    assert own["gdp_loss_pct"].std() < a["gdp_loss_pct"].std()


def test_sample_rows_equal_runs_of_their_draws():
    df = simulator.sample(UNCERTAIN, n=5, seed=1)
    sc = simulator.load_scenario(UNCERTAIN)
    for i in (0, 4):
        over = {k: float(df.loc[i, k]) for k in df.attrs["keys"]}
        res = simulator.run(sc.with_overrides(over), keep_sector_paths=False, draws=0)
        _same(df.loc[i, "gdp_loss_jpy_bn"], res.summary["gdp_loss_jpy_bn"])


def test_sample_values_distributions_and_truncation():
    n = 200_000
    d = {
        "inventory.cover_scale": Distribution(dist="lognormal", mean=1.0, sd=0.3),
        "economy.criticality_scale": {"dist": "normal", "mean": 0.1, "sd": 0.2},    # truncated at 0
        "stockpile.national.cover_days": {"dist": "triangular", "low": 0, "mode": 30, "high": 90},
        "restriction.transit_months": {"dist": "uniform", "low": 0.5, "high": 0.5},  # degenerate
    }
    v = sample_values(d, n, seed=0)
    assert abs(v["inventory.cover_scale"].mean() - 1.0) < 0.01
    assert abs(v["inventory.cover_scale"].std() - 0.3) < 0.01
    dep = v["economy.criticality_scale"]
    assert dep.min() >= 0 and (dep == 0).mean() < 1e-4          # truncated, not clipped onto 0
    assert abs(np.mean(v["stockpile.national.cover_days"]) - 40.0) < 0.5   # (0+30+90)/3
    assert (v["restriction.transit_months"] == 0.5).all()
    # one stream per key: adding a key leaves the others' draws unchanged
    w = sample_values({"inventory.cover_scale": d["inventory.cover_scale"]}, n, seed=0)
    np.testing.assert_array_equal(w["inventory.cover_scale"], v["inventory.cover_scale"])


@pytest.mark.parametrize("dists, key, message", [
    ({"materials.ndfeb.china_share": {"dist": "uniform", "low": 0.5, "high": 1.2}},
     "uncertainty.materials.ndfeb.china_share", "leaves the allowed range"),
    ({"inventory.cover_scale": {"dist": "normal", "mean": -5.0, "sd": 0.1}},
     "uncertainty.inventory.cover_scale", "allowed range"),
    ({"inventory.cover_scale": {"dist": "triangular", "low": 0.5, "high": 1.5}},
     "uncertainty.inventory.cover_scale", "mode"),
    ({"economy.criticality": {"dist": "uniform", "low": 0.3, "high": 0.6}}, "economy.criticality", "structural"),
    ({"restriction.lead_time_normal_months": {"dist": "uniform", "low": 1.0, "high": 5.0}},
     "restriction.lead_time_restricted_months", "violate"),
])
def test_sample_bad_distributions_name_the_key(default_scenario, dists, key, message):
    with pytest.raises(ScenarioError) as err:
        simulator.sample(default_scenario, n=50, seed=0, distributions=dists)
    assert err.value.key == key
    assert message in err.value.message


def test_sample_needs_distributions(default_scenario):
    with pytest.raises(ScenarioError, match="no \\[uncertainty\\] table"):
        simulator.sample(default_scenario, n=10)


def test_summaries_and_percentiles():
    df = simulator.sample(UNCERTAIN, n=80, seed=0)
    s = summarize_samples(df, ["gdp_loss_pct", "gdp_loss_jpy_bn"])
    x = df["gdp_loss_pct"].to_numpy()
    assert list(s.columns) == ["n", "mean", "sd", "p5", "p25", "p50", "p75", "p95"]
    _same(s.loc["gdp_loss_pct", ["p5", "p50", "p95"]].to_numpy(dtype=float), np.percentile(x, [5, 50, 95]))
    _same(s.loc["gdp_loss_pct", "mean"], x.mean())
    corr = rank_correlations(df)
    assert set(corr["key"]) == set(df.attrs["keys"])
    assert (np.diff(corr["spearman_rho"].abs().to_numpy()) <= 1e-12).all()
    rho = corr.set_index("key")["spearman_rho"]
    # more critical applications, a larger loss; more market triage and more orders made up, a smaller one
    assert rho["economy.criticality_scale"] > 0.2
    assert rho["economy.reallocation"] < -0.2
    assert rho["recovery.deferred_scale"] < -0.2

    m = simulator.sample(UNCERTAIN, n=80, seed=0, monthly=["cumulative_gdp_loss_pct"])
    q = monthly_percentiles(m)
    assert (np.diff(q[["p5", "p25", "p50", "p75", "p95"]].to_numpy(), axis=1) >= -1e-12).all()
    last = m[m["month"] == m["month"].max()].sort_values("scenario_id")["value"].to_numpy()
    _same(last, 100 * df["gdp_loss_jpy_bn"] / simulator.load_scenario(UNCERTAIN).economy.gdp_jpy_bn)
    _same(q["p50"].iloc[-1], np.percentile(last, 50))


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def test_cli_sweep_two_grid_keys(tmp_path, monkeypatch, capsys):
    out = tmp_path / "sw"
    code, stdout, _ = invoke(capsys, "sweep", "--grid", "restriction.duration_months=3,6,12",
                             "--grid", "stockpile.national.cover_days=0,60", "--out", out, "--monthly")
    assert code == 0, stdout
    df = pd.read_csv(out / "sweep.csv")
    assert len(df) == 6 and list(df.columns[:2]) == ["restriction.duration_months", "stockpile.national.cover_days"]
    assert {"sweep.csv", "monthly.csv", "sweep.png", "paths.png", "provenance.json"} <= {p.name for p in out.iterdir()}
    assert pd.read_csv(out / "monthly.csv")["scenario_id"].nunique() == 6
    assert "gdp_loss_pct" in stdout
    # a second run refuses the non-empty directory, and leaves it alone
    code, _, err = invoke(capsys, "sweep", "--grid", "restriction.duration_months=3", "--out", out)
    assert code == 2 and "--force" in err
    assert len(pd.read_csv(out / "sweep.csv")) == 6


@pytest.mark.parametrize("args, needle", [
    (["--grid", "restriction.duration_months=3,700"], "--grid: restriction.duration_months: value 700"),
    (["--grid", "restriction.duration_months=3,abc"], "restriction.duration_months: value 'abc' is not a number"),
    (["--grid", "restriction.duration_months"], "needs dotted.key=v1,v2"),
    (["--grid", "restriction.duration_months=3,"], "empty value"),
    ([], "either --grid"),
    (["--samples", "5"], "no [uncertainty] table"),
])
def test_cli_sweep_bad_input_exits_2_without_output(tmp_path, monkeypatch, capsys, args, needle):
    out = tmp_path / "never"
    code, stdout, err = invoke(capsys, "sweep", *args, "--out", out)
    assert code == 2
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_sweep_samples_reproducible(tmp_path, monkeypatch, capsys):
    code, first, _ = invoke(capsys, "sweep", UNCERTAIN, "--samples", 40, "--seed", 7,
                            "--out", tmp_path / "a")
    assert code == 0
    df = pd.read_csv(tmp_path / "a" / "sweep.csv")
    assert len(df) == 40 and "p95" in first
    pd.testing.assert_frame_equal(
        df, simulator.sample(UNCERTAIN, n=40, seed=7).reset_index(drop=True), check_dtype=False, rtol=1e-12)
    assert {"fan.png", "distribution.png", "drivers.png"} <= {p.name for p in (tmp_path / "a").iterdir()}
    # same seed, same printed summary (no files this time)
    code, second, _ = invoke(capsys, "sweep", UNCERTAIN, "--samples", 40, "--seed", 7)
    assert code == 0 and second.split("\n\n")[0] == first.split("\n\n")[0]


def test_cli_compare_durations(tmp_path, monkeypatch, capsys):
    out = tmp_path / "cmp"
    code, stdout, _ = invoke(capsys, "compare", "--durations", "3,12", "--out", out)
    assert code == 0
    table = pd.read_csv(out / "compare.csv")
    assert list(table["restriction_months"]) == [3, 12]
    assert table["gdp_loss_pct"].iloc[1] > table["gdp_loss_pct"].iloc[0] > 0
    assert {"compare.png", "sectors.png", "monthly.csv"} <= {p.name for p in out.iterdir()}
    assert "12 months" in stdout


def test_cli_compare_files_and_default_png(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    files = [ROOT / "scenarios" / "halt-2010.toml", ROOT / "scenarios" / "japan-six-months.toml"]
    code, stdout, _ = invoke(capsys, "compare", *files)
    assert code == 0
    assert (tmp_path / "resim-compare.png").stat().st_size > 10_000
    assert "two-month halt" in stdout and "six-month" in stdout
    code, _, err = invoke(capsys, "compare", *files, "--durations", "3,6")
    assert code == 2 and "one file" in err
    code, _, err = invoke(capsys, "compare", "--durations", "3,x")
    assert code == 2 and "--durations" in err
