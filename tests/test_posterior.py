"""Calibration against all the evidence (issue 13): targets, likelihoods, the shipped posterior."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.analysis import posterior as post
from simulator.errors import ScenarioError
from simulator.io.posterior import load_posterior
from simulator.io.scenario import Distribution


def _target(**kw):
    base = dict(id="t", what="", source="", scenario="japan-one-year.toml", metric="gdp_loss_pct",
                kind="lognormal", value=0.5, sd_log=0.5)
    base.update(kw)
    return post.Target(**base)


def test_observation_models_by_hand():
    t = _target()
    assert t.log_likelihood(np.array([0.5]))[0] == pytest.approx(0.0)
    # one sd_log away: -1/2
    assert t.log_likelihood(np.array([0.5 * math.exp(0.5)]))[0] == pytest.approx(-0.5)
    n = _target(kind="normal", value=2.0, sd=0.5)
    assert n.log_likelihood(np.array([3.0]))[0] == pytest.approx(-2.0)
    b = _target(kind="below", value=0.02, scale=0.01)
    # at the bound: P = 1/2; far under: P -> 1
    assert b.log_likelihood(np.array([0.02]))[0] == pytest.approx(math.log(0.5))
    assert b.log_likelihood(np.array([-1.0]))[0] == pytest.approx(0.0, abs=1e-12)
    assert b.fits(np.array([0.025, 0.031])).tolist() == [True, False]


def test_evidence_and_priors_load_with_sources():
    targets = post.load_evidence()
    assert {"nri_one_year", "halt_2010_no_loss", "licensing_2025_first_stop", "ecb_nonlinearity",
            "exposure_bound"} <= {t.id for t in targets}
    assert all(t.source for t in targets)
    priors = post.load_priors()
    assert "inventory.cover_scale" in priors and all(isinstance(d, Distribution) for d in priors.values())


def test_systematic_resampling_keeps_the_weights():
    w = np.array([0.1, 0.0, 0.6, 0.3])
    idx = post._resample(w, 1000, np.random.default_rng(0))
    counts = np.bincount(idx, minlength=4) / 1000
    assert np.allclose(counts, w, atol=1e-3)


def test_weighted_quantiles_match_unweighted_ones():
    x = np.random.default_rng(1).normal(size=20001)
    q = post.weighted_quantiles(x, np.full(len(x), 1 / len(x)), [0.05, 0.5, 0.95])
    assert np.allclose(q, np.quantile(x, [0.05, 0.5, 0.95]), atol=2e-3)


def test_structural_priors_are_refused():
    with pytest.raises(ScenarioError, match="structural"):
        post.calibrate_posterior(n_prior=10, n_draws=5,
                                 priors={"economy.criticality": Distribution(dist="uniform", low=0, high=1)})


def test_the_evidence_moves_the_likelihood():
    """The 2025 first stop pins inventory cover: lean cover fits, ample cover does not."""
    targets = [t for t in post.load_evidence() if t.id == "licensing_2025_first_stop"]
    theta = {"inventory.cover_scale": np.array([0.7, 1.6])}
    y = post.simulate_targets(targets, theta, seed=0)["licensing_2025_first_stop"]
    assert y[0] < y[1]
    ll = targets[0].log_likelihood(y)
    assert ll[0] > ll[1]


def test_scenario_settings_are_part_of_the_evidence():
    """validation-2010 sets China's 2010 shares itself: the draws do not replace them."""
    targets = [t for t in post.load_evidence() if t.id == "halt_2010_dip"]
    theta = {"materials.ndfeb.china_share": np.array([0.3, 0.9])}
    y = post.simulate_targets(targets, theta, seed=0)["halt_2010_dip"]
    assert y[0] == y[1]


def test_regeneration_reproduces_the_shipped_posterior():
    """`resim calibrate --posterior` from scratch (fewer prior draws) matches the shipped draws' statistics."""
    shipped, info = load_posterior()
    fresh = post.calibrate_posterior(n_prior=5000, n_draws=1000, seed=info["seed"])
    priors = post.load_priors()
    assert set(fresh.draws.columns) == set(shipped)
    for key in priors:
        lo, hi = np.percentile(shipped[key], [5, 95])
        width = hi - lo
        assert abs(np.median(fresh.draws[key]) - np.median(shipped[key])) < 0.2 * width, key
    # the one parameter the evidence pins down stays pinned
    ident = fresh.identification.set_index("parameter")
    assert ident.loc["inventory.cover_scale", "verdict"] == "pinned down"
    assert fresh.fit["consistent"].all()
