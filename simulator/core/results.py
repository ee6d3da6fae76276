"""Tidy tables and summaries from engine arrays."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.core.bands import BAND_METRICS, BAND_SUFFIXES, percentiles
from simulator.core.engine import BatchResult

if TYPE_CHECKING:
    import pandas as pd

    from simulator.io.scenario import Scenario

# pandas is imported inside the table properties: the printed summary of
# ``resim run`` does not need it (0.3 s of a cold start).

MATERIAL_VARIABLES = (
    "demand_baseline_t", "demand_t", "arrivals_china_t", "arrivals_other_t",
    "arrivals_national_t", "use_t", "shortfall_t", "release_t",
    "corporate_stock_t", "national_stock_t",
)


def month_labels(start_date: str, horizon: int) -> list[str]:
    """Calendar labels YYYY-MM for months 0..horizon-1."""
    y, m = (int(x) for x in start_date.split("-"))
    out = []
    for k in range(horizon):
        mm = m - 1 + k
        out.append(f"{y + mm // 12:04d}-{mm % 12 + 1:02d}")
    return out


def _clean(x):
    """JSON-friendly scalar: inf/nan -> None, numpy -> python."""
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return None if not math.isfinite(x) else x
    if isinstance(x, np.integer):
        return int(x)
    return x


def summary_arrays(r: BatchResult) -> dict[str, np.ndarray]:
    """Summary metrics for every scenario of a batch, each (B,).

    ``gdp_loss_pct`` is the net loss (after deferred orders are made up), the
    headline; ``gdp_loss_gross_pct`` the loss before catch-up. Peak and
    months-with-loss figures are of the gross monthly loss (the output not
    made that month).
    """
    gdp_month = r.gdp_jpy_bn / 12.0
    monthly = r.gdp_loss_gross_jpy_bn
    out = {
        "gdp_loss_pct": r.gdp_loss_pct,
        "gdp_loss_jpy_bn": r.gdp_loss_jpy_bn.sum(axis=1),
        "gdp_loss_gross_pct": r.gdp_loss_gross_pct,
        "gdp_loss_gross_jpy_bn": monthly.sum(axis=1),
        "output_loss_jpy_bn": r.output_loss_jpy_bn.sum(axis=1),
        "output_loss_gross_jpy_bn": r.output_loss_gross_jpy_bn.sum(axis=1),
        "peak_monthly_gdp_loss_jpy_bn": monthly.max(axis=1),
        "peak_monthly_gdp_loss_pct_of_month": 100.0 * monthly.max(axis=1) / gdp_month,
        "peak_month": np.where(monthly.max(axis=1) > 0, monthly.argmax(axis=1).astype(float), np.nan),
        "months_with_loss": (monthly > 0).sum(axis=1).astype(float),
        "first_shortage_month": r.supply.first_shortage_month.min(axis=1),
    }
    for j, m in enumerate(r.spec.materials):
        sp = r.supply
        out[f"{m}_shortfall_t"] = sp.shortfall_t[:, j].sum(axis=1)
        out[f"{m}_peak_shortage_share"] = sp.shortage_share[:, j].max(axis=1)
        out[f"{m}_first_shortage_month"] = sp.first_shortage_month[:, j]
        out[f"{m}_national_release_t"] = sp.release_t[:, j].sum(axis=1)
    return out


#: Economy variables of the monthly tables (``kind == "economy"``, item ``japan``), in order.
ECONOMY_VARIABLES = (
    "gdp_loss_jpy_bn", "gdp_loss_pct_of_month", "cumulative_gdp_loss_jpy_bn", "cumulative_gdp_loss_pct",
    "gdp_loss_gross_jpy_bn", "cumulative_gdp_loss_gross_pct", "output_loss_jpy_bn",
)


#: Monthly economy variables with ``_p05``/``_p95`` band columns.
BANDED_MONTHLY = ("gdp_loss_jpy_bn", "cumulative_gdp_loss_pct", "gdp_loss_gross_jpy_bn", "output_loss_jpy_bn")


def economy_variables(r: BatchResult) -> dict[str, np.ndarray]:
    """The economy's monthly variables for every scenario, each (B, H), in :data:`ECONOMY_VARIABLES` order.

    ``gdp_loss_jpy_bn`` is net of deferred orders made up later (negative in
    months of catch-up); ``gdp_loss_gross_jpy_bn`` the value added not
    produced that month.
    """
    gdp = r.gdp_jpy_bn[:, None]
    net, gross = r.gdp_loss_jpy_bn, r.gdp_loss_gross_jpy_bn
    return {
        "gdp_loss_jpy_bn": net,
        "gdp_loss_pct_of_month": 100.0 * net / (gdp / 12.0),
        "cumulative_gdp_loss_jpy_bn": np.cumsum(net, axis=1),
        "cumulative_gdp_loss_pct": 100.0 * np.cumsum(net, axis=1) / gdp,
        "gdp_loss_gross_jpy_bn": gross,
        "cumulative_gdp_loss_gross_pct": 100.0 * np.cumsum(gross, axis=1) / gdp,
        "output_loss_jpy_bn": r.output_loss_jpy_bn,
    }


@dataclass
class Result:
    """The result of one scenario.

    Attributes
    ----------
    scenario : Scenario
    batch : BatchResult
        The underlying arrays: row ``index`` is the central run, rows
        ``band_rows`` (if any) the band's draws.
    band_rows : ndarray or None
        Rows of ``batch`` that make the band (``None``: no band).
    band_keys : tuple of str
        The parameters the band's draws vary.
    """

    scenario: Scenario
    batch: BatchResult
    index: int = 0
    band_rows: np.ndarray | None = None
    band_keys: tuple = ()
    band_seed: int | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def has_band(self) -> bool:
        """Whether the run carries a band."""
        return self.band_rows is not None and len(self.band_rows) > 0

    def _band(self, x: np.ndarray) -> np.ndarray:
        """5/50/95 % of ``x`` (B, ...) over the band's rows, stacked first."""
        return percentiles(x[self.band_rows], axis=0)

    @cached_property
    def dates(self) -> list[str]:
        """Calendar labels YYYY-MM of the horizon's months."""
        return month_labels(self.scenario.start_date, self.scenario.horizon_months)

    @cached_property
    def summary(self) -> dict:
        """Headline numbers (JSON-ready).

        ``gdp_loss_pct`` is the cumulative GDP loss over the horizon as % of
        one year's GDP, positive for a loss.
        """
        arrays = summary_arrays(self.batch)
        out: dict[str, Any] = {"scenario": self.scenario.name or "(unnamed)"}
        for k, v in arrays.items():
            out[k] = _clean(v[self.index])
            if self.has_band and k in BAND_METRICS:
                for suffix, q in zip(BAND_SUFFIXES, self._band(v), strict=True):
                    out[k + suffix] = _clean(q)
        out["band_draws"] = 0 if self.band_rows is None else len(self.band_rows)   # 0 without a band
        out["band_seed"] = self.band_seed if self.has_band else None
        fs = out["first_shortage_month"]
        out["first_shortage_date"] = None if fs is None else self.dates[int(fs)]
        pm = out["peak_month"]
        out["peak_date"] = None if pm is None else self.dates[int(pm)]
        out["top_sectors"] = [
            {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items() if k != "share_of_loss"}
            for row in self.top_sectors(5)
        ]
        out["horizon_months"] = self.scenario.horizon_months
        out["gdp_jpy_bn"] = _clean(self.batch.gdp_jpy_bn[self.index])
        return out

    @cached_property
    def economy_monthly(self) -> pd.DataFrame:
        """One row per month: GDP and output loss, monthly and cumulative (net and gross)."""
        import pandas as pd

        cols = {}
        for k, v in economy_variables(self.batch).items():
            cols[k] = v[self.index]
            if self.has_band and k in BANDED_MONTHLY:
                q = self._band(v)
                cols[k + "_p05"], cols[k + "_p95"] = q[0], q[2]
        return pd.DataFrame({"month": np.arange(self.scenario.horizon_months), "date": self.dates, **cols})

    @cached_property
    def draws(self) -> pd.DataFrame | None:
        """The band's draws: one row per draw, the varied parameters and the summary metrics."""
        import pandas as pd

        if not self.has_band:
            return None
        rows = self.band_rows
        assert rows is not None                 # has_band
        params = {k: self.batch.params[k][rows] for k in self.band_keys}
        metrics = {k: v[rows] for k, v in summary_arrays(self.batch).items()}
        return pd.DataFrame({"draw": np.arange(len(rows)), **params, **metrics})

    @cached_property
    def materials_monthly(self) -> pd.DataFrame:
        """One row per month and material, one column per flow or stock (t)."""
        import pandas as pd

        i = self.index
        sp = self.batch.supply
        frames = []
        for j, m in enumerate(self.batch.spec.materials):
            cols = {"month": np.arange(self.scenario.horizon_months), "date": self.dates, "material": m}
            for v in MATERIAL_VARIABLES:
                cols[v] = getattr(sp, v)[i, j]
            cols["shortage_share"] = sp.shortage_share[i, j]
            frames.append(pd.DataFrame(cols))
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def monthly(self) -> pd.DataFrame:
        """Tidy long table of every monthly path.

        Columns: month, date, kind (material/sector/economy), item, variable
        (unit in the name), value.
        """
        import pandas as pd

        mm = self.materials_monthly.melt(
            id_vars=["month", "date", "material"], var_name="variable", value_name="value",
        ).rename(columns={"material": "item"})
        mm.insert(2, "kind", "material")
        em = self.economy_monthly.melt(id_vars=["month", "date"], var_name="variable", value_name="value")
        em.insert(2, "kind", "economy")
        em.insert(3, "item", "japan")
        parts = [mm, em]
        paths = self.batch.sector_monthly_output_loss_jpy_bn
        if paths is not None:
            p = paths[self.index]                                   # (H, n)
            va = self.batch.spec.economy.va_ratio
            codes = list(self.batch.spec.sector_codes)
            H, n = p.shape
            for var, arr in (("output_loss_jpy_bn", p), ("gdp_loss_jpy_bn", p * va[None, :])):
                parts.append(pd.DataFrame({
                    "month": np.repeat(np.arange(H), n),
                    "date": np.repeat(self.dates, n),
                    "kind": "sector",
                    "item": np.tile(codes, H),
                    "variable": var,
                    "value": arr.ravel(),
                }))
        return pd.concat(parts, ignore_index=True)

    def top_sectors(self, k: int = 5) -> list[dict]:
        """The ``k`` first rows of :attr:`sectors` with a loss, as dicts.

        Each has code, name, gdp_loss_jpy_bn and share_of_loss; computed without pandas.
        """
        b, i = self.batch, self.index
        st = b.spec
        loss = b.sector_gdp_loss_jpy_bn[i]
        total = loss.sum()
        order = np.argsort(-loss, kind="stable")[:k]
        band = self._band(b.sector_gdp_loss_jpy_bn) if self.has_band else None
        rows = []
        for j in order:
            if loss[j] <= 0:
                continue
            row = {"code": st.sector_codes[j], "name": st.sector_names[j], "gdp_loss_jpy_bn": float(loss[j]),
                   "share_of_loss": float(loss[j] / total) if total > 0 else 0.0}
            if band is not None:
                row["gdp_loss_jpy_bn_p05"], row["gdp_loss_jpy_bn_p95"] = float(band[0, j]), float(band[2, j])
            rows.append(row)
        return rows

    @cached_property
    def sectors(self) -> pd.DataFrame:
        """Per sector cumulative loss over the horizon, largest GDP loss first."""
        import pandas as pd

        b = self.batch
        i = self.index
        st = b.spec
        gdp = float(b.gdp_jpy_bn[i])
        df = pd.DataFrame({
            "code": list(st.sector_codes),
            "name": list(st.sector_names),
            "output_loss_jpy_bn": b.sector_output_loss_jpy_bn[i],
            "gdp_loss_jpy_bn": b.sector_gdp_loss_jpy_bn[i],
        })
        df["gdp_loss_gross_jpy_bn"] = b.sector_gdp_loss_gross_jpy_bn[i]
        df["gdp_loss_pct"] = 100.0 * df["gdp_loss_jpy_bn"] / gdp
        if self.has_band:
            q = self._band(b.sector_gdp_loss_jpy_bn)
            df["gdp_loss_jpy_bn_p05"], df["gdp_loss_jpy_bn_p95"] = q[0], q[2]
            df["gdp_loss_pct_p05"] = 100.0 * q[0] / gdp
            df["gdp_loss_pct_p95"] = 100.0 * q[2] / gdp
        total = df["gdp_loss_jpy_bn"].sum()
        df["share_of_loss"] = df["gdp_loss_jpy_bn"] / total if total > 0 else 0.0
        return df.sort_values("gdp_loss_jpy_bn", ascending=False, kind="stable").reset_index(drop=True)
