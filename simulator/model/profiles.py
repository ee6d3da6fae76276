"""Time profiles of a restriction on the material layer's step grid.

Pure functions over numpy arrays with a leading scenario axis ``B`` and a
step axis ``S`` (steps of ``1 / steps_per_month`` months). Equations in
``docs/model.md`` (sections "Time" and "Restriction").
"""

from __future__ import annotations

import numpy as np


def step_times(horizon_months: int, steps_per_month: int) -> np.ndarray:
    """Start time of each step, months, (S,)."""
    return np.arange(horizon_months * steps_per_month) / steps_per_month


def restricted_fraction(start, duration, horizon_months: int, steps_per_month: int) -> np.ndarray:
    """Share of each step inside ``[start, start + duration)``, (B, S).

    Fractional overlap keeps results continuous in start and duration,
    which calibration's root finding relies on.

    Parameters
    ----------
    start, duration : array_like (B,)
        Restriction start and length, months.
    """
    dt = 1.0 / steps_per_month
    t0 = step_times(horizon_months, steps_per_month)[None, :]
    lo = np.asarray(start, float)[:, None]
    hi = lo + np.asarray(duration, float)[:, None]
    frac = np.minimum(t0 + dt, hi)                       # in place from here: (B, S) arrays are large
    frac -= np.maximum(t0, lo)
    frac /= dt
    return np.clip(frac, 0.0, 1.0, out=frac)


def severity_path(profile, start, restricted, horizon_months: int, steps_per_month: int) -> np.ndarray:
    """Share of Chinese shipments withheld in each step, (B, S), times ``restricted``.

    Parameters
    ----------
    profile : array_like (B, P)
        Severity (share withheld, 0-1) in each month of the restriction; the
        last value holds after its end.
    start : array_like (B,)
        Restriction start, months.
    restricted : ndarray (B, S)
        Weights per step (:func:`restricted_fraction`, or ones for the
        severity in force without weighting).

    Notes
    -----
    A step that straddles two months of the profile gets their average,
    weighted by the overlap, so the path is continuous in ``start``.
    """
    profile = np.asarray(profile, float)
    if profile.shape[1] == 1:                            # one severity: no month lookup needed
        return profile * restricted
    dt = 1.0 / steps_per_month
    t0 = step_times(horizon_months, steps_per_month)[None, :] - np.asarray(start, float)[:, None]
    out = np.zeros_like(np.asarray(restricted, float))
    P = profile.shape[1]
    for j in range(P):
        lo = j if j > 0 else -np.inf                     # month j of the restriction, the last one open-ended
        hi = j + 1 if j < P - 1 else np.inf
        overlap = np.clip(np.minimum(t0 + dt, hi) - np.maximum(t0, lo), 0.0, dt) / dt
        out += overlap * profile[:, j:j + 1]
    return out * restricted


def ramp_progress(start, duration, delay, ramp, horizon_months: int, steps_per_month: int) -> np.ndarray:
    """Linear ramp from ``start + delay`` over ``ramp`` months, (B, S), in [0, 1].

    Frozen when the restriction ends (effort stops); zero without a
    restriction. ``ramp = 0`` is a step at ``start + delay``.
    """
    t_mid = step_times(horizon_months, steps_per_month)[None, :] + 0.5 / steps_per_month
    start = np.asarray(start, float)[:, None]
    duration = np.asarray(duration, float)[:, None]
    elapsed = np.minimum(t_mid, start + duration)
    elapsed -= start
    elapsed -= np.asarray(delay, float)[:, None]
    ramp = np.asarray(ramp, float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # ramp 1e-310: inf, clipped to 1
        if (ramp > 0).all():                             # the usual case, in place
            elapsed /= ramp
            prog = elapsed
        else:                                            # ramp 0: a step, as the share of the step after it
            step = np.clip((elapsed + 0.5 / steps_per_month) * steps_per_month, 0.0, 1.0)
            prog = np.where(ramp > 0, elapsed / ramp, step)
    np.clip(prog, 0.0, 1.0, out=prog)
    return prog if (duration > 0).all() else np.where(duration > 0, prog, 0.0)
