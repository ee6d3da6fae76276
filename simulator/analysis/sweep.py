"""Sweeps and Monte Carlo: many scenarios as one batch, tidy frames out.

:func:`sweep` runs every combination of a grid of dotted keys;
:func:`sample` draws uncertain parameters from distributions. Both turn
the numeric keys into parameter arrays with
:func:`simulator.core.params.with_values` and run them as one batch through
:func:`simulator.core.executor.run_summary` (no scenario objects, no Python
loop over runs). Only *structural* keys (``spec.STRUCTURAL_KEYS``,
list-valued keys such as ``inventory.cover_months`` or a severity
profile, ``None``) need separate batches: the grid is grouped by them
and each group is built once with :meth:`Scenario.with_overrides`.

The helpers at the end turn the frames into percentiles and rank
correlations for reports and the fan chart.

Heavy imports (numpy, pandas, scipy) stay inside functions so that
``import simulator`` and ``resim run`` start fast. ``simulator.sweep`` is
the *function* (bound in ``simulator/__init__.py``); import the helpers
with ``from simulator.sweep import summarize_samples``.
"""

from __future__ import annotations

import inspect
import itertools
import math
from pathlib import Path
from typing import Callable, Mapping, Sequence

from simulator.core.results import ECONOMY_VARIABLES
from simulator.core.sampling import _as_distribution, sample_values
from simulator.errors import ScenarioError
from simulator.io.scenario import Distribution, Scenario, load_scenario

#: Percentiles reported by default (5-95 % and 25-75 % bands, median).
DEFAULT_PERCENTILES = (5, 25, 50, 75, 95)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

def sweep(scenario: Scenario | str | Path | None = None, grid: Mapping[str, Sequence] | None = None,
          monthly: bool | Sequence[str] = False, progress: Callable[[int], None] | bool | None = None,
          client=None, *, draws: int | None = None, seed: int = 0):
    """Run every combination of a grid of dotted keys.

    Parameters
    ----------
    scenario : Scenario, str, Path or None
        The base scenario (a loaded one, a file, or ``None`` for the bundled default).
    grid : dict
        Dotted key -> list of values, e.g.
        ``{"restriction.duration_months": [1, 3, 6, 12, 24],
        "stockpile.national.cover_days": [0, 60, 180]}``.
        Combinations are taken in order, the first key varying slowest.
    monthly : bool or list of str
        ``False``: one row per combination with the summary metrics.
        ``True``: the tidy monthly table (materials and economy; no
        sectors, which would be large) with a ``scenario_id`` column.
        A list of variable names keeps only those variables (smaller).
    progress : callable, True or None
        Called with the number of scenarios finished after each chunk;
        ``True`` shows a rich progress bar when stdout is a terminal.
    client : dask.distributed.Client, optional
        Passed to :func:`simulator.core.executor.run_summary` when it accepts one
        (central runs only: ``draws=0``).
    draws : int, optional
        Posterior draws per grid point for the 5-95 % bands (default
        :data:`simulator.core.bands.DEFAULT_DRAWS` for summaries; 0 = central
        runs only). Every point uses the same draws, so differences between
        points are not blurred by sampling. Monthly tables are central runs.
    seed : int
        Chooses the posterior draws (and draws the scenario's ``[uncertainty]``).

    Returns
    -------
    pandas.DataFrame
        Summary: the swept keys as columns, then every summary metric
        (``gdp_loss_pct`` in % of one year's GDP, ``gdp_loss_jpy_bn`` in
        billion yen, ...) at the central values, and ``<metric>_p05``,
        ``_p50``, ``_p95`` for the banded metrics
        (:data:`simulator.core.bands.BAND_METRICS`). Monthly: ``scenario_id`` (the row number of
        the combination), the swept keys, then ``month, date, kind, item,
        variable, value`` as in :attr:`simulator.core.results.Result.monthly`.
        ``df.attrs["keys"]`` lists the swept keys.

    Raises
    ------
    ScenarioError
        Naming the key, for unknown keys, values out of range or of the wrong type.
    """
    base = as_scenario(scenario)
    draws = _band_draws(draws, monthly, client)
    summary, month = _sweep_frames(base, grid or {}, want_summary=not monthly,
                                   monthly=monthly, progress=progress, client=client, draws=draws, seed=seed)
    return month if monthly else summary


def _band_draws(draws, monthly, client) -> int:
    """Draws per point: the default for summaries, 0 for monthly tables or a Dask client."""
    import numpy as np

    from simulator.core.bands import DEFAULT_DRAWS

    if draws is None:
        return 0 if (monthly or client is not None) else DEFAULT_DRAWS
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 0:
        raise ScenarioError(f"draws must be a non-negative integer (got {draws!r})", file="sweep", key="draws")
    if draws and monthly:
        raise ScenarioError("monthly tables are central runs; use draws=0 with monthly=", file="sweep", key="draws")
    if draws and client is not None:
        raise ScenarioError("bands run locally; use draws=0 with client=", file="sweep", key="draws")
    return int(draws)


def sample(scenario: Scenario | str | Path | None = None, n: int = 1000, seed: int = 0,
           distributions: Mapping[str, Distribution | Mapping] | None = None,
           monthly: bool | Sequence[str] = False, progress: Callable[[int], None] | bool | None = None,
           client=None, *, posterior: bool = True):
    """Monte Carlo: draw uncertain parameters and run the draws as one batch.

    Parameters
    ----------
    scenario : Scenario, str, Path or None
        The central scenario; its ``[uncertainty]`` table gives the distributions.
    n : int
        Number of draws.
    seed : int
        Seed of the numpy Generator. The same seed gives identical draws
        and results; each key has its own stream (seeded by the seed and
        the key), so adding a key does not change the draws of the others.
    distributions : dict, optional
        Dotted key -> :class:`~simulator.io.scenario.Distribution` (or a dict
        such as ``{"dist": "uniform", "low": 0, "high": 60}``). When
        given it replaces the scenario's ``[uncertainty]`` table.
    monthly, progress, client
        As in :func:`sweep`.
    posterior : bool
        Pair every draw with a draw of the calibrated parameters' posterior
        (``data/posterior.csv``; keys the scenario sets itself or that are
        sampled here are left out), so the spread includes what the evidence
        leaves open. ``False``: only the given distributions vary.

    Returns
    -------
    pandas.DataFrame
        One row per draw: ``draw``, the sampled keys, then every summary
        metric (or, with ``monthly``, the tidy monthly table with
        ``scenario_id`` = draw). ``df.attrs`` holds ``keys``, ``seed``,
        ``n`` and the ``distributions``.

    Notes
    -----
    Uniform and triangular ranges must lie inside the key's allowed
    range (else :class:`ScenarioError`). Normal and lognormal draws are
    *truncated* to the allowed range (equivalent to rejecting and
    redrawing out-of-range values, done exactly by inverse-CDF sampling),
    so no probability piles up on a bound. Lognormal ``mean`` and ``sd``
    are those of the parameter itself, not of its logarithm.
    """
    import numpy as np

    base = as_scenario(scenario)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ScenarioError(f"the number of draws must be a positive integer (got {n!r})", file="sample")
    summary, month = _sample_frames(base, int(n), seed, distributions, want_summary=not monthly,
                                    monthly=monthly, progress=progress, client=client, posterior=posterior)
    return month if monthly else summary


# --------------------------------------------------------------------------
# Summaries of sample (and sweep) frames
# --------------------------------------------------------------------------

def summarize_samples(df, metric: str | Sequence[str] = "gdp_loss_pct",
                      percentiles: Sequence[float] = DEFAULT_PERCENTILES):
    """Mean, standard deviation and percentiles of metrics over draws.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`sample` (or :func:`sweep`).
    metric : str or list of str
        Column(s), e.g. ``"gdp_loss_pct"`` (% of annual GDP).
    percentiles : sequence of float
        In percent, 0-100.

    Returns
    -------
    pandas.DataFrame
        One row per metric; columns ``n, mean, sd, p5, p25, ...`` in the
        metric's own unit.
    """
    import numpy as np
    import pandas as pd

    metrics = [metric] if isinstance(metric, str) else list(metric)
    _check_columns(df, metrics)
    rows = {}
    for m in metrics:
        x = df[m].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        row = {"n": len(x), "mean": x.mean() if len(x) else np.nan,
               "sd": x.std(ddof=1) if len(x) > 1 else np.nan}
        qs = np.percentile(x, percentiles) if len(x) else [np.nan] * len(percentiles)
        row.update({_pname(p): q for p, q in zip(percentiles, qs, strict=True)})
        rows[m] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def monthly_percentiles(monthly, variable: str = "cumulative_gdp_loss_pct", item: str = "japan",
                        percentiles: Sequence[float] = DEFAULT_PERCENTILES):
    """Percentiles over scenarios of one monthly variable, month by month.

    Parameters
    ----------
    monthly : pandas.DataFrame
        A monthly table from :func:`sample` or :func:`sweep` (``monthly=True``).
    variable : str
        E.g. ``"cumulative_gdp_loss_pct"`` (% of annual GDP) or
        ``"corporate_stock_t"`` (with ``item`` a material id).
    item : str
        ``"japan"`` for economy variables, a material id for material ones.

    Returns
    -------
    pandas.DataFrame
        ``month, date`` and one column per percentile (``p5``, ``p50``...).
    """
    import numpy as np
    import pandas as pd

    sel = monthly[(monthly["variable"] == variable) & (monthly["item"] == item)]
    if sel.empty:
        have = sorted(set(monthly["variable"]))
        raise ScenarioError(f"no rows for variable {variable!r} and item {item!r} "
                            f"(variables here: {', '.join(have)})", key="monthly")
    wide = sel.pivot(index=["month", "date"], columns="scenario_id", values="value")
    qs = np.percentile(wide.to_numpy(dtype=float), percentiles, axis=1)
    out = pd.DataFrame({_pname(p): q for p, q in zip(percentiles, qs, strict=True)}, index=wide.index)
    return out.reset_index()


def compare_monthly(results):
    """The tidy monthly table of compared runs: materials and economy of each, one long frame.

    Parameters
    ----------
    results : sequence of (str, Result)
        Label and result of each scenario, in order (``scenario_id`` is the position).

    Returns
    -------
    pandas.DataFrame
        ``Result.monthly`` without sector rows, with ``scenario_id``, ``label``,
        ``restriction.start_month`` and ``restriction.duration_months`` in front.
    """
    import pandas as pd

    parts = []
    for i, (label, r) in enumerate(results):
        m = r.monthly
        m = m[m["kind"] != "sector"].copy()
        m.insert(0, "scenario_id", i)
        m.insert(1, "label", label)
        m.insert(2, "restriction.start_month", r.scenario.restriction.start_month)
        m.insert(3, "restriction.duration_months", r.scenario.restriction.duration_months)
        parts.append(m)
    return pd.concat(parts, ignore_index=True)


def rank_correlations(df, metric: str = "gdp_loss_pct", keys: Sequence[str] | None = None):
    """Spearman rank correlation of each sampled key with a metric.

    A simple, robust answer to "what drives the spread": keys whose
    draws move the metric most (in rank) come first.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`sample`.
    metric : str
    keys : list of str, optional
        Default: ``df.attrs["keys"]``.

    Returns
    -------
    pandas.DataFrame
        ``key, spearman_rho`` sorted by ``|rho|``, largest first; keys
        that did not vary get NaN and come last.
    """
    import numpy as np
    import pandas as pd
    from scipy import stats

    keys = list(keys if keys is not None else df.attrs.get("keys", []))
    if not keys:
        raise ScenarioError("no sampled keys: pass keys= or use a frame from simulator.sample", key="keys")
    _check_columns(df, keys + [metric])
    y = df[metric].to_numpy(dtype=float)
    rows = []
    for k in keys:
        x = df[k].to_numpy(dtype=float)
        rho = np.nan if np.ptp(x) == 0 or np.ptp(y) == 0 else float(stats.spearmanr(x, y).statistic)
        rows.append({"key": k, "spearman_rho": rho})
    out = pd.DataFrame(rows)
    order = np.argsort(-np.nan_to_num(np.abs(out["spearman_rho"].to_numpy()), nan=-1.0), kind="stable")
    return out.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------

def as_scenario(scenario) -> Scenario:
    """A Scenario from a Scenario, a file path or ``None`` (the bundled default)."""
    if isinstance(scenario, Scenario):
        return scenario
    if scenario is None or isinstance(scenario, (str, Path)):
        return load_scenario(scenario)
    raise ScenarioError(f"expected a Scenario or a scenario file, got {type(scenario).__name__}")


def _numeric_keys(base: Scenario) -> set:
    """Keys that ``with_values`` can set per scenario (one number each)."""
    from simulator.core.params import stack
    from simulator.core.spec import STRUCTURAL_KEYS

    table = stack([base])
    out = set()
    for key, arr in table.values.items():
        if key in STRUCTURAL_KEYS:
            continue
        if arr.ndim == 1 or (key == "restriction.severity" and not isinstance(base.restriction.severity, list)):
            out.add(key)
    return out


def _is_number(v) -> bool:
    import numpy as np

    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _py(v):
    """Convert numpy scalars to Python scalars (pydantic's int fields refuse numpy ints)."""
    return v.item() if hasattr(v, "item") and getattr(v, "ndim", 1) == 0 else v


def _close(progress) -> None:
    if isinstance(progress, _RichBar):
        progress.close()


def _freeze(v):
    return tuple(_freeze(x) for x in v) if isinstance(v, (list, tuple)) else v


def _sweep_frames(base: Scenario, grid: Mapping[str, Sequence], want_summary: bool,
                  monthly, progress, client, draws: int = 0, seed: int = 0):
    """(summary frame or None, monthly frame or None) for a grid."""
    import numpy as np
    import pandas as pd

    keys = list(grid)
    numeric = _numeric_keys(base)
    structural, number = [], []
    for key in keys:
        values = grid[key]
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) and not hasattr(values, "__len__"):
            raise ScenarioError("needs a list of values", file="sweep", key=key)
        values = list(values)
        if not values:
            raise ScenarioError("needs at least one value", file="sweep", key=key)
        if key in numeric and all(_is_number(v) for v in values):
            number.append(key)
            continue
        if key in numeric:
            bad = next(v for v in values if not _is_number(v))
            if not (key == "restriction.severity" and isinstance(bad, list)) and bad is not None:
                raise ScenarioError(f"value {bad!r} is not a number", file="sweep", key=key)
        base.get(key)  # unknown keys fail here, naming the key
        structural.append(key)

    from simulator.core.budget import check_batch

    check_batch(base, math.prod(len(grid[k]) for k in keys), source="sweep", monthly=monthly, grid_keys=len(keys))
    # bands stream: memory grows with the grid, not with grid x draws
    from simulator.core.budget import check_batch

    check_batch(base, math.prod(len(grid[k]) for k in keys), source="sweep", monthly=monthly, grid_keys=len(keys))
    combos = list(itertools.product(*[list(grid[k]) for k in keys]))
    n_total = len(combos)
    groups: dict[tuple, list[int]] = {}
    for i, combo in enumerate(combos):
        groups.setdefault(tuple(_freeze(combo[keys.index(k)]) for k in structural), []).append(i)

    # validate every group before running any, so bad input fails fast
    batches = []
    for rows in groups.values():
        sc = base
        if structural:
            overrides = {k: _py(combos[rows[0]][keys.index(k)]) for k in structural}
            try:
                sc = base.with_overrides(overrides)
            except ScenarioError as exc:
                raise ScenarioError(exc.message, file="sweep", key=exc.key) from None
        arrays = {k: np.array([combos[i][keys.index(k)] for i in rows], dtype=float) for k in number}
        _check_profile(sc, arrays)
        batches.append((rows, sc, arrays))

    tick = _progress_callable(progress, n_total)
    summaries, months = [], []
    try:
        for rows, sc, arrays in batches:
            summary = month = None
            if draws and want_summary:
                from simulator.core.runner import banded_summary

                summary = pd.DataFrame(banded_summary(sc, len(rows), arrays, draws=draws, seed=seed,
                                                      progress=None if monthly else tick))
            if monthly or not (draws and want_summary):      # monthly tables are central runs
                central, month = _run_group(sc, len(rows), arrays, want_summary and summary is None, monthly,
                                            tick, client)
                summary = central if summary is None else summary
            if summary is not None:
                summary.index = rows
                summaries.append(summary)
            if month is not None:
                month["scenario_id"] = np.asarray(rows)[month["scenario_id"].to_numpy()]
                months.append(month)
    finally:
        _close(tick)

    key_frame = pd.DataFrame({k: [c[j] for c in combos] for j, k in enumerate(keys)}, index=range(n_total))
    summary_df = month_df = None
    if summaries:
        metrics = pd.concat(summaries).sort_index()
        summary_df = pd.concat([key_frame, metrics], axis=1).reset_index(drop=True)
        summary_df.attrs.update(keys=keys, band_draws=draws, seed=seed)
    if months:
        month_df = pd.concat(months, ignore_index=True)
        month_df = month_df.sort_values("scenario_id", kind="stable").reset_index(drop=True)
        month_df = _with_keys(month_df, key_frame, keys)
        month_df.attrs.update(keys=keys, restriction=_restriction_attrs(base))
    return summary_df, month_df


def _restriction_attrs(sc: Scenario) -> dict:
    """The central restriction's start and length (months), for plots."""
    return {"start_month": sc.restriction.start_month, "duration_months": sc.restriction.duration_months}


def _sample_frames(base: Scenario, n: int, seed: int, distributions, want_summary: bool,
                   monthly, progress, client, posterior: bool = True):
    """(summary frame or None, monthly frame or None) for ``n`` draws."""
    import numpy as np
    import pandas as pd

    dists = _distributions(base, distributions)
    from simulator.core.budget import check_batch

    check_batch(base, n, source="sample", monthly=monthly)
    draws = sample_values(dists, n, seed)
    if posterior:
        from simulator.core.bands import band_values

        calibrated = band_values(base, n, seed, uncertainty=False)
        draws = {**{k: v for k, v in calibrated.items() if k not in draws}, **draws}
    numeric = _numeric_keys(base)
    for key in draws:
        if key not in numeric:
            raise ScenarioError(
                "is structural or not a single number, so it cannot be sampled "
                "(sweep it with simulator.sweep instead)", file="uncertainty", key=key)
    tick = _progress_callable(progress, n)
    try:
        summary, month = _run_group(base, n, draws, want_summary, monthly, tick, client)
    except ScenarioError as exc:
        raise ScenarioError(f"sampled values violate a rule: {exc.message}; "
                            "narrow the distributions so their ranges cannot break it",
                            file="uncertainty", key=exc.key) from None
    finally:
        _close(tick)
    keys = list(draws)
    attrs = {"keys": keys, "seed": seed, "n": n, "restriction": _restriction_attrs(base), "posterior": posterior,
             "distributions": {k: d.model_dump(exclude_none=True) for k, d in dists.items()}}
    if month is not None:
        month = _with_keys(month, pd.DataFrame(draws), keys)
        month.attrs.update(attrs)
    if summary is not None:
        summary = pd.concat([pd.DataFrame({"draw": np.arange(n), **draws}), summary.reset_index(drop=True)], axis=1)
        summary.attrs.update(attrs)
    return summary, month


def _with_keys(month, key_frame, keys):
    """Insert the swept keys (looked up by scenario_id) after scenario_id."""
    ids = month["scenario_id"].to_numpy()
    for j, k in enumerate(keys):
        month.insert(1 + j, k, key_frame[k].to_numpy()[ids])
    return month


def _check_profile(sc: Scenario, arrays: dict) -> None:
    """The schema's rule that a severity profile fits in the restriction."""
    import numpy as np

    if "restriction.duration_months" not in arrays or not isinstance(sc.restriction.severity, list):
        return
    length = len(sc.restriction.severity)
    d = arrays["restriction.duration_months"]
    bad = length > np.ceil(d - 1e-9)
    if bad.any():
        raise ScenarioError(
            f"a restriction of {d[bad][0]:g} months is shorter than the {length}-month severity "
            f"profile; use durations of at least {length - 1} months or a shorter profile",
            file="sweep", key="restriction.duration_months")


def _run_group(sc: Scenario, n: int, arrays: dict, want_summary: bool, monthly, progress, client):
    """Run one structural group; (summary frame or None, monthly frame or None)."""
    import pandas as pd

    from simulator.core.params import with_values

    table = with_values(sc, n, arrays)
    if not monthly:
        return pd.DataFrame(_run_summary(table, progress, client)), None
    if client is not None:
        raise ScenarioError("monthly tables are built locally; drop client= or monthly=", key="client")
    from simulator.core.engine import simulate
    from simulator.core.executor import DEFAULT_CHUNK
    from simulator.core.results import summary_arrays

    variables = _monthly_variables(sc, monthly)
    sums, parts = [], []
    for lo in range(0, n, DEFAULT_CHUNK):
        hi = min(n, lo + DEFAULT_CHUNK)
        batch = simulate(table.rows(lo, hi))
        if want_summary:
            sums.append(pd.DataFrame(summary_arrays(batch)))
        parts.append(monthly_frame(batch, variables, first_id=lo))
        if progress is not None:
            progress(hi - lo)
    summary = pd.concat(sums, ignore_index=True) if want_summary else None
    return summary, pd.concat(parts, ignore_index=True)


def _run_summary(table, progress, client) -> dict:
    from simulator.core.executor import DEFAULT_CHUNK, run_summary

    params = inspect.signature(run_summary).parameters
    kwargs = {}
    if progress is not None:
        kwargs["progress"] = progress
        if "chunk_size" in params:
            # finer chunks so a bar moves; never below a few hundred (engine overhead)
            kwargs["chunk_size"] = int(min(DEFAULT_CHUNK, max(250, table.size // 20)))
    if client is not None:
        if "client" not in params:
            raise ScenarioError("this resim's executor cannot use a Dask client; drop client=", key="client")
        kwargs["client"] = client
    return run_summary(table, **kwargs)


def _monthly_variables(sc: Scenario, monthly) -> list[str]:
    from simulator.core.results import MATERIAL_VARIABLES

    allowed = list(MATERIAL_VARIABLES) + ["shortage_share"] + list(ECONOMY_VARIABLES)
    if monthly is True:
        return allowed
    wanted = [monthly] if isinstance(monthly, str) else list(monthly)
    unknown = [v for v in wanted if v not in allowed]
    if unknown or not wanted:
        raise ScenarioError(f"unknown monthly variable {unknown[0] if unknown else '(none)'!r}; "
                            f"allowed: {', '.join(allowed)}", key="monthly")
    return wanted


def monthly_frame(batch, variables: Sequence[str] | None = None, first_id: int = 0):
    """Tidy monthly table of a whole batch, built with array operations.

    Parameters
    ----------
    batch : simulator.core.engine.BatchResult
    variables : list of str, optional
        Material variables (tonnes, or ``shortage_share``) and economy
        variables (billion yen or %); default all.
    first_id : int
        ``scenario_id`` of the batch's first scenario.

    Returns
    -------
    pandas.DataFrame
        ``scenario_id, month, date, kind, item, variable, value``; for
        each scenario the rows are in the order of
        :attr:`simulator.core.results.Result.monthly` (without its sector rows).
    """
    import numpy as np
    import pandas as pd

    from simulator.core.results import MATERIAL_VARIABLES, economy_variables, month_labels

    s = batch.spec
    B, H = batch.gdp_loss_jpy_bn.shape
    mats = list(batch.spec.materials)
    M = len(mats)
    dates = np.asarray(month_labels(s.start_date, H), dtype=object)
    if variables is not None:
        wanted = list(variables)
    else:
        wanted = list(MATERIAL_VARIABLES) + ["shortage_share"] + list(ECONOMY_VARIABLES)
    mvars = [v for v in list(MATERIAL_VARIABLES) + ["shortage_share"] if v in wanted]
    evars = [v for v in ECONOMY_VARIABLES if v in wanted]
    sp = batch.supply
    parts = []
    if mvars:
        vals = np.stack([getattr(sp, v) for v in mvars], axis=1)          # (B, V, M, H)
        V = len(mvars)
        parts.append(pd.DataFrame({
            "scenario_id": np.repeat(np.arange(first_id, first_id + B), V * M * H),
            "month": np.tile(np.arange(H), B * V * M),
            "date": np.tile(dates, B * V * M),
            "kind": "material",
            "item": np.tile(np.repeat(np.asarray(mats, dtype=object), H), B * V),
            "variable": np.tile(np.repeat(np.asarray(mvars, dtype=object), M * H), B),
            "value": vals.ravel(),
        }))
    if evars:
        table = economy_variables(batch)
        vals = np.stack([table[v] for v in evars], axis=1)                # (B, V, H)
        V = len(evars)
        parts.append(pd.DataFrame({
            "scenario_id": np.repeat(np.arange(first_id, first_id + B), V * H),
            "month": np.tile(np.arange(H), B * V),
            "date": np.tile(dates, B * V),
            "kind": "economy",
            "item": "japan",
            "variable": np.tile(np.repeat(np.asarray(evars, dtype=object), H), B),
            "value": vals.ravel(),
        }))
    out = pd.concat(parts, ignore_index=True)
    # scenario-major order, materials before economy within a scenario (as Result.monthly)
    return out.sort_values("scenario_id", kind="stable").reset_index(drop=True)


def _distributions(base: Scenario, given) -> dict[str, Distribution]:
    if given is None:
        if not base.uncertainty:
            raise ScenarioError(
                "the scenario has no [uncertainty] table; add one (see "
                "scenarios/japan-one-year-uncertain.toml) or pass distributions=",
                file=base.source_file or "sample", key="uncertainty")
        return dict(base.uncertainty)
    if not given:
        raise ScenarioError("no distributions given", file="sample", key="uncertainty")
    out = {}
    for key, dist in given.items():
        base.get(key)  # unknown keys fail naming the key
        out[key] = _as_distribution(key, dist)
    return out


def _progress_callable(progress, total: int):
    """None, a callable, or (for ``True``) a rich bar's advance function."""
    if progress is None or progress is False:
        return None
    if callable(progress):
        return progress
    return _RichBar.maybe(total)


class _RichBar:
    """A rich progress bar on stderr, shown only when stdout is a terminal."""

    @staticmethod
    def maybe(total: int, label: str = "scenarios"):
        import sys

        if not (sys.stdout.isatty() and sys.stderr.isatty()):
            return None
        return _RichBar(total, label)

    def __init__(self, total: int, label: str):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.total, self.done = total, 0
        self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self.task = self.bar.add_task(label, total=total)
        self.bar.start()

    def __call__(self, k: int) -> None:
        self.done += k
        self.bar.advance(self.task, k)

    def close(self) -> None:
        self.bar.stop()


def _check_columns(df, cols) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ScenarioError(f"column {missing[0]!r} is not in the frame", key=missing[0])


def _pname(p: float) -> str:
    return f"p{p:g}"


__all__ = ["sweep", "sample", "sample_values", "summarize_samples", "monthly_percentiles",
           "rank_correlations", "monthly_frame", "DEFAULT_PERCENTILES"]
