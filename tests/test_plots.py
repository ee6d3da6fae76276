"""Plot functions: they return labelled Figures built from the frames, never show them."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import simulator
from simulator import plots
from simulator.analysis.sweep import monthly_percentiles, rank_correlations

ROOT = Path(__file__).resolve().parents[1]
UNCERTAIN = ROOT / "scenarios" / "japan-one-year-uncertain.toml"


@pytest.fixture(autouse=True)
def _no_show(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("plot functions must not call plt.show()")
    monkeypatch.setattr(plt, "show", fail)
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def grid_frame():
    sc = simulator.load_scenario()
    return simulator.sweep(sc, {"restriction.duration_months": [0, 3, 6, 12],
                                "stockpile.national.cover_days": [0, 60, 180]})


@pytest.fixture(scope="module")
def mc():
    return (simulator.sample(UNCERTAIN, n=60, seed=0),
            simulator.sample(UNCERTAIN, n=60, seed=0, monthly=["cumulative_gdp_loss_pct"]))


def _lines(ax):
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def test_headline_one_line_per_stockpile(grid_frame):
    fig = plots.plot_headline(grid_frame)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    lines = _lines(ax)
    assert [ln.get_label() for ln in lines] == ["0", "60", "180"]
    for ln, days in zip(lines, [0, 60, 180]):
        sub = grid_frame[grid_frame["stockpile.national.cover_days"] == days].sort_values("restriction.duration_months")
        np.testing.assert_allclose(ln.get_xdata(), sub["restriction.duration_months"])
        np.testing.assert_allclose(ln.get_ydata(), sub["gdp_loss_pct"])
    assert "% of annual GDP" in ax.get_ylabel() and "months" in ax.get_xlabel()
    assert "stockpile" in ax.get_legend().get_title().get_text().lower()
    assert fig._suptitle is not None or ax.get_title()
    # the secondary axis converts % of GDP to trillion yen
    sec = ax.child_axes
    assert sec and "trillion" in sec[0].get_ylabel()


def test_sweep_plot_lines_for_other_keys(grid_frame):
    fig = plots.plot_sweep(grid_frame, x="stockpile.national.cover_days", metric="gdp_loss_jpy_bn")
    ax = fig.axes[0]
    assert len(_lines(ax)) == 4                 # one per duration
    assert "JPY bn" in ax.get_ylabel()
    with pytest.raises(ValueError, match="not in the frame"):
        plots.plot_sweep(grid_frame, x="nope")


def test_paths_figure_panels(default_scenario):
    m = simulator.sweep(default_scenario, {"restriction.duration_months": [3, 12]}, monthly=True)
    fig = plots.plot_paths(m)
    titles = [a.get_title() for a in fig.axes]
    assert "Monthly GDP loss" in titles and "Cumulative GDP loss" in titles
    assert sum("stocks" in t for t in titles) == len(default_scenario.materials)
    for ax in fig.axes:
        assert len(_lines(ax)) == 2 and ax.get_ylabel()
    cum = next(a for a in fig.axes if a.get_title() == "Cumulative GDP loss")
    ends = sorted(ln.get_ydata()[-1] for ln in _lines(cum))
    res = [simulator.run(default_scenario.with_overrides({"restriction.duration_months": d}), keep_sector_paths=False)
           for d in (3, 12)]
    np.testing.assert_allclose(ends, sorted(r.summary["gdp_loss_pct"] for r in res), rtol=1e-9)
    with pytest.raises(ValueError, match="lacks"):
        plots.plot_paths(m[m["variable"] != "national_stock_t"])


def test_sector_bars(default_scenario):
    r3 = simulator.run(default_scenario.with_overrides({"restriction.duration_months": 3}), keep_sector_paths=False)
    r12 = simulator.run(default_scenario, keep_sector_paths=False)
    fig = plots.plot_sectors({"3 months": r3.sectors, "12 months": r12.sectors}, top=5)
    ax = fig.axes[0]
    assert len(ax.patches) == 10
    widths = sorted((p.get_width() for p in ax.patches), reverse=True)
    assert widths[0] == pytest.approx(r12.sectors["gdp_loss_jpy_bn"].iloc[0])
    assert "JPY bn" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["3 months", "12 months"]
    single = plots.plot_sectors(r12.sectors, top=3)
    assert len(single.axes[0].patches) == 3 and single.axes[0].get_legend() is None


def test_fan_chart_bands(mc):
    df, m = mc
    central = simulator.run(simulator.load_scenario(UNCERTAIN), keep_sector_paths=False)
    fig = plots.plot_fan(m, central=central)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:4] == ["5-95 % of draws", "25-75 % of draws", "median", "central scenario"]
    q = monthly_percentiles(m)
    median = next(ln for ln in ax.get_lines() if ln.get_label() == "median")
    np.testing.assert_allclose(median.get_ydata(), q["p50"])
    outer, inner = ax.collections[0], ax.collections[1]
    top_outer = outer.get_paths()[0].vertices[:, 1].max()
    top_inner = inner.get_paths()[0].vertices[:, 1].max()
    assert top_outer == pytest.approx(q["p95"].max()) and top_inner == pytest.approx(q["p75"].max())
    assert "% of annual GDP" in ax.get_ylabel()
    assert "60" in ax.get_title()


def test_distribution_and_drivers(mc):
    df, _ = mc
    fig = plots.plot_distribution(df)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Number of draws"
    assert sum(p.get_height() for p in ax.patches) == len(df)
    corr = rank_correlations(df)
    fig = plots.plot_rank_correlations(corr)
    ax = fig.axes[0]
    assert len(ax.patches) == corr["spearman_rho"].notna().sum()
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == corr["key"].iloc[0]   # largest on top
