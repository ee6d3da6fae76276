"""Seeded draws of uncertain parameters, truncated to the schema's bounds.

One function, :func:`sample_values`, serves Monte Carlo (``[uncertainty]``),
the calibration's priors and the posterior bands of every run: each key gets
its own random stream (seed, CRC of the key), so adding a key never changes
the draws of the others.
"""

from __future__ import annotations

import math
import zlib
from typing import Mapping

from simulator.errors import ScenarioError
from simulator.io.scenario import Distribution

#: A normal or lognormal distribution must keep at least this probability
#: inside the schema's bounds; otherwise it is almost surely a typo.
MIN_MASS_INSIDE_BOUNDS = 0.01


def sample_values(distributions: Mapping[str, Distribution | Mapping], n: int, seed: int = 0,
                  bounded: bool = True) -> dict:
    """Draw ``n`` values per key, truncated to the schema's bounds.

    Parameters
    ----------
    distributions : dict
        Dotted key -> Distribution (or its dict form).
    n : int
    seed : int
    bounded : bool
        Truncate to the schema's bounds of each key (``False`` for variables
        that are not scenario keys, such as a calibration target's reading).

    Returns
    -------
    dict
        Dotted key -> float array (n,).
    """
    import numpy as np
    from scipy import stats

    from simulator.core.params import field_bounds

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ScenarioError(f"the seed must be a non-negative integer (got {seed!r})", file="sample", key="seed")
    out = {}
    for key, dist in distributions.items():
        dist = _as_distribution(key, dist)
        ge, gt, le, lt = field_bounds(key) if bounded else (None, None, None, None)
        lo = ge if ge is not None else (np.nextafter(gt, np.inf) if gt is not None else -np.inf)
        hi = le if le is not None else (np.nextafter(lt, -np.inf) if lt is not None else np.inf)
        where = f"uncertainty.{key}"
        # Distribution's validator guarantees the fields each kind needs
        if dist.dist in ("uniform", "triangular"):
            assert dist.low is not None and dist.high is not None
            if dist.low < lo or dist.high > hi:
                raise ScenarioError(
                    f"the range {dist.low:g}..{dist.high:g} leaves the allowed range "
                    f"{_fmt_range(lo, hi)}", file="uncertainty", key=where)
            if dist.high == dist.low:
                frozen = None
            elif dist.dist == "uniform":
                frozen = stats.uniform(loc=dist.low, scale=dist.high - dist.low)
            else:
                assert dist.mode is not None
                width = dist.high - dist.low
                frozen = stats.triang(c=(dist.mode - dist.low) / width, loc=dist.low, scale=width)
        elif dist.dist == "normal":
            frozen = stats.norm(loc=dist.mean, scale=dist.sd)
        else:
            # mean and sd of the parameter itself -> parameters of its logarithm
            assert dist.mean is not None and dist.sd is not None
            sigma2 = math.log1p((dist.sd / dist.mean) ** 2)
            frozen = stats.lognorm(s=math.sqrt(sigma2), scale=math.exp(math.log(dist.mean) - sigma2 / 2))
        rng = np.random.default_rng([int(seed), zlib.crc32(key.encode("utf-8"))])
        u = rng.random(n)
        if frozen is None:
            assert dist.low is not None             # a zero-width uniform or triangular range
            out[key] = np.full(n, float(dist.low))
            continue
        f_lo, f_hi = frozen.cdf(lo), frozen.cdf(hi)
        if f_hi - f_lo < MIN_MASS_INSIDE_BOUNDS:
            raise ScenarioError(
                f"less than {100 * MIN_MASS_INSIDE_BOUNDS:g} % of this {dist.dist} distribution lies in "
                f"the allowed range {_fmt_range(lo, hi)}", file="uncertainty", key=where)
        # inverse-CDF sampling of the distribution truncated to [lo, hi]
        out[key] = np.clip(frozen.ppf(f_lo + u * (f_hi - f_lo)), lo, hi)
    return out


def _as_distribution(key: str, dist) -> Distribution:
    from pydantic import ValidationError

    if isinstance(dist, Distribution):
        return dist
    try:
        return Distribution.model_validate(dist)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        field = ".".join(str(p) for p in err["loc"])
        raise ScenarioError(f"{field + ': ' if field else ''}{msg}", file="uncertainty",
                            key=f"uncertainty.{key}") from None


def _fmt_range(lo: float, hi: float) -> str:
    lo_t = "-inf" if lo == -math.inf else f"{lo:g}"
    hi_t = "inf" if hi == math.inf else f"{hi:g}"
    return f"[{lo_t}, {hi_t}]"
