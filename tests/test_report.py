"""resim report: a self-contained HTML briefing, checked as a file and in headless Chromium.

The default report is rendered once through the CLI (a subprocess, as a user
runs it); the tests then read it as text, parse it with html.parser and take a
screenshot with Debian's chromium. The browser part is skipped only when
/usr/bin/chromium is missing *and* we are not in CI ($CI unset).
"""

from __future__ import annotations

import math
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_runner import run_process

import simulator
from simulator.report.band import Interval, band_of
from simulator.report.browser import chromium_path, pixel_stats, screenshot
from simulator.report.format import decimals_for, fmt_interval, fmt_month_interval, month_label

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("headline", "timeline", "sectors", "levers", "published", "assumptions", "references")


class Page(HTMLParser):
    """Collects what the checks need: section ids, tags, resource attributes, text."""

    def __init__(self):
        super().__init__()
        self.sections, self.tags, self.resources, self.text, self.ids = [], [], [], [], []
        self._stack = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "section":
            self.sections.append(a.get("id"))
        if "id" in a:
            self.ids.append(a["id"])
        for key in ("src", "href", "xlink:href", "data", "poster", "srcset", "action"):
            if a.get(key):
                self.resources.append((tag, key, a[key]))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "brief.html"
    proc = run_process("report", "--out", out)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    page = Page()
    page.feed(html)
    return out, html, page


def test_report_is_self_contained(report):
    _, html, page = report
    # no network resource in any attribute or stylesheet
    pattern = re.compile(r"""(?:src|href|srcset|poster|action)\s*=\s*["']?\s*(?:https?:)?//"""
                         r"""|url\(\s*["']?\s*(?:https?:)?//|@import""",
                         re.I)
    assert not pattern.search(html), pattern.search(html)
    for tag, key, value in page.resources:
        assert value.startswith(("#", "data:")), (tag, key, value)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert "<style>" in html and "@page" in html and "@media print" in html


def test_report_has_every_section(report):
    _, html, page = report
    for sec in SECTIONS:
        assert sec in page.sections, f"section {sec!r} missing"
    assert page.tags.count("svg") >= 2                         # timeline and sectors figures
    assert len(page.ids) == len(set(page.ids)), "duplicate ids (figures must not clash)"
    text = " ".join(page.text)
    for words in ("% of a year's GDP", "bn yen", "Worst month", "5\u201395 %", "Dy/Tb", "NdFeB magnets",
                  "Ce/La/Y", "Nomura Research Institute", "2010", "April 2025", "sha256", "Sep 2026"):
        assert words in text, words
    assert "dytb" not in re.sub(r"<[^>]+>", " ", html.split('id="assumptions"')[0]), "material codes in the prose"


def test_headline_matches_the_run_to_the_shown_rounding(report):
    _, html, _ = report
    res = simulator.run(simulator.load_scenario())
    shown = re.search(r'id="gdp-loss-pct">([^<]+)<', html).group(1)
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    assert float(shown) == pytest.approx(round(res.summary["gdp_loss_pct"], decimals))
    yen = re.search(r'id="gdp-loss-jpy">([^<]+)<', html).group(1).replace(",", "")
    assert abs(float(yen) - res.summary["gdp_loss_jpy_bn"]) <= 0.5 * 10 ** max(0, len(yen) - 2)


def test_report_renders_in_headless_chromium(report, tmp_path):
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI (.ci/run installs it)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    out, _, _ = report
    png = screenshot(out.resolve().as_uri(), tmp_path / "report.png", 1200, 2000)
    stats = pixel_stats(png)
    assert stats["shape"][:2] == (2000, 1200)
    assert stats["variance"] > 0.005, stats
    assert 0.03 < stats["nonwhite_share"] < 0.9, stats


def test_several_scenarios_user_text_and_refusal(tmp_path):
    """Two scenarios compared; names with markup render literally; no overwrite without --force."""
    evil = tmp_path / "evil.toml"
    evil.write_text('base = "%s"\nname = "<script>alert(1)</script> & co"\n'
                    'description = "<b>bold?</b> \\"quoted\\""\n[restriction]\nduration_months = 6\n'
                    % (ROOT / "scenarios" / "japan-one-year.toml").as_posix(), encoding="utf-8")
    out = tmp_path / "two.html"
    proc = run_process("report", ROOT / "scenarios" / "halt-2010.toml", evil, "--out", out, "--draws", "40")
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "<b>bold?</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    page = Page()
    page.feed(html)
    assert "comparison" in page.sections and "script" not in page.tags

    again = run_process("report", "--out", out)
    assert again.returncode == 2
    assert again.stderr.strip().startswith("resim: error: ") and "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert out.read_text(encoding="utf-8") == html          # untouched
    assert not list(tmp_path.glob(".two.html.*"))            # no temporary file left


@pytest.mark.parametrize("args, words", [
    (["--durations", "3,x"], "--durations"),
    (["--durations", "3,-1"], "--durations"),
    (["--set", "restriction.duraton_months=3"], "duraton_months"),
    (["--out", "/nonexistent-dir/brief.html"], "does not exist"),
    (["--draws", "5"], "--draws"),
    ([str(ROOT / "scenarios" / "halt-2010.toml"), str(ROOT / "scenarios" / "japan-one-year.toml"),
      "--durations", "3,6"], "--durations"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, words):
    proc = run_process("report", *(["--out", tmp_path / "x.html"] if "--out" not in args else []), *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("resim: error: ") and words in lines[0], lines
    assert not (tmp_path / "x.html").exists()


# --------------------------------------------------------------------------
# The band adapter and the rounding
# --------------------------------------------------------------------------

def test_rounding_follows_the_band_width():
    assert decimals_for(0.22, 0.61) == 2
    assert fmt_interval(Interval(0.4300, 0.2212, 0.6061), " %")["text"] == "0.43 % (0.22\u20130.61 %)"
    assert fmt_interval(Interval(2620.0, 1345.8, 3689.9), " bn yen")["text"] == "2,600 bn yen (1,300\u20133,700 bn yen)"
    assert fmt_interval(Interval(0.00881, 0.00012, 0.0251), " %")["central"] == "0.009"
    assert (fmt_interval(Interval(-0.06, -0.13, 0.001), " pp", signed=True)["text"]
            == "\u22120.06 pp (\u22120.13 to 0.00 pp)")
    assert fmt_interval(Interval(0.0, 0.0, 0.0), " %")["text"] == "0 % in every draw"
    assert month_label("2026-01", 2.75) == "Mar 2026" and month_label("2026-01", 12) == "Jan 2027"
    assert fmt_month_interval(Interval(4.0, 3.0, 8.0, share_none=0.1), "2026-01") == \
        {"central": "May 2026", "band": "Apr\u2013Sep 2026; never in 10 % of draws", "all_none": False}
    assert fmt_month_interval(Interval(None, None, None, share_none=1.0), "2026-01")["all_none"]


def test_band_draws_the_calibrated_posterior():
    """The report's band is the run's own: draws of the calibrated parameters (data/posterior.csv),
    listed with their 5/50/95 % in the assumptions; the headline interval is the run's 5-95 %."""
    from simulator.io.posterior import load_posterior

    sc = simulator.load_scenario()
    b = band_of(sc, n=40)
    calibrated = load_posterior()[0]
    assert b.source == "posterior" and "40 draws of the calibrated parameters" in b.label
    assert b.distributions and set(b.distributions) <= set(calibrated)
    for key, d in b.distributions.items():
        assert d["dist"] == "posterior"
        assert calibrated[key].min() <= d["low"] <= d["median"] <= d["high"] <= calibrated[key].max(), key
    summary = b.result.summary
    iv = b.metrics["gdp_loss_pct"]
    assert (iv.central, iv.low, iv.high) == (summary["gdp_loss_pct"], summary["gdp_loss_pct_p05"],
                                             summary["gdp_loss_pct_p95"])
    assert iv.low < iv.central < iv.high
    assert b.held == []


def test_keys_the_scenario_sets_are_held_and_its_own_uncertainty_is_drawn():
    """A calibrated key the scenario sets itself keeps its value in every draw (and the report says so);
    the uncertain bundled scenario draws its own [uncertainty] table with the posterior."""
    sc = simulator.load_scenario(overrides={"inventory.cover_scale": 1.2})
    b = band_of(sc, n=40)
    assert "inventory.cover_scale" not in b.distributions
    assert any(h.startswith("inventory.cover_scale") and "1.2" in h for h in b.held), b.held
    assert "inventory.cover_scale" not in b.draws.columns                  # not varied
    iv = b.metrics["gdp_loss_pct"]
    assert iv.low <= iv.central <= iv.high

    uncertain = simulator.load_scenario(ROOT / "scenarios" / "japan-one-year-uncertain.toml")
    u = band_of(uncertain, n=40)
    assert u.source == "posterior+uncertainty" and "[uncertainty]" in u.label
    for key, dist in uncertain.uncertainty.items():
        assert u.distributions[key] == dist.model_dump(exclude_none=True), key


def test_band_of_reuses_a_run_that_has_its_band():
    """A result that already carries a band of n draws is not run again: the report shows its numbers."""
    sc = simulator.load_scenario()
    res = simulator.run(sc, draws=40)
    b = band_of(sc, result=res, n=40)
    assert b.result is res
    assert b.metrics["gdp_loss_jpy_bn"].high == res.summary["gdp_loss_jpy_bn_p95"]
    monthly, sectors = res.economy_monthly, res.sectors
    assert (b.economy["gdp_loss_jpy_bn_p95"].to_numpy() == monthly["gdp_loss_jpy_bn_p95"].to_numpy()).all()
    assert (b.sectors["gdp_loss_jpy_bn_p05"].to_numpy() == sectors["gdp_loss_jpy_bn_p05"].to_numpy()).all()
    assert not math.isnan(b.materials["stock_months_p05"].iloc[0])
    unbanded = simulator.run(sc, draws=0)
    assert band_of(sc, result=unbanded, n=40).result is not unbanded       # no band yet: run with one


def test_reference_list_is_link_free(report):
    """No URL anywhere in the text either (the reference list names sources, it does not link)."""
    _, _, page = report
    text = " ".join(page.text)
    assert "http://" not in text and "https://" not in text and "www." not in text
