"""Calibration against all the evidence: a posterior of the uncertain parameters.

The evidence (``data/evidence.toml``) is a list of *targets*: something
observed or estimated, a scenario that reproduces its circumstances, the
model output that should match it, and an observation model with its own
uncertainty (NRI's 0.43 %, 2010's "no loss" and import dip and rebound,
2025's first stoppages and small damage, the ECB's non-linearity, an
exposure bound). The uncertain parameters get priors (``data/priors.toml``).

Sampling is importance sampling on the batch engine: ``n_prior`` draws from
the priors (and, per draw, a reading of each target whose meaning is
itself uncertain, such as NRI's unpublished scenario) run through every
target scenario as a few large batches; each draw is weighted by its
likelihood; ``n_draws`` posterior draws are resampled (systematic
resampling). Why not MCMC (e.g. emcee): a chain evaluates a few walkers at
a time, while the engine is fastest on thousands of scenarios at once; the
likelihood here is smooth and not sharply peaked, so prior draws cover the
posterior well (the effective sample size is reported), and the same
simulations serve the leave-one-target-out checks without a single rerun.
Everything is seeded and reproducible.

:func:`calibrate_posterior` returns a :class:`Posterior` with the draws,
the fit to every target, what the evidence pins down (posterior vs prior
spread), the leave-one-target-out table, and provenance;
:func:`save_posterior` / :func:`load_posterior` write and read the shipped
draws (``data/posterior.csv`` and ``posterior.json``).
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, cast

import numpy as np

from simulator.core.spec import STRUCTURAL_KEYS
from simulator.errors import DataError, ScenarioError
from simulator.io.datafiles import data_dir
from simulator.io.posterior import load_posterior, posterior_paths  # noqa: F401 (re-exported)
from simulator.io.scenario import Distribution, Scenario, bundled_scenario_path, load_scenario

#: Months counted for "nobody ever runs short" in the first-stop target.
NEVER_SHORT_MONTHS = 4.0
#: Scenarios per engine call while calibrating.
CHUNK = 2000


# --------------------------------------------------------------------------
# Evidence and priors
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One piece of evidence: a scenario, a model output and an observation model."""

    id: str
    what: str
    source: str
    scenario: str
    metric: str
    kind: str
    value: float
    sd_log: float = 0.0
    sd: float = 0.0
    scale: float = 0.0
    reading: Mapping[str, Distribution] = field(default_factory=dict)

    def log_likelihood(self, y: np.ndarray) -> np.ndarray:
        """Log-likelihood of model outputs ``y`` (n,) under the observation model."""
        from scipy import stats

        y = np.asarray(y, float)
        if self.kind == "lognormal":
            with np.errstate(divide="ignore"):
                z = (np.log(np.maximum(y, 1e-12)) - math.log(self.value)) / self.sd_log
            return -0.5 * z * z
        if self.kind == "normal":
            z = (y - self.value) / self.sd
            return -0.5 * z * z
        if self.kind == "below":
            return stats.norm.logcdf((self.value - y) / self.scale)
        raise DataError(f"unknown observation model {self.kind!r}", key=f"target {self.id}")

    def fits(self, y: np.ndarray) -> np.ndarray:
        """Whether outputs are consistent with the evidence (within 2 sd, or under the bound)."""
        y = np.asarray(y, float)
        if self.kind == "lognormal":
            return np.abs(np.log(np.maximum(y, 1e-12)) - math.log(self.value)) <= 2 * self.sd_log
        if self.kind == "normal":
            return np.abs(y - self.value) <= 2 * self.sd
        return y <= self.value + self.scale


def load_evidence(path: str | Path | None = None) -> list[Target]:
    """The targets of ``evidence.toml`` (the bundled one by default)."""
    path = Path(path) if path else data_dir() / "evidence.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for t in raw.get("target", []):
        reading = {k: Distribution.model_validate(v) for k, v in (t.get("reading") or {}).items()}
        fields = {k: v for k, v in t.items() if k != "reading"}
        out.append(Target(**fields, reading=reading))
    return out


def load_priors(path: str | Path | None = None) -> dict[str, Distribution]:
    """The priors of ``priors.toml`` (the bundled one by default), by scenario key."""
    path = Path(path) if path else data_dir() / "priors.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return {k: Distribution.model_validate(v) for k, v in raw.items()}


# --------------------------------------------------------------------------
# Target metrics
# --------------------------------------------------------------------------

def _batch_metrics(batch, scenario: Scenario) -> dict[str, np.ndarray]:
    """Every metric a target may ask for, (B,) each, from one engine batch."""
    from simulator.core.results import summary_arrays

    out = summary_arrays(batch)
    sp = batch.supply
    china = sp.arrivals_china_t.sum(axis=1)                               # (B, H)
    base = np.maximum(china[:, 0], 1e-12)
    for h in range(1, min(6, china.shape[1])):
        out[f"china_arrivals_month{h}_ratio"] = china[:, h] / base
    first = sp.group_first_shortage_month.reshape(len(china), -1).min(axis=1)
    start = batch.params["restriction.start_month"]
    out["months_to_first_group_shortage"] = np.minimum(first - start, NEVER_SHORT_MONTHS)
    light = [j for j, m in enumerate(batch.spec.materials) if m in ("ndfeb", "celay")]
    out["light_ree_peak_shortage_share"] = (sp.shortage_share[:, light].max(axis=(1, 2)) if light
                                            else np.zeros(len(china)))
    return out


def evaluate(scenario: Scenario, n: int, values: Mapping[str, np.ndarray], metrics: Sequence[str],
             progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """Run ``scenario`` ``n`` times with ``values`` (dotted key -> (n,)) and return ``metrics``, (n,) each."""
    from simulator.core.engine import simulate
    from simulator.core.params import with_values

    values = {k: np.asarray(v, float) for k, v in values.items()}
    table = with_values(scenario, n, values)
    out = {m: np.empty(n) for m in metrics}
    for lo in range(0, n, CHUNK):
        chunk = table.rows(lo, min(n, lo + CHUNK))
        got = _batch_metrics(simulate(chunk), scenario)
        for m in metrics:
            out[m][lo:lo + chunk.size] = got[m]
        if progress is not None:
            progress(chunk.size)
    return out


def _reading_values(target: Target, reading: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Scenario overrides of a target's reading draws (scope -> per-material scope shares)."""
    out = {k: v for k, v in reading.items() if k.startswith(("restriction.", "stockpile.", "materials.",
                                                              "economy.", "inventory."))}
    if "scope" in reading:
        u = reading["scope"]
        out["materials.dytb.restriction_scope_share"] = np.ones_like(u)
        out["materials.ndfeb.restriction_scope_share"] = 0.4 + 0.6 * u    # Dy-bearing magnets ... all
        out["materials.celay.restriction_scope_share"] = 0.15 + 0.85 * u  # yttrium ... all
    return out


def simulate_targets(targets: Sequence[Target], theta: Mapping[str, np.ndarray], seed: int,
                     progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """Each target's model output for every parameter draw, (n,) per target id."""
    from simulator.analysis.sweep import sample_values

    n = len(next(iter(theta.values())))
    scenarios: dict[str, Scenario] = {}
    out: dict[str, np.ndarray] = {}
    for t in targets:
        sc = scenarios.setdefault(t.scenario, load_scenario(bundled_scenario_path(t.scenario)))
        # what the target's scenario file sets is part of the evidence's circumstances
        mine = {k: v for k, v in theta.items() if k not in sc.explicit_keys}
        keys = {k: d for k, d in t.reading.items() if "." in k}
        reading = {**sample_values(keys, n, seed + 7919),
                   **sample_values({k: d for k, d in t.reading.items() if k not in keys}, n, seed + 7919,
                                   bounded=False)}
        if t.metric == "full_to_partial_18_months_ratio":
            full = {**mine, "restriction.duration_months": np.full(n, 18.0), "restriction.severity": np.ones(n)}
            part = {**full, "restriction.severity": reading["partial_severity"]}
            a = evaluate(sc.with_overrides({"horizon_months": 48}), n, full, ["gdp_loss_gross_pct"], progress)
            b = evaluate(sc.with_overrides({"horizon_months": 48}), n, part, ["gdp_loss_gross_pct"], progress)
            out[t.id] = a["gdp_loss_gross_pct"] / np.maximum(b["gdp_loss_gross_pct"], 1e-9)
            continue
        values = {**mine, **_reading_values(t, reading)}
        out[t.id] = evaluate(sc, n, values, [t.metric], progress)[t.metric]
    return out


# --------------------------------------------------------------------------
# The posterior
# --------------------------------------------------------------------------

@dataclass
class Posterior:
    """Posterior draws of the uncertain parameters and how they were obtained.

    Attributes
    ----------
    draws : pandas.DataFrame
        ``n_draws`` rows, one column per parameter (scenario key).
    fit : pandas.DataFrame
        Per target: the evidence, the prior and posterior predictive
        (5/50/95 %), and whether the posterior predictive covers it.
    identification : pandas.DataFrame
        Per parameter: prior and posterior median and 90 % interval, the
        ratio of posterior to prior spread, and a verdict.
    leave_one_out : pandas.DataFrame
        Per target: refit without it; its posterior predictive and whether
        the held-out evidence falls inside the 90 % band.
    info : dict
        Provenance: seed, sizes, effective sample size, priors, targets, version.
    """

    draws: Any
    fit: Any
    identification: Any
    leave_one_out: Any
    info: dict


def _weights(loglik: np.ndarray) -> np.ndarray:
    w = np.exp(loglik - loglik.max())
    return w / w.sum()


def _ess(w: np.ndarray) -> float:
    return float(1.0 / np.sum(w * w))


def _resample(w: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling: ``n`` indices with frequencies proportional to ``w``."""
    positions = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(w), positions), len(w) - 1)


def weighted_quantiles(x: np.ndarray, w: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles ``q`` (0-1) of ``x`` under weights ``w``."""
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    cw /= cw[-1]
    return np.interp(np.asarray(q), cw - w[order] / (2 * cw[-1]), x[order])


def calibrate_posterior(n_prior: int = 20_000, n_draws: int = 1000, seed: int = 0,
                        targets: Sequence[Target] | None = None, priors: Mapping[str, Distribution] | None = None,
                        progress: Callable[[int], None] | None = None) -> Posterior:
    """Sample the posterior of the priors' parameters given the evidence.

    Parameters
    ----------
    n_prior : int
        Prior draws simulated (each runs every target scenario once).
    n_draws : int
        Posterior draws kept.
    seed : int
    targets, priors : optional
        Default: the bundled ``evidence.toml`` and ``priors.toml``.
    progress : callable, optional
        Called with the number of scenarios finished.

    Returns
    -------
    Posterior
    """
    import pandas as pd

    from simulator._version import __version__
    from simulator.analysis.sweep import sample_values

    targets = list(targets if targets is not None else load_evidence())
    priors = dict(priors if priors is not None else load_priors())
    for key in priors:
        if key in STRUCTURAL_KEYS:
            raise ScenarioError("is structural (it changes the economy's matrices): it cannot have a prior; "
                                "study it with `resim sweep` instead", file="priors", key=key)
    theta = sample_values(priors, n_prior, seed)
    y = simulate_targets(targets, theta, seed, progress)
    ll = {t.id: t.log_likelihood(y[t.id]) for t in targets}
    total = cast(np.ndarray, sum(ll.values()))          # one array per target, summed (never the empty sum 0)
    w = _weights(total)
    idx = _resample(w, n_draws, np.random.default_rng([seed, 1]))
    draws = pd.DataFrame({k: v[idx] for k, v in theta.items()})
    prior_w = np.full(n_prior, 1.0 / n_prior)
    fit = pd.DataFrame([_fit_row(t, y[t.id], prior_w, w) for t in targets])
    loo = pd.DataFrame([_fit_row(t, y[t.id], prior_w, _weights(total - ll[t.id]), held_out=True) for t in targets])
    ident = pd.DataFrame([_identification_row(k, priors[k], theta[k], w) for k in priors])
    info = {
        "resim_version": __version__, "seed": seed, "n_prior": n_prior, "n_draws": n_draws,
        "effective_sample_size": round(_ess(w), 1),
        "sampler": "importance sampling from the priors, systematic resampling",
        "priors": {k: d.model_dump(exclude_none=True) for k, d in priors.items()},
        "targets": [{"id": t.id, "what": t.what, "source": t.source, "scenario": t.scenario, "metric": t.metric,
                     "kind": t.kind, "value": t.value} for t in targets],
    }
    return Posterior(draws=draws, fit=fit, identification=ident, leave_one_out=loo, info=info)


def _fit_row(t: Target, y: np.ndarray, prior_w: np.ndarray, w: np.ndarray, held_out: bool = False) -> dict:
    pr = weighted_quantiles(y, prior_w, [0.05, 0.5, 0.95])
    po = weighted_quantiles(y, w, [0.05, 0.5, 0.95])
    # consistent: the predictive median lies within the observation's own error (2 sd) or under the bound
    inside = bool(t.fits(np.array([po[1]]))[0])
    row = {"target": t.id, "metric": t.metric, "evidence": t.value, "kind": t.kind,
           "prior_p05": pr[0], "prior_p50": pr[1], "prior_p95": pr[2],
           "posterior_p05": po[0], "posterior_p50": po[1], "posterior_p95": po[2]}
    row["held_out_consistent" if held_out else "consistent"] = inside
    return row


def _identification_row(key: str, prior: Distribution, x: np.ndarray, w: np.ndarray) -> dict:
    n = len(x)
    pr = weighted_quantiles(x, np.full(n, 1.0 / n), [0.05, 0.5, 0.95])
    po = weighted_quantiles(x, w, [0.05, 0.5, 0.95])
    ratio = (po[2] - po[0]) / max(pr[2] - pr[0], 1e-12)
    shift = (po[1] - pr[1]) / max(pr[2] - pr[0], 1e-12)
    verdict = "pinned down" if ratio < 0.5 else "narrowed" if ratio < 0.8 or abs(shift) > 0.2 else "stays at its prior"
    return {"parameter": key, "prior_p05": pr[0], "prior_p50": pr[1], "prior_p95": pr[2],
            "posterior_p05": po[0], "posterior_p50": po[1], "posterior_p95": po[2],
            "spread_ratio": ratio, "median_shift": shift, "verdict": verdict}


# --------------------------------------------------------------------------
# The shipped draws
# --------------------------------------------------------------------------

def save_posterior(post: Posterior, folder: str | Path, force: bool = False) -> list[Path]:
    """Write the draws (``posterior.csv``) and provenance with the fit tables (``posterior.json``).

    All or nothing (:func:`simulator.io.outputs.write_atomic`); a non-empty
    ``folder`` needs ``force`` (other files in it are kept).
    """
    from simulator.io.outputs import write_atomic

    info = {**post.info,
            "fit": json.loads(post.fit.to_json(orient="records")),
            "identification": json.loads(post.identification.to_json(orient="records")),
            "leave_one_out": json.loads(post.leave_one_out.to_json(orient="records"))}
    csv, js = posterior_paths(folder)
    writers = {
        csv.name: lambda path: post.draws.to_csv(path, index=False, float_format="%.6g"),
        js.name: lambda path: Path(path).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8"),
    }
    return write_atomic(Path(folder), writers, force=force)


def report(post: Posterior) -> str:
    """The fit, what the evidence pins down, and the leave-one-target-out check, as text."""
    import pandas as pd

    i = post.info
    lines = [f"Posterior: {i['n_draws']:,} draws from {i['n_prior']:,} prior draws (seed {i['seed']}); "
             f"effective sample size {i['effective_sample_size']:,.0f}", "", "Fit to the evidence (5-50-95 %):"]
    loo = post.leave_one_out.set_index("target")
    for r in post.fit.itertuples():
        h = loo.loc[r.target]
        lines.append(f"  {r.target:<30} evidence {r.evidence:<6g} ({r.kind:<9}) "
                     f"prior {r.prior_p05:.3g}-{r.prior_p50:.3g}-{r.prior_p95:.3g}  "
                     f"posterior {r.posterior_p05:.3g}-{r.posterior_p50:.3g}-{r.posterior_p95:.3g}"
                     f"  {'fits' if r.consistent else 'MISFIT'}; held out: "
                     f"{'fits' if h.held_out_consistent else 'not predicted'}")
    lines += ["", "What the evidence pins down (posterior / prior 90 % width):"]
    with pd.option_context("display.width", 200):
        for r in post.identification.itertuples():
            lines.append(f"  {r.parameter:<40} {r.posterior_p05:.3g}-{r.posterior_p50:.3g}-{r.posterior_p95:.3g}"
                         f"  ({r.spread_ratio:.2f})  {r.verdict}")
    return "\n".join(lines)
