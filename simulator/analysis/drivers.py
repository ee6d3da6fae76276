"""What drives a band's width: first-order sensitivity indices over the posterior, and value of information.

The band of a run (:mod:`simulator.core.bands`) comes from the posterior
draws of the calibrated parameters. Which of them matters? For each
parameter ``X_i`` the *first-order index*

    S_i = Var(E[Y | X_i]) / Var(Y)

is the share of the output's variance that knowing ``X_i`` exactly would
remove. It is estimated from the draws themselves ("given data": sort the
draws by ``X_i``, cut them into equally filled bins, take the variance of
the bin means; Plischke, Borgonovo & Smith 2013, *EJOR* 226:536-550), so the
draws need not be independent, which posterior draws are not (a Saltelli
design would need independent inputs and a separate batch per matrix).
A small positive bias of about ``bins / n`` is removed (the variance that
bin means of a parameter without any effect would show).

*Value of information* follows directly: perfect knowledge of ``X_i``
leaves a variance ``(1 - S_i) Var(Y)``, so the band would narrow by about
``1 - sqrt(1 - S_i)`` (for a roughly normal output). That ranks which new
data is worth most: a parameter the evidence leaves at its prior and that
drives the band (a large S_i) is where a survey or a study pays.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from simulator.io.scenario import Scenario

#: Draws for the driver analysis (more than a run's band: indices need them).
DEFAULT_DRIVER_DRAWS = 2000


def first_order_indices(x: Mapping[str, np.ndarray], y: np.ndarray, bins: int | None = None) -> dict[str, float]:
    """First-order indices ``S_i`` of ``y`` for each input in ``x`` (given-data binning estimator).

    Parameters
    ----------
    x : mapping
        Input name -> (n,) values.
    y : ndarray (n,)
        Output.
    bins : int, optional
        Equally filled bins per input; default ``round(sqrt(n))`` clipped to 10-50.

    Returns
    -------
    dict
        Name -> S_i in [0, 1] (0 when ``y`` does not vary).
    """
    y = np.asarray(y, float)
    n = len(y)
    var = y.var()
    if n < 20 or var <= 0:
        return {k: 0.0 for k in x}
    m = int(np.clip(round(np.sqrt(n)), 10, 50)) if bins is None else int(bins)
    out = {}
    for key, values in x.items():
        order = np.argsort(np.asarray(values, float), kind="stable")
        parts = np.array_split(y[order], m)
        means = np.array([p.mean() for p in parts])
        sizes = np.array([len(p) for p in parts])
        between = float(np.sum(sizes * (means - y.mean()) ** 2) / n)
        bias = var * (m - 1) / n                     # expected between-bin variance of a useless input
        out[key] = float(np.clip((between - bias) / var, 0.0, 1.0))
    return out


def band_drivers(scenario: Scenario, metric: str = "gdp_loss_pct", draws: int = DEFAULT_DRIVER_DRAWS,
                 seed: int = 0):
    """Which parameters drive the band of ``metric``, and how much better data on each would narrow it.

    Runs the scenario on ``draws`` posterior draws (one batch; the same draws
    a run's band uses, more of them).

    Returns
    -------
    pandas.DataFrame
        One row per varied parameter, largest first: ``parameter``,
        ``first_order`` (S_i), ``band_narrowing_pct`` (how much the 90 %
        band would narrow if the parameter were known exactly, %), and the
        parameter's 5-95 % range in the draws (``low``, ``high``).
        ``attrs``: ``metric``, ``draws``, ``sum_first_order`` (below 1 when
        parameters act together or are correlated).
    """
    import pandas as pd

    from simulator.core.runner import run

    res = run(scenario, keep_sector_paths=False, draws=draws, seed=seed)
    if not res.has_band:
        return pd.DataFrame(columns=["parameter", "first_order", "band_narrowing_pct", "low", "high"])
    d = res.draws
    assert d is not None                        # the run has a band
    keys = list(res.band_keys)
    s = first_order_indices({k: d[k].to_numpy() for k in keys}, d[metric].to_numpy())
    rows = [{"parameter": k, "first_order": s[k], "band_narrowing_pct": 100.0 * (1.0 - np.sqrt(1.0 - s[k])),
             "low": float(np.percentile(d[k], 5)), "high": float(np.percentile(d[k], 95))} for k in keys]
    df = pd.DataFrame(rows).sort_values("first_order", ascending=False, kind="stable").reset_index(drop=True)
    df.attrs.update(metric=metric, draws=draws, sum_first_order=float(sum(s.values())))
    return df


def format_drivers(df) -> str:
    """The band-drivers table as text."""
    if not len(df):
        return "Band drivers: the scenario sets every calibrated parameter itself, so it has no band."
    lines = [f"What drives the 90 % band of {df.attrs.get('metric', 'the metric')} "
             f"({df.attrs.get('draws', len(df))} posterior draws; first-order index = share of the variance "
             "that knowing the parameter would remove):",
             f"  {'parameter':<42} {'index':>6}  {'band narrows':>12}  range in the draws"]
    for r in df.itertuples():
        lines.append(f"  {r.parameter:<42} {r.first_order:6.2f}  {r.band_narrowing_pct:10.0f} %  "
                     f"{r.low:.3g}-{r.high:.3g}")
    lines.append(f"  (sum of indices {df.attrs.get('sum_first_order', float('nan')):.2f}: parameters also act "
                 "together and are correlated in the posterior)")
    return "\n".join(lines)
