"""Calibration: choose free parameters so that model outputs hit targets.

A *target* is a model output (any summary metric, e.g. ``gdp_loss_pct``)
and the value it should take, under stated overrides of the scenario
(e.g. ``{"restriction.duration_months": 12}``). A *free parameter* is a
numeric dotted key with bounds. :func:`calibrate` solves

- one free parameter, one target: a root of ``model(x) - target`` with
  :func:`scipy.optimize.brentq`, after a coarse grid that brackets the
  root and detects a flat or non-monotone response;
- otherwise: bounded nonlinear least squares
  (:func:`scipy.optimize.least_squares`) on residuals relative to each
  target, with a batched finite-difference Jacobian.

The result says whether the fit is *identified*: the Jacobian of the
targets with respect to the (range-scaled) parameters must have full
column rank. A flat objective, more parameters than targets, parameters
that move the targets only together, or a target that no value in the
bounds reaches are reported (``identified=False`` with notes, or a
:class:`CalibrationError`), never hidden.

Only fitted parameter values leave this module; the targets are
conditions of the fit and are never written into scenario results.
Many parameter points are evaluated as one batch through
:func:`simulator.core.params.with_values` and
:func:`simulator.core.executor.run_summary` (structural keys fall back to
one scenario per point).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from simulator.errors import ResimError
from simulator.io.scenario import Scenario, check_override_key, parse_override_value

#: Relative size of a singular value (of the range-scaled Jacobian) below
#: which a direction counts as unidentified.
RANK_RTOL = 1e-6
#: A target counts as met when |model - target| <= MET_RTOL * max(|target|, 1e-9) ...
MET_RTOL = 1e-4
#: ... or, for targets of zero, below this absolute value.
MET_ATOL = 1e-9
#: Points of the bracketing grid for a one-parameter fit.
GRID_POINTS = 9


class CalibrationError(ResimError):
    """A calibration request cannot be met (bad key, bounds, target out of reach)."""


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A model output and the value it should take.

    Parameters
    ----------
    metric : str
        A summary metric (a key of :func:`simulator.core.results.summary_arrays`),
        e.g. ``gdp_loss_pct`` (% of one year's GDP) or ``dytb_first_shortage_month``.
    value : float
        The target value, in the metric's unit.
    overrides : dict
        Dotted keys applied to the scenario for this target only, e.g.
        ``{"restriction.duration_months": 12}``.
    """

    metric: str
    value: float
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        """The target in words, e.g. ``gdp_loss_pct=0.5 under restriction.duration_months=12``."""
        cond = ", ".join(f"{k}={_fmt_value(v)}" for k, v in self.overrides.items())
        return f"{self.metric}={self.value:g}" + (f" under {cond}" if cond else "")


@dataclass(frozen=True)
class FreeParameter:
    """A numeric dotted key the calibration may move within ``[low, high]``.

    ``start`` is the first guess for least squares (default: the
    scenario's value if strictly inside the bounds, else the midpoint).
    """

    key: str
    low: float
    high: float
    start: float | None = None


def parse_target(text: str) -> Target:
    """Parse ``metric=value[@dotted.key=value...]``.

    Example: ``gdp_loss_pct=0.43@restriction.duration_months=12``.
    Values after ``@`` are TOML values, as with ``--set``.
    """
    _check_text(text, "--target")
    head, *conds = [part.strip() for part in text.split("@")]
    if "=" not in head:
        raise CalibrationError(
            f"--target needs metric=value[@dotted.key=value...] (got {text!r})", file="--target")
    metric, value = (s.strip() for s in head.split("=", 1))
    try:
        number = float(value)
    except ValueError:
        raise CalibrationError(f"target value {value!r} is not a number", file="--target", key=metric) from None
    if not math.isfinite(number):
        raise CalibrationError("target value must be finite", file="--target", key=metric)
    overrides = {}
    for cond in conds:
        if "=" not in cond:
            raise CalibrationError(
                f"condition {cond!r} needs dotted.key=value (e.g. restriction.duration_months=12)",
                file="--target", key=metric)
        k, v = (s.strip() for s in cond.split("=", 1))
        check_override_key(k, "--target")
        overrides[k] = parse_override_value(v, "--target", key=k)
    return Target(metric=metric, value=number, overrides=overrides)


#: Most targets and free parameters of one calibration.
MAX_TARGETS = 50


def _check_text(text: str, option: str) -> None:
    """Refuse control characters (a newline could smuggle a key into the written TOML)."""
    from simulator.io.text import clip, has_control, one_line

    if has_control(text):
        raise CalibrationError("control characters (newline, carriage return, escape, ...) are not allowed; "
                               f"got '{clip(one_line(text), 80)}'", file=option)


def parse_free(text: str) -> FreeParameter:
    """Parse ``dotted.key[:low:high[:start]]``; without bounds the schema's bounds are used."""
    _check_text(text, "--free")
    parts = [p.strip() for p in text.split(":")]
    key = parts[0]
    if len(parts) not in (1, 3, 4) or not key:
        raise CalibrationError(f"--free needs dotted.key or dotted.key:low:high[:start] (got {text!r})", file="--free")
    if len(parts) == 1:
        low, high = schema_bounds(key)
        return FreeParameter(key, low, high)
    try:
        nums = [float(p) for p in parts[1:]]
    except ValueError:
        raise CalibrationError(f"bounds must be numbers (got {text!r})", file="--free", key=key) from None
    return FreeParameter(key, nums[0], nums[1], nums[2] if len(nums) == 3 else None)


def schema_bounds(key: str) -> tuple[float, float]:
    """Finite (low, high) of a key from the scenario schema (open bounds nudged inside)."""
    from simulator.core.params import field_bounds

    try:
        ge, gt, le, lt = field_bounds(key)
    except ResimError:
        raise CalibrationError("unknown key", file="--free", key=key) from None
    low = ge if ge is not None else gt
    high = le if le is not None else lt
    if low is None or high is None:
        raise CalibrationError("the schema gives no finite range; give bounds as key:low:high",
                               file="--free", key=key)
    span = high - low
    if gt is not None and ge is None:
        low = low + 1e-6 * span
    if lt is not None and le is None:
        high = high - 1e-6 * span
    return float(low), float(high)


def _as_targets(targets) -> tuple[Target, ...]:
    if isinstance(targets, Target):
        return (targets,)
    if isinstance(targets, Mapping):
        return tuple(Target(k, float(v)) for k, v in targets.items())
    out = []
    for t in targets:
        if isinstance(t, Target):
            out.append(t)
        elif isinstance(t, str):
            out.append(parse_target(t))
        else:
            metric, value, *rest = t
            out.append(Target(metric, float(value), dict(rest[0]) if rest else {}))
    return tuple(out)


def _as_free(free) -> tuple[FreeParameter, ...]:
    if isinstance(free, (FreeParameter, str)):
        free = [free]
    if isinstance(free, Mapping):
        return tuple(FreeParameter(k, float(lo), float(hi)) for k, (lo, hi) in free.items())
    out = []
    for p in free:
        if isinstance(p, FreeParameter):
            out.append(p)
        elif isinstance(p, str):
            out.append(parse_free(p))
        else:
            out.append(FreeParameter(p[0], float(p[1]), float(p[2]), *(float(x) for x in p[3:4])))
    return tuple(out)


# --------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Calibration:
    """The outcome of :func:`calibrate`.

    Attributes
    ----------
    scenario : Scenario
        The input scenario with the fitted values applied (target
        overrides are *not* applied: they condition the fit only).
    parameters : dict
        Dotted key -> fitted value.
    free, targets : tuple
        What was fitted, to what.
    achieved : numpy.ndarray
        Model value of each target's metric at the fit, (T,).
    residuals : numpy.ndarray
        ``achieved - target``, in each metric's unit, (T,).
    method : str
        ``"brentq"`` or ``"least_squares"``.
    identified : bool
        Whether the targets pin down every free parameter (full-rank
        Jacobian, a unique root, and every target met).
    jacobian : numpy.ndarray
        d metric / d parameter at the fit, (T, P), in metric units per
        parameter unit.
    singular_values : numpy.ndarray
        Of the Jacobian with targets in relative terms and parameters
        scaled by their bound widths (dimensionless, largest first).
    rank : int
        Number of singular values above ``RANK_RTOL`` times the largest.
    notes : tuple of str
        Warnings in plain words: flat response, several roots, parameters
        at a bound, targets not met, unidentified directions.
    n_runs : int
        Scenario runs the calibration simulated.
    """

    scenario: Scenario
    parameters: dict
    free: tuple
    targets: tuple
    achieved: np.ndarray
    residuals: np.ndarray
    method: str
    identified: bool
    jacobian: np.ndarray
    singular_values: np.ndarray
    rank: int
    notes: tuple
    n_runs: int

    @property
    def converged(self) -> bool:
        """Every target met within ``MET_RTOL`` (relative) or ``MET_ATOL``."""
        return bool(np.all(_met(self.achieved, np.array([t.value for t in self.targets]))))

    @property
    def condition_number(self) -> float:
        """Largest over smallest singular value (inf when the smallest is zero or there are none)."""
        sv = self.singular_values
        return float(sv[0] / sv[-1]) if len(sv) and sv[-1] > 0 else math.inf

    def report(self) -> str:
        """A plain-text account of the fit, for the terminal and for docs."""
        lines = [f"Calibration ({self.method}, {self.n_runs} runs): "
                 + ("identified" if self.identified else "NOT identified")]
        lines.append("Fitted parameters:")
        for p in self.free:
            lines.append(f"  {p.key} = {self.parameters[p.key]:.6g}   (bounds {p.low:g} .. {p.high:g})")
        lines.append("Targets:")
        for t, a, r in zip(self.targets, self.achieved, self.residuals, strict=True):
            lines.append(f"  {t.label()}: model {a:.6g} (residual {r:+.2e})")
        lines.append("Sensitivity at the fit (d metric / d parameter):")
        for i, t in enumerate(self.targets):
            row = ", ".join(f"{p.key} {self.jacobian[i, j]:+.4g}" for j, p in enumerate(self.free))
            lines.append(f"  {t.metric}: {row}")
        sv = ", ".join(f"{s:.3g}" for s in self.singular_values)
        lines.append(f"Singular values (range-scaled): {sv}; rank {self.rank} of {len(self.free)}; "
                     f"condition number {self.condition_number:.3g}")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "method": self.method,
            "identified": self.identified,
            "converged": self.converged,
            "parameters": {k: float(v) for k, v in self.parameters.items()},
            "bounds": {p.key: [p.low, p.high] for p in self.free},
            "targets": [{"metric": t.metric, "value": t.value, "overrides": dict(t.overrides),
                         "model": float(a), "residual": float(r)}
                        for t, a, r in zip(self.targets, self.achieved, self.residuals, strict=True)],
            "jacobian": self.jacobian.tolist(),
            "singular_values": self.singular_values.tolist(),
            "rank": self.rank,
            "notes": list(self.notes),
            "n_runs": self.n_runs,
        }


# --------------------------------------------------------------------------
# Evaluating the model at many parameter points
# --------------------------------------------------------------------------

class _Model:
    """Target metrics at parameter points, batched per distinct condition."""

    def __init__(self, scenario: Scenario, targets: tuple, free: tuple):
        from simulator.core.spec import STRUCTURAL_KEYS

        self.targets = targets
        self.keys = [p.key for p in free]
        self.structural = any(k in STRUCTURAL_KEYS for k in self.keys)
        # Targets that share their overrides share one batch.
        self.groups: dict[str, tuple[Scenario, list[int]]] = {}
        for i, t in enumerate(targets):
            tag = json.dumps(dict(t.overrides), sort_keys=True, default=str)
            if tag not in self.groups:
                base = scenario.with_overrides(dict(t.overrides)) if t.overrides else scenario
                self.groups[tag] = (base, [])
            self.groups[tag][1].append(i)
        self.n_runs = 0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Metric values, (N, T), for parameter points X, (N, P)."""
        X = np.atleast_2d(np.asarray(X, float))
        out = np.empty((len(X), len(self.targets)))
        summaries = self._summaries(X)
        for (_, idx), summary in zip(self.groups.values(), summaries, strict=True):
            for i in idx:
                metric = self.targets[i].metric
                if metric not in summary:
                    raise CalibrationError(
                        f"unknown metric; choose one of: {', '.join(sorted(summary))}",
                        file="--target", key=metric)
                out[:, i] = summary[metric]
        self.n_runs += len(X) * len(self.groups)
        bad = ~np.isfinite(out)
        if bad.any():
            n, i = np.argwhere(bad)[0]
            at = ", ".join(f"{k}={X[n, j]:g}" for j, k in enumerate(self.keys))
            raise CalibrationError(
                f"is not finite at {at} (e.g. no shortage occurs); narrow the bounds",
                file="--target", key=self.targets[i].metric)
        return out

    def _summaries(self, X: np.ndarray) -> list[dict]:
        """One summary dict per target group; one engine call when the groups share a structure."""
        from simulator.core.executor import run_summary
        from simulator.core.params import stack, with_values
        from simulator.core.spec import batch_key

        bases = [base for base, _ in self.groups.values()]
        if self.structural:
            out = []
            for base in bases:
                parts = [run_summary(stack([base.with_overrides(dict(zip(self.keys, map(float, x), strict=True)))]))
                         for x in X]
                out.append({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
            return out
        tables = [with_values(base, len(X), {k: X[:, j] for j, k in enumerate(self.keys)}) for base in bases]
        if len({batch_key(b) for b in bases}) > 1:
            return [run_summary(t) for t in tables]
        both = run_summary(_concat(tables))
        n = len(X)
        return [{k: v[g * n:(g + 1) * n] for k, v in both.items()} for g in range(len(tables))]


def _concat(tables: list):
    """Stack parameter tables that share a structure along the scenario axis.

    Monthly severity profiles of different lengths are padded with their
    last value, which is what a shorter profile means.
    """
    from simulator.core.params import ParamTable

    values = {}
    for key in tables[0].values:
        cols = [t.values[key] for t in tables]
        if cols[0].ndim == 2:
            width = max(c.shape[1] for c in cols)
            cols = [np.concatenate([c, np.repeat(c[:, -1:], width - c.shape[1], axis=1)], axis=1) for c in cols]
        values[key] = np.concatenate(cols, axis=0)
    return ParamTable(spec=tables[0].spec, values=values)


def _met(achieved, values) -> np.ndarray:
    return np.abs(achieved - values) <= np.maximum(MET_RTOL * np.abs(values), MET_ATOL)


def _check_free(scenario: Scenario, free: tuple) -> None:
    from simulator.core.params import check_values

    seen = set()
    for p in free:
        if p.key in seen:
            raise CalibrationError("is given twice", file="--free", key=p.key)
        seen.add(p.key)
        try:
            value = scenario.get(p.key)
        except ResimError as exc:
            raise CalibrationError(exc.message, file="--free", key=p.key) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CalibrationError(f"is not a single number (it is {value!r}); only numeric keys can be fitted",
                                   file="--free", key=p.key)
        if not (math.isfinite(p.low) and math.isfinite(p.high) and p.low < p.high):
            raise CalibrationError(f"bounds must be finite with low < high (got {p.low:g}..{p.high:g})",
                                   file="--free", key=p.key)
        try:
            check_values(p.key, np.array([p.low, p.high]))
        except ResimError as exc:
            raise CalibrationError(f"bounds {p.low:g}..{p.high:g}: {exc.message}", file="--free", key=p.key) from None
        if p.start is not None and not p.low <= p.start <= p.high:
            raise CalibrationError(f"start {p.start:g} is outside the bounds", file="--free", key=p.key)


# --------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------

def calibrate(scenario: Scenario, targets, free_parameters, xtol: float = 1e-9) -> Calibration:
    """Fit free parameters so that model outputs hit targets.

    Parameters
    ----------
    scenario : Scenario
        The scenario to calibrate (e.g. ``load_scenario()``).
    targets : Target, mapping, or sequence
        ``{"gdp_loss_pct": 0.43}`` (no conditions), ``Target`` objects,
        ``(metric, value, overrides)`` tuples or ``"metric=value@key=value"``
        strings, e.g. ``Target("gdp_loss_pct", 0.43,
        {"restriction.duration_months": 12})``. ``gdp_loss_pct`` is the
        cumulative GDP loss over the horizon in % of one year's GDP.
    free_parameters : FreeParameter, mapping, or sequence
        ``{"economy.criticality_scale": (0.2, 3.0)}``, ``FreeParameter``
        objects, ``(key, low, high[, start])`` tuples or
        ``"key:low:high"`` strings.
    xtol : float
        Tolerance on parameters, relative to each bound width.

    Returns
    -------
    Calibration

    Raises
    ------
    CalibrationError
        Unknown or non-numeric key, bad bounds, unknown metric, or (one
        parameter) a target that no value within the bounds reaches.
    """
    targets = _as_targets(targets)
    free = _as_free(free_parameters)
    if len(targets) > MAX_TARGETS or len(free) > MAX_TARGETS:
        raise CalibrationError(f"at most {MAX_TARGETS} targets and {MAX_TARGETS} free parameters",
                               file="--target" if len(targets) > MAX_TARGETS else "--free")
    if not targets:
        raise CalibrationError("give at least one target (metric=value)", file="--target")
    if not free:
        raise CalibrationError("give at least one free parameter (dotted.key:low:high)", file="--free")
    _check_free(scenario, free)
    model = _Model(scenario, targets, free)
    if len(free) == 1 and len(targets) == 1:
        x, notes, unique = _solve_one(model, free[0], targets[0], xtol)
        method = "brentq"
    else:
        x, notes, unique = _solve_many(model, scenario, free, targets, xtol)
        method = "least_squares"
    values = np.array([t.value for t in targets])
    J, f_fit = _jacobian(model, free, x)
    achieved = f_fit
    scale = np.where(np.abs(values) > 0, np.abs(values), 1.0)
    widths = np.array([p.high - p.low for p in free])
    sv = np.linalg.svd(J / scale[:, None] * widths[None, :], compute_uv=False)
    sv_full = np.zeros(len(free))
    sv_full[:len(sv)] = sv
    rank = int(np.sum(sv_full > RANK_RTOL * max(sv_full.max(), 1e-300))) if sv_full.max() > 0 else 0
    notes = list(notes)
    if rank < len(free):
        notes.append(_unidentified_note(J / scale[:, None] * widths[None, :], free, targets, rank))
    if len(targets) < len(free):
        notes.append(f"{len(free)} free parameters but only {len(targets)} target(s): "
                     "the targets cannot pin down every parameter")
    met = _met(achieved, values)
    for t, a, ok in zip(targets, achieved, met, strict=True):
        if not ok:
            notes.append(f"target {t.label()} not met: model gives {a:.6g}")
    for p, v in zip(free, x, strict=True):
        if len(free) > 1 and (v <= p.low + 1e-6 * (p.high - p.low) or v >= p.high - 1e-6 * (p.high - p.low)):
            notes.append(f"{p.key} = {v:.6g} sits at a bound; the best fit may lie outside {p.low:g}..{p.high:g}")
    identified = rank == len(free) and unique and bool(met.all())
    params = {p.key: float(v) for p, v in zip(free, x, strict=True)}
    return Calibration(
        scenario=scenario.with_overrides(params), parameters=params, free=free, targets=targets,
        achieved=achieved, residuals=achieved - values, method=method, identified=identified,
        jacobian=J, singular_values=sv_full, rank=rank, notes=tuple(notes), n_runs=model.n_runs,
    )


def _solve_one(model: _Model, p: FreeParameter, t: Target, xtol: float):
    """Bracket on a grid (one batch), then brentq in the bracket."""
    from scipy.optimize import brentq

    grid = np.linspace(p.low, p.high, GRID_POINTS)
    g = model(grid[:, None])[:, 0] - t.value
    tol = MET_RTOL * max(abs(t.value), MET_ATOL)
    notes = []
    if np.ptp(g) <= tol:
        span = f"{g.min() + t.value:.6g} to {g.max() + t.value:.6g}"
        if np.abs(g).max() > tol:
            raise CalibrationError(
                f"the response is flat: over {p.key} in {p.low:g}..{p.high:g} the model gives {span}; "
                "this parameter cannot move the target", file="--free", key=p.key)
        notes.append(f"flat objective: every {p.key} in {p.low:g}..{p.high:g} gives {span}, so the "
                     "target does not determine it; the start value is reported")
        x0 = p.start if p.start is not None else 0.5 * (p.low + p.high)
        return np.array([x0]), notes, False
    sign = np.where(np.abs(g) <= tol, 0.0, np.sign(g))
    brackets = [i for i in range(len(g) - 1) if sign[i] == 0 or sign[i] * sign[i + 1] < 0]
    if sign[-1] == 0:
        brackets.append(len(g) - 1)
    if not brackets:
        raise CalibrationError(
            f"target {t.label()} is out of reach: over {p.key} in {p.low:g}..{p.high:g} the model "
            f"gives {g.min() + t.value:.6g} to {g.max() + t.value:.6g}; widen the bounds or "
            "choose another parameter", file="--free", key=p.key)
    d = np.diff(g)
    if (d > tol).any() and (d < -tol).any():
        notes.append(f"the response to {p.key} is not monotone over {p.low:g}..{p.high:g}")

    def f(x):
        return float(model(np.array([[x]]))[0, 0] - t.value)

    roots = []
    for i in brackets:
        if sign[i] == 0:
            roots.append(float(grid[i]))
        elif not (i + 1 in brackets and sign[i + 1] == 0):
            roots.append(brentq(f, grid[i], grid[i + 1], xtol=xtol * (p.high - p.low),
                                rtol=4 * np.finfo(float).eps))
    unique = len(roots) == 1
    if not unique:
        notes.append(f"{len(roots)} values of {p.key} hit the target ({', '.join(f'{r:.6g}' for r in roots)}); "
                     "the smallest is reported")
    return np.array([roots[0]]), notes, unique


def _solve_many(model: _Model, scenario: Scenario, free: tuple, targets: tuple, xtol: float):
    from scipy.optimize import least_squares

    lows = np.array([p.low for p in free])
    highs = np.array([p.high for p in free])
    x0 = []
    for p in free:
        if p.start is not None:
            x0.append(p.start)
        else:
            v = float(scenario.get(p.key))
            x0.append(v if p.low < v < p.high else 0.5 * (p.low + p.high))
    values = np.array([t.value for t in targets])
    scale = np.where(np.abs(values) > 0, np.abs(values), 1.0)
    cache: dict[bytes, np.ndarray] = {}

    def fun(x):
        key = np.asarray(x, float).tobytes()
        if key not in cache:
            cache[key] = model(np.asarray(x)[None, :])[0]
        return (cache[key] - values) / scale

    def jac(x):
        J, f0 = _jacobian(model, free, x)
        cache[np.asarray(x, float).tobytes()] = f0
        return J / scale[:, None]

    res = least_squares(fun, np.array(x0, float), jac=jac, bounds=(lows, highs), x_scale=highs - lows,
                        method="trf", xtol=xtol, ftol=1e-10, gtol=1e-10, max_nfev=100)
    notes = [] if res.success else [f"least_squares stopped: {res.message}"]
    return res.x, notes, True


def _jacobian(model: _Model, free: tuple, x) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences (backward at an upper bound), all points in one batch.

    Returns (J, f(x)) with J (T, P) in metric units per parameter unit.
    """
    x = np.asarray(x, float)
    widths = np.array([p.high - p.low for p in free])
    h = 1e-4 * widths
    highs = np.array([p.high for p in free])
    step = np.where(x + h <= highs, h, -h)
    points = np.vstack([x[None, :], x[None, :] + np.diag(step)])
    f = model(points)
    J = (f[1:] - f[0]).T / step[None, :]
    return J, f[0]


def _unidentified_note(Js: np.ndarray, free: tuple, targets: tuple, rank: int) -> str:
    if rank == 0:
        return ("the targets do not respond to any free parameter near the fit (flat objective): "
                "the values reported are not determined by the targets")
    _, _, vt = np.linalg.svd(Js)
    v = vt[-1]
    v = v / np.abs(v).max()
    combo = " ".join(f"{c:+.2f}*{p.key}" for c, p in zip(v, free, strict=True) if abs(c) > 0.01)
    return (f"not identified: moving along ({combo}) (in units of each bound width) leaves "
            f"the targets unchanged; add a target that separates these parameters or fix one of them")


# --------------------------------------------------------------------------
# Writing a calibrated scenario
# --------------------------------------------------------------------------

def _fmt_value(v) -> str:
    """Render a value short and on one line, for labels and comments (TOML-like)."""
    from simulator.io.text import clip, one_line

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return clip(one_line(json.dumps(v, ensure_ascii=False)), 120)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    return clip(one_line(repr(v)), 120)


def _toml_value(v, key: str):
    """Convert a value to what tomli-w writes: plain Python, finite numbers only."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            raise CalibrationError(f"cannot write a non-finite value ({v})", key=key)
        return float(v)
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)):
        return [_toml_value(x, key) for x in v]
    if v is None:
        raise CalibrationError("cannot write an empty value to TOML", key=key)
    raise CalibrationError(f"cannot write {_fmt_value(v)} to TOML", key=key)


def rounded(x: float, digits: int = 6) -> float:
    """``x`` to ``digits`` significant digits (what is written to files)."""
    return float(f"{x:.{digits}g}")


def _nest(values: Mapping[str, Any]) -> dict:
    """``{"a.b": 1, "c": 2}`` -> ``{"a": {"b": 1}, "c": 2}`` (a key under a value is refused)."""
    out: dict = {}
    for dotted, value in values.items():
        parts = dotted.split(".")
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise CalibrationError(f"{part} is a value, not a table", key=dotted)
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise CalibrationError("is a table, not a value", key=dotted)
        node[parts[-1]] = value
    return out


def _comment(text: str) -> str:
    """One comment line: control characters (a newline above all) shown as escapes."""
    from simulator.io.text import one_line

    return "# " + one_line(text) if text else "#"


def calibrated_toml(cal: Calibration, base_file: str | Path, out_file: str | Path,
                    sets: Mapping[str, Any] | None = None, command: str | None = None,
                    digits: int = 6) -> str:
    """The text of a scenario that inherits from ``base_file`` and sets the fitted values.

    The values are written by a TOML writer (``tomli_w``), so no value can
    break out of its string or add a key; the comments above them have every
    control character escaped, so no comment can end early.

    Parameters
    ----------
    cal : Calibration
    base_file : path
        The scenario that was calibrated; written as ``base`` relative to ``out_file``.
    out_file : path
        Where the text will be written (for the relative ``base`` path).
    sets : dict, optional
        ``--set`` overrides the calibration ran under; written too, so the
        file reproduces the calibrated scenario.
    command : str, optional
        The command line, recorded in a comment.
    digits : int
        Significant digits of the fitted values.
    """
    import tomli_w

    from simulator._version import __version__

    base_rel = os.path.relpath(Path(base_file).resolve(), Path(out_file).resolve().parent)
    lines = [
        f"Calibrated by resim {__version__} ({cal.method}); the fitted values are the only",
        "change to the base scenario (and the --set overrides it ran under). The targets are",
        "conditions of the fit, not results:",
    ]
    for t, a in zip(cal.targets, cal.achieved, strict=True):
        lines.append(f"  {t.label()}  (model at the fit: {a:.6g})")
    lines.append(f"Identified: {'yes' if cal.identified else 'NO'}"
                 f" (rank {cal.rank} of {len(cal.free)}, condition number {cal.condition_number:.3g})")
    lines += [f"Note: {n}" for n in cal.notes]
    lines.append("Fitted: " + "; ".join(f"{p.key} = {rounded(cal.parameters[p.key], digits):.6g} "
                                        f"(bounds {p.low:g} .. {p.high:g})" for p in cal.free))
    if command:
        lines.append(f"Reproduce: {command}")
    values: dict[str, Any] = {}
    for k, v in (sets or {}).items():
        if k not in cal.parameters:
            values[k] = _toml_value(v, k)
    for p in cal.free:
        values[p.key] = _toml_value(rounded(cal.parameters[p.key], digits), p.key)
    if "base" in values:
        raise CalibrationError("'base' is set by the calibration itself", key="base")
    doc = {"base": base_rel.replace(os.sep, "/"), **_nest(values)}
    header = "\n".join(_comment(line) for line in lines)
    return header + "\n\n" + tomli_w.dumps(doc)


def write_calibrated(cal: Calibration, base_file: str | Path, out_file: str | Path,
                     sets: Mapping[str, Any] | None = None, command: str | None = None,
                     force: bool = False) -> Path:
    """Write :func:`calibrated_toml` atomically and check that it loads to the fitted values.

    The file is written to a temporary name next to ``out_file`` (the user's
    usual permissions), loaded and checked, then moved into place (an existing
    file only with ``force``); on any failure nothing is left.
    """
    from simulator.io.outputs import write_file
    from simulator.io.scenario import load_scenario

    out = Path(out_file)
    check_out_file(out, force)
    text = calibrated_toml(cal, base_file, out, sets=sets, command=command)

    def verify(tmp: Path) -> None:
        loaded = load_scenario(tmp)
        for key, value in cal.parameters.items():
            if not math.isclose(float(loaded.get(key)), rounded(value), rel_tol=1e-12):
                raise CalibrationError(f"written file does not reproduce {key}", file=str(out), key=key)

    out.parent.mkdir(parents=True, exist_ok=True)
    return write_file(out, lambda fh: fh.write(text.encode("utf-8")), overwrite=force, verify=verify)


def check_out_file(out: Path, force: bool) -> None:
    """Refuse to overwrite an existing file unless forced (checked before any work)."""
    out = Path(out)
    if out.is_dir():
        raise ResimError("is a directory; --out takes a .toml file name", file=str(out))
    if out.exists() and not force:
        raise ResimError("exists; use --force to overwrite", file=str(out))
