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
    for ln, days in zip(lines, [0, 60, 180], strict=False):
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
    # the scenarios in order, and one entry for the 5-95 % whiskers (the runs carry a band)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [x for x in labels if "band" not in x] == ["3 months", "12 months"]
    assert len([x for x in labels if "band" in x]) == 1
    single = plots.plot_sectors(r12.sectors, top=3)
    assert len(single.axes[0].patches) == 3
    assert [t.get_text() for t in single.axes[0].get_legend().get_texts() if "band" not in t.get_text()] == []
    unbanded = plots.plot_sectors(r12.sectors[["code", "name", "gdp_loss_jpy_bn"]], top=3)
    assert unbanded.axes[0].get_legend() is None


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
    assert sum(p.get_height() for bars in ax.containers for p in bars) == len(df)      # the histogram's bars
    corr = rank_correlations(df)
    fig = plots.plot_rank_correlations(corr)
    ax = fig.axes[0]
    assert len(ax.patches) == corr["spearman_rho"].notna().sum()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[-1] == plots.label_for(corr["key"].iloc[0])                # largest on top, in words
    assert not any(t in set(corr["key"]) for t in ticks)                    # no raw dotted keys


# --------------------------------------------------------------------------
# Readable figures: colours safe for colour-blind readers, bands, words with units
# --------------------------------------------------------------------------

import io  # noqa: E402
import re  # noqa: E402

import matplotlib.colors as mcolors  # noqa: E402
import pandas as pd  # noqa: E402

from simulator.plots import style  # noqa: E402

TAB10 = {mcolors.to_hex(c) for c in plt.get_cmap("tab10").colors} - {"#7f7f7f"}      # its grey is a grey
_VIRIDIS = np.array([plt.get_cmap("viridis")(t)[:3] for t in np.linspace(0, 1, 512)])
#: Capitalised words a sentence-case title may contain after its first word.
PROPER = {"GDP", "JPY", "NdFeB", "Dy/Tb", "Ce/La/Y", "Japan", "Japan's", "Chinese", "China", "China's", "Monte",
          "Carlo", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
#: A raw column or key in a label: snake_case or a dotted key.
RAW_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[a-z_]+\.[a-z_]+\b")


@pytest.fixture(scope="module")
def frames():
    """Small frames for every figure (few draws: the figures, not the numbers, are under test)."""
    from simulator.analysis.policy import optimize_stockpile

    sc = simulator.load_scenario()
    out = {"scenario": sc, "run": simulator.run(sc, draws=20)}
    out["sweep_banded"] = simulator.sweep(sc, {"restriction.duration_months": [0, 3, 6, 12],
                                               "stockpile.national.cover_days": [0, 60]}, draws=20)
    out["sweep_many"] = simulator.sweep(sc, {"restriction.duration_months": list(range(1, 13)),
                                             "stockpile.national.cover_days": [0, 60]}, draws=10)
    out["paths_many"] = simulator.sweep(sc, {"restriction.duration_months": list(range(1, 13))}, monthly=True)
    parts = []
    for i, d in enumerate([3, 12]):
        r = simulator.run(sc.with_overrides({"restriction.duration_months": d}), keep_sector_paths=False, draws=20)
        m = r.monthly
        m = m[m["kind"] != "sector"].copy()
        m.insert(0, "scenario_id", i)
        m.insert(1, "label", f"{d} months")
        m.insert(2, "restriction.start_month", r.scenario.restriction.start_month)
        m.insert(3, "restriction.duration_months", float(d))
        parts.append(m)
    out["compare"] = pd.concat(parts, ignore_index=True)
    out["answers"], out["curve"] = optimize_stockpile(sc, 0.1, over={"restriction.duration_months": [3, 12]},
                                                      return_curve=True, draws=20)
    return out


def _all_figures(frames):
    """name -> a figure of every plot function."""
    from simulator.analysis.sensitivity import sensitivity

    f = frames
    sens = sensitivity(f["scenario"])
    return {
        "run": lambda: plots.plot_run(f["run"]),
        "headline": lambda: plots.plot_headline(f["sweep_banded"]),
        "sweep_many": lambda: plots.plot_sweep(f["sweep_many"], x="stockpile.national.cover_days",
                                               line="restriction.duration_months"),
        "paths_many": lambda: plots.plot_paths(f["paths_many"]),
        "compare": lambda: plots.plot_compare(f["compare"], by="restriction.duration_months"),
        "compare_labels": lambda: plots.plot_compare(f["compare"]),
        "sectors": lambda: plots.plot_sectors({"3 months": f["run"].sectors, "12 months": f["run"].sectors}, top=5),
        "stockpile": lambda: plots.plot_stockpile_curve(f["curve"], f["answers"]),
        "cost_benefit": lambda: plots.plot_cost_benefit(f["curve"]),
        "tornado": lambda: plots.plot_tornado(sens),
    }


def _colors_used(fig) -> set[str]:
    out = set()
    for ax in fig.axes:
        for ln in ax.get_lines():
            out.add(mcolors.to_hex(ln.get_color()))
        for p in ax.patches:
            out.add(mcolors.to_hex(p.get_facecolor()))
        for c in ax.collections:
            for rgba in list(c.get_facecolors()) + list(c.get_edgecolors()):
                out.add(mcolors.to_hex(rgba))
    return out


def _cvd_safe(hex_color: str) -> bool:
    """Okabe-Ito, a grey, the style's fixed colours, or on the viridis scale."""
    fixed = set(style.PALETTE.values()) | {style.LOSS_DARK, style.CAP_COLOR, style.RESTRICTION_SHADE}
    if hex_color.lower() in {c.lower() for c in fixed}:
        return True
    r, g, b = mcolors.to_rgb(hex_color)
    if max(r, g, b) - min(r, g, b) < 0.02:
        return True
    return float(np.min(np.abs(_VIRIDIS - np.array([r, g, b])).max(axis=1))) < 0.01


def _texts(fig):
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]


def _png(fig, dpi: int = 50) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    buf.seek(0)
    return plt.imread(buf)


def test_every_colour_is_safe_for_colour_blind_readers(frames):
    for name, make in _all_figures(frames).items():
        used = _colors_used(make())
        assert not used & TAB10, f"{name}: matplotlib's tab10 colours {sorted(used & TAB10)}"
        bad = sorted(c for c in used if not _cvd_safe(c))
        assert not bad, f"{name}: colours outside the palette {bad}"
        plt.close("all")


def test_palette_is_defined_once_and_matches_the_report():
    from simulator.report.format import MATERIAL_NAMES

    assert style.MATERIAL_NAMES == MATERIAL_NAMES
    assert len(set(style.QUALITATIVE)) == 8 and style.QUALITATIVE[0] == "#0072B2"
    colors, mappable = style.line_colors([0, 30, 60, 180], ordered=True)
    assert len(set(colors)) == 4 and mappable is not None        # uneven values, distinct colours
    colors, mappable = style.line_colors(["a", "b"], ordered=False)
    assert colors == style.QUALITATIVE[:2] and mappable is None


def test_words_units_and_sentence_case(frames):
    for name, make in _all_figures(frames).items():
        fig = make()
        for ax in fig.axes:
            for label in (ax.get_xlabel(), ax.get_ylabel()):
                assert not RAW_NAME.search(label), f"{name}: raw name in the axis label {label!r}"
            if ax.get_ylabel() and ax.get_label() != "<colorbar>" and ax.get_ylabel() != "Number of draws":
                assert "(" in ax.get_ylabel(), f"{name}: y label without a unit: {ax.get_ylabel()!r}"
        for t in _texts(fig):
            assert not RAW_NAME.search(t.get_text()), f"{name}: raw name in {t.get_text()!r}"
        titles = [ax.get_title(loc=loc) for ax in fig.axes for loc in ("center", "left")]
        titles += [fig._suptitle.get_text().split("\n")[0]] if fig._suptitle is not None else []
        for title in filter(None, titles):
            words = re.findall(r"[A-Za-z][\w/'-]*", title)
            assert title[0].isupper() or title[0].isdigit(), f"{name}: title {title!r}"
            capital = [w for w in words[1:] if w[0].isupper() and w not in PROPER]
            assert not capital, f"{name}: title not in sentence case {title!r} ({capital})"
        plt.close("all")


def test_month_indices_show_as_dates_and_materials_by_name(frames):
    fig = plots.plot_run(frames["run"])
    ticks = [t.get_text() for t in fig.axes[-1].get_xticklabels() if t.get_text()]
    assert ticks and all(re.fullmatch(r"[A-Z][a-z]{2} \d{4}", t) for t in ticks)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert {"NdFeB magnets", "Dy/Tb", "Ce/La/Y"} <= set(legend)
    fig = plots.plot_paths(frames["paths_many"])
    titles = [a.get_title() for a in fig.axes]
    assert "Dy/Tb: corporate + national stocks" in titles
    fig = plots.plot_stockpile_curve(frames["curve"], frames["answers"])
    assert "NdFeB magnets, Dy/Tb, Ce/La/Y" in fig.axes[-1].get_xlabel()


def test_label_for_has_units_and_no_raw_names():
    assert style.label_for("gdp_loss_pct") == "Cumulative GDP loss (% of annual GDP)"
    assert style.label_for("gdp_loss_pct_p95") == "Cumulative GDP loss, 95th percentile (% of annual GDP)"
    assert style.label_for("materials.dytb.china_share") == "Dy/Tb: China's share of supply (0-1)"
    assert style.label_for("celay_shortfall_t").startswith("Ce/La/Y: shortfall")
    for name in ("economy.some_new_scale", "stockpile.national.new_days", "whatever_jpy_bn", "x.y.z_months"):
        label = style.label_for(name)
        assert not RAW_NAME.search(label) and "." not in label, label
    assert style.label_for("whatever_jpy_bn").endswith("(JPY bn)")
    assert style.date_label("2026-09") == "Sep 2026" and style.date_label("odd") == "odd"


def test_sweep_and_headline_shade_their_bands(frames):
    df = frames["sweep_banded"]
    fig = plots.plot_headline(df)
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, matplotlib.collections.PolyCollection)]
    assert len(bands) == 2                                   # one per stockpile line
    for band, days in zip(bands, [0, 60], strict=False):
        sub = df[df["stockpile.national.cover_days"] == days]
        top = band.get_paths()[0].vertices[:, 1].max()
        assert top == pytest.approx(sub["gdp_loss_pct_p95"].max())
    assert any("90 % band" in t.get_text() for t in ax.get_legend().get_texts())
    # pixels: the shaded bands cover much of the axes; without the band columns they are gone
    plain = df[[c for c in df.columns if not c.endswith(("_p05", "_p50", "_p95"))]]
    plain.attrs.update(df.attrs)
    fig2 = plots.plot_headline(plain)
    assert not [c for c in fig2.axes[0].collections if isinstance(c, matplotlib.collections.PolyCollection)]
    inked = [(_png(f)[..., :3] < 0.97).any(axis=2).mean() for f in (fig, fig2)]
    assert inked[0] > inked[1] + 0.03, inked


def test_compare_shades_a_band_per_scenario(frames):
    fig = plots.plot_compare(frames["compare"], by="restriction.duration_months")
    cum = next(a for a in fig.axes if a.get_title() == "Cumulative GDP loss")
    gdp = next(a for a in fig.axes if a.get_title() == "Monthly GDP loss")
    for ax in (cum, gdp):
        assert len([c for c in ax.collections if isinstance(c, matplotlib.collections.PolyCollection)]) == 2
    assert "90 % band" in fig._suptitle.get_text()
    # without band variables (a sweep's monthly table) nothing is shaded
    fig = plots.plot_paths(frames["paths_many"])
    cum = next(a for a in fig.axes if a.get_title() == "Cumulative GDP loss")
    assert not [c for c in cum.collections if isinstance(c, matplotlib.collections.PolyCollection)]


def test_many_lines_get_a_colour_bar_not_a_long_legend(frames):
    fig = plots.plot_paths(frames["paths_many"])            # 12 restriction lengths
    bars = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    assert len(bars) == 1 and "Restriction length" in bars[0].get_ylabel()
    assert [t.get_text() for t in bars[0].get_yticklabels()][:3] == ["1", "2", "3"]
    assert all(a.get_legend() is None or len(a.get_legend().get_texts()) <= 2 for a in fig.axes)
    fig = plots.plot_sweep(frames["sweep_many"], x="stockpile.national.cover_days", line="restriction.duration_months")
    assert [a for a in fig.axes if a.get_label() == "<colorbar>"]
    legend = fig.axes[0].get_legend()
    assert legend is None or len(legend.get_texts()) <= 2
    # few lines: a legend, no colour bar
    fig = plots.plot_compare(frames["compare"], by="restriction.duration_months")
    assert not [a for a in fig.axes if a.get_label() == "<colorbar>"]


def test_stockpile_curve_band_answers_and_unreachable_cap(frames):
    curve, answers = frames["curve"], frames["answers"].copy()
    # make sure one case is unreachable, whatever the model says today
    answers.loc[answers.index[-1], ["status", "stockpile_days"]] = ["cap not reachable", np.nan]
    fig = plots.plot_stockpile_curve(curve, answers)
    ax, strip = fig.axes[0], fig.axes[1]
    assert len([c for c in ax.collections if isinstance(c, matplotlib.collections.PolyCollection)]) == 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.endswith("(cap not reachable)") for t in legend)
    assert any("90 % band" in t for t in legend) and any(t.startswith("cap: 0.1 %") for t in legend)
    crosses = [ln for ln in ax.get_lines() + strip.get_lines() if ln.get_marker() == "X"]
    assert len(crosses) == 2                                  # at the end of its curve and in the strip
    notes = [t.get_text() for t in strip.texts]
    assert any(t.startswith("cap not reachable") for t in notes)
    assert any(re.match(r"\d+ days", t) or t.startswith("none needed") for t in notes)
    assert strip.get_xlabel().startswith("National stockpile (days")


def test_cost_benefit_one_quantity_per_linear_axis(frames):
    fig = plots.plot_cost_benefit(frames["curve"])
    axes = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    assert len(axes) == 3 and not any(a.child_axes for a in axes)
    ylabels = [a.get_ylabel() for a in axes]
    assert ylabels == ["GDP loss avoided per restriction (JPY bn)", "Holding cost (JPY bn per year)",
                       "Break-even chance of the restriction (% per year)"]
    for a in axes:
        assert a.get_yscale() == "linear" and a.get_xscale() == "linear"
        assert a.get_xlabel() == "National stockpile (days of baseline demand)"
    g = frames["curve"][frames["curve"]["case"] == frames["curve"]["case"].iloc[0]]
    line = next(ln for ln in axes[2].get_lines() if not ln.get_label().startswith("_"))
    np.testing.assert_allclose(line.get_ydata(), 100 * g["breakeven_probability_per_year"].to_numpy(), equal_nan=True)


def test_figures_are_not_clipped(frames):
    """Saved as the CLI saves them (tight box): nothing touches the edge of the PNG."""
    for name, make in _all_figures(frames).items():
        img = _png(make())[..., :3]
        edge = np.concatenate([img[:2].reshape(-1, 3), img[-2:].reshape(-1, 3), img[:, :2].reshape(-1, 3),
                               img[:, -2:].reshape(-1, 3)])
        assert (edge > 0.97).all(), f"{name}: something is cut at the edge of the PNG"
        plt.close("all")


def test_monte_carlo_figures_use_the_palette_and_words(mc):
    df, m = mc
    figs = {"fan": plots.plot_fan(m), "distribution": plots.plot_distribution(df),
            "drivers": plots.plot_rank_correlations(rank_correlations(df))}
    for name, fig in figs.items():
        used = _colors_used(fig)
        assert not used & TAB10 and all(_cvd_safe(c) for c in used), f"{name}: {sorted(used)}"
        for t in _texts(fig):
            assert not RAW_NAME.search(t.get_text()), f"{name}: raw name in {t.get_text()!r}"
