"""Uncertainty bands: every run on posterior draws, and numbers rounded to what the band supports.

A run's *central* value is the scenario itself (its defaults are the posterior
medians of the calibrated parameters, ``docs/validation.md``). Its *band* is the
5-95 % range of the same scenario run on ``draws`` rows of the shipped
posterior (``data/posterior.csv``), in one batch with the central row:

- a calibrated key the scenario sets itself (:attr:`Scenario.explicit_keys`)
  keeps the scenario's value: what a user wrote down is theirs;
- the scenario's own ``[uncertainty]`` table is drawn too (seeded) and paired
  row by row with the posterior draws; where it names a calibrated key, the
  user's distribution replaces the posterior's.

Pure functions (arrays in, arrays out) apart from reading the posterior.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from simulator.core.spec import STRUCTURAL_KEYS
from simulator.errors import ResimError, ScenarioError
from simulator.io.scenario import Scenario

#: Posterior draws per run by default (``resim run --draws``).
DEFAULT_DRAWS = 200
#: Percentiles reported with every banded number.
BAND_PERCENTILES = (5.0, 50.0, 95.0)
#: Suffixes of the banded columns and keys, in BAND_PERCENTILES order.
BAND_SUFFIXES = ("_p05", "_p50", "_p95")
#: Summary metrics that carry a band.
BAND_METRICS = (
    "gdp_loss_pct", "gdp_loss_jpy_bn", "gdp_loss_gross_pct", "gdp_loss_gross_jpy_bn",
    "output_loss_jpy_bn", "peak_monthly_gdp_loss_jpy_bn",
)


def band_values(scenario: Scenario, draws: int, seed: int = 0,
                posterior: Mapping[str, np.ndarray] | None = None,
                uncertainty: bool = True) -> dict[str, np.ndarray]:
    """Parameter values of a scenario's band draws, dotted key -> (draws,).

    Parameters
    ----------
    scenario : Scenario
    draws : int
        Number of draws (rows of the posterior, chosen with ``seed``; with
        replacement only when more are asked for than it holds).
    seed : int
    posterior : mapping, optional
        Dotted key -> (n,) draws; default the shipped ``data/posterior.csv``.
    uncertainty : bool
        Also draw the scenario's ``[uncertainty]`` table.

    Returns
    -------
    dict
        Only keys the scenario leaves at their defaults, plus the keys of its
        ``[uncertainty]`` table.
    """
    from simulator.core.sampling import sample_values

    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ScenarioError(f"the number of draws must be a positive integer (got {draws!r})", key="draws")
    if posterior is None:
        from simulator.io.posterior import load_posterior

        posterior = load_posterior()[0]
    out: dict[str, np.ndarray] = {}
    if posterior:
        n_post = len(next(iter(posterior.values())))
        rows = np.random.default_rng([int(seed), 2]).choice(n_post, size=draws, replace=draws > n_post)
        for key, values in posterior.items():
            if key in scenario.explicit_keys or key in STRUCTURAL_KEYS or not _has_key(scenario, key):
                continue
            out[key] = np.asarray(values, float)[rows]
    if uncertainty and scenario.uncertainty:
        out.update(sample_values(dict(scenario.uncertainty), draws, seed))
    return out


def _has_key(scenario: Scenario, key: str) -> bool:
    try:
        scenario.get(key)
    except ResimError:
        return False
    return True


def central_and_draws(scenario: Scenario, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The band's values with the scenario's own values prepended as row 0 (the central run)."""
    out = {}
    for key, v in values.items():
        own = scenario.get(key)
        own = float(own[0] if isinstance(own, list) else own)
        out[key] = np.concatenate([[own], np.asarray(v, float)])
    return out


def percentiles(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """The 5th, 50th and 95th percentiles of ``x`` along ``axis`` (stacked on a new first axis).

    NaN entries (an event that never happens in a draw) are ignored; a slice
    of only NaN gives NaN.
    """
    x = np.asarray(x, float)
    if np.isnan(x).any():
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return np.nanpercentile(x, BAND_PERCENTILES, axis=axis)
    return np.percentile(x, BAND_PERCENTILES, axis=axis)


def decimals_for(low: float, high: float, significant: int | None = None) -> int:
    """Decimal places a number with the band ``low``-``high`` supports.

    The band's width keeps one significant digit, or two when its leading
    digit is 1-3 (so a width of 0.12 is not rounded to 0.1: the rule of
    particle physicists' tables, simplified). A band 0.4-1.1 gives 1
    decimal: "0.7 (0.4-1.1)"; 2,200-6,500 gives -2 (hundreds). A zero-width
    band keeps two significant digits of its value. ``significant`` fixes
    the number of digits instead.

    Returns
    -------
    int
        Decimals for :func:`round` (negative: tens, hundreds...).
    """
    width = abs(float(high) - float(low))
    ref = width if width > 0 else max(abs(float(low)), abs(float(high)))
    if not math.isfinite(ref) or ref == 0:
        return 0
    exponent = math.floor(math.log10(ref))
    if significant is None:
        leading = ref / 10.0 ** exponent
        significant = 2 if (leading < 3.55 or width == 0) else 1
    return int(significant - 1 - exponent)


def round_to(value: float, decimals: int) -> float:
    """``value`` rounded to ``decimals`` places (negative: tens, hundreds...)."""
    return float(round(float(value), decimals))


def format_band(central: float | None, low: float | None, high: float | None, unit: str = "",
                thousands: bool = False, label: str = "90 % band ") -> str:
    """"0.7 % (90 % band 0.2-1.1 %)", rounded to what the band supports.

    Without a band (``low``/``high`` None), the central value with three
    significant digits. ``label=""`` gives the short form "0.7 (0.4-1.1)".
    """
    if central is None or not math.isfinite(central):
        return "n/a"
    sep = "," if thousands else ""
    suffix = f" {unit}" if unit else ""
    if low is None or high is None:
        d = decimals_for(central, central, 3)
        return f"{_fmt(central, d, sep)}{suffix}"
    d = decimals_for(low, high)
    lo, hi = min(low, high), max(low, high)
    if round_to(lo, d) == round_to(hi, d) == round_to(central, d):
        return f"{_fmt(central, d, sep)}{suffix} (in every draw)"
    return f"{_fmt(central, d, sep)}{suffix} ({label}{_fmt(lo, d, sep)}–{_fmt(hi, d, sep)}{suffix})"


def _fmt(x: float, decimals: int, sep: str) -> str:
    x = round_to(x, decimals)
    if x == 0:
        x = 0.0                                  # no "-0"
    return f"{x:{sep}.{max(decimals, 0)}f}"


def round_frame(df, columns: Sequence[str] | None = None, significant: int | None = None):
    """Round banded columns of a table to what their bands support.

    Each ``<name>`` column with ``<name>_p05`` and ``<name>_p95`` beside it is
    rounded, with its band columns, to the decimals of the *narrowest* band in
    the column (so a column is read at one precision). Returns a copy.
    """
    out = df.copy()
    names = columns or [c for c in df.columns if f"{c}_p05" in df.columns and f"{c}_p95" in df.columns]
    for c in names:
        lo, hi = out[f"{c}_p05"].to_numpy(float), out[f"{c}_p95"].to_numpy(float)
        widths = np.abs(hi - lo)
        widths = widths[np.isfinite(widths) & (widths > 0)]
        if not len(widths):
            continue
        d = decimals_for(0.0, float(widths.min()), significant)
        for col in [c] + [f"{c}{s}" for s in BAND_SUFFIXES if f"{c}{s}" in out.columns]:
            out[col] = out[col].round(d)
    return out


def band_column(central: Sequence[float], low: Sequence[float], high: Sequence[float],
                thousands: bool = False) -> list[str]:
    """Strings "0.7 (0.4–1.1)" for a table column, all at one precision (that of the narrowest band)."""
    c, lo, hi = (np.asarray(v, float) for v in (central, low, high))
    widths = np.abs(hi - lo)
    widths = widths[np.isfinite(widths) & (widths > 0)]
    if len(widths):
        d = decimals_for(0.0, float(widths.min()))
    else:
        d = decimals_for(0.0, float(np.nanmax(np.abs(c)) or 0), 3)
    sep = "," if thousands else ""
    return [f"{_fmt(a, d, sep)} ({_fmt(b, d, sep)}–{_fmt(e, d, sep)})" if np.isfinite(a) else "n/a"
            for a, b, e in zip(c, lo, hi, strict=True)]
