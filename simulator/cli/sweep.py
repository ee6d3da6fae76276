"""``resim sweep`` and ``resim compare``: many scenarios from the command line.

Both check every input (scenario, grid, durations, output directory)
before running anything and write their files all-or-nothing through
:func:`simulator.io.outputs.write_atomic`. Heavy imports stay inside the
commands so ``resim run`` starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from simulator.cli.common import (
    FORCE_OPT,
    MAX_OPTION_ITEMS,
    SCENARIO_ARG,
    SET_OPT,
    XLSX_OPT,
    app,
    assumptions_frame,
    check_count,
    check_option_text,
    check_xlsx,
    echo,
    emit_json,
    engine_detail,
    load,
    note,
    phase,
    quiet,
    quoted,
    records,
    resolve_scenario,
    tidy_months,
    write_xlsx,
)
from simulator.core.bands import DEFAULT_DRAWS
from simulator.errors import ScenarioError

#: Summary columns printed by both commands (all are in the CSV files).
HEADLINE = ("gdp_loss_pct", "gdp_loss_jpy_bn", "peak_monthly_gdp_loss_jpy_bn", "months_with_loss")
DEFAULT_DURATIONS = "3,6,12,24"
MAX_PRINTED_ROWS = 40
MAX_PATH_LINES = 12
#: Most scenarios ``resim compare`` runs (each is a separate run with its own monthly table and chart line).
MAX_COMPARE = 100


def split_values(text: str) -> list[str]:
    """Split ``v1,v2,...`` at commas outside brackets and quotes (so lists work)."""
    out: list[str] = []
    cur: list[str] = []
    depth, quote = 0, None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return out


def parse_grid(items: List[str]) -> dict:
    """``["a.b=1,2", "c=[1,2],[3,4]"]`` -> ``{"a.b": [1, 2], "c": [[1, 2], [3, 4]]}``.

    Raises
    ------
    ScenarioError
        Naming ``--grid``: no ``=``, a control character, a malformed or repeated key, an
        empty value, more than MAX_OPTION_ITEMS values for a key, or values nested too deeply.
    """
    from simulator.io.scenario import check_override_key, parse_override_value

    check_count(items, "--grid")
    grid: dict = {}
    for item in items:
        check_option_text(item, "--grid")
        if "=" not in item:
            raise ScenarioError(f"needs dotted.key=v1,v2,... (got {quoted(item)})", file="--grid")
        key, text = (part.strip() for part in item.split("=", 1))
        if not key:
            raise ScenarioError(f"needs dotted.key=v1,v2,... (got {quoted(item)})", file="--grid")
        check_override_key(key, "--grid")
        if key in grid:
            raise ScenarioError("is given twice; list all its values in one --grid", file="--grid", key=key)
        values = split_values(text)
        if len(values) > MAX_OPTION_ITEMS:
            raise ScenarioError(f"{len(values):,} values; at most {MAX_OPTION_ITEMS:,} per key",
                                file="--grid", key=key)
        if any(v == "" for v in values):
            raise ScenarioError(f"has an empty value in {quoted(text)}; give v1,v2,...", file="--grid",
                                key=key)
        grid[key] = [parse_override_value(v, "--grid", key=key) for v in values]
    return grid


def parse_durations(text: str, limit: int = MAX_COMPARE) -> list[float]:
    """``"3,6,12"`` -> ``[3.0, 6.0, 12.0]`` (months, each >= 0; at most ``limit`` of them)."""
    check_option_text(text, "--durations")
    parts = text.split(",")
    if len(parts) > limit:
        raise ScenarioError(f"{len(parts):,} durations; resim compare runs at most {limit} (each is a "
                            "separate run and a line in the chart); for more, use resim sweep --grid "
                            "restriction.duration_months=...", file="--durations")
    out = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ScenarioError(f"{quoted(part.strip())} is not a number of months; give e.g. 3,6,12,24",
                                file="--durations") from None
        if not value >= 0 or value == float("inf"):
            raise ScenarioError(f"{quoted(part.strip())} months: durations must be finite and >= 0",
                                file="--durations")
        out.append(value)
    return out


def _column_format(name: str):
    """Number format by the unit in a column's name."""
    if name.endswith("_jpy_bn"):
        return lambda v: f"{v:,.0f}"
    if name.endswith("_pct") or name.endswith("_share"):
        return lambda v: f"{v:.3f}"
    return lambda v: f"{v:.4g}"


def _format_table(df, cols, max_rows: int = MAX_PRINTED_ROWS) -> str:
    """The printed table: banded columns as "central (5 %–95 %)", rounded to what the band supports."""
    from simulator.core.bands import band_column

    shown = df[[c for c in cols if c in df.columns]].head(max_rows).copy()
    banded = False
    for c in list(shown.columns):
        if f"{c}_p05" in df.columns and f"{c}_p95" in df.columns:
            part = df.head(max_rows)
            shown[c] = band_column(part[c], part[f"{c}_p05"], part[f"{c}_p95"], thousands=c.endswith("_jpy_bn"))
            banded = True
    formatters = {c: _column_format(c) for c in shown.columns if shown[c].dtype.kind == "f"}
    text = shown.to_string(index=False, formatters=formatters)
    if banded:
        text += "\n(central value, 90 % band in brackets)"
    if len(df) > max_rows:
        text += f"\n... {len(df) - max_rows} more rows"
    return text


@app.command()
def sweep(
    scenario: Optional[Path] = SCENARIO_ARG,
    grid: Optional[List[str]] = typer.Option(
        None, "--grid", "-g",
        help="dotted.key=v1,v2,... (repeatable; every combination runs). Lists: key=[1,2],[3,4]."),
    samples: Optional[int] = typer.Option(
        None, "--samples", "-n",
        help="Monte Carlo: this many draws from the scenario's \\[uncertainty] table, each paired with a draw of "
             "the calibrated parameters."),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the draws (--samples, and the bands of --grid; same seed, same results)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write sweep.csv and plots into this directory."),
    monthly: bool = typer.Option(
        False, "--monthly", help="Also write monthly.csv (tidy, one row per scenario, month, item and variable)."),
    set_: Optional[List[str]] = SET_OPT,
    force: bool = FORCE_OPT,
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="Run the batch on a Dask cluster, e.g. tcp://host:8786 (pip install 'resim[dask]' "
        "on every machine). Summary table and charts; over-time charts and --monthly need a local run."),
    chunk: Optional[int] = typer.Option(
        None, "--chunk",
        help="Scenarios per engine call (default: automatic, at most 2,000); smaller uses less memory."),
    draws: int = typer.Option(
        DEFAULT_DRAWS, "--draws", min=1, max=100_000,
        help="--grid: draws of the calibrated parameters per combination for the 90 % bands (the same draws "
             "for every combination)."),
    no_band: bool = typer.Option(False, "--no-band", help="--grid: central runs only (no bands; faster)."),
    as_json: bool = typer.Option(False, "--json", help="Print the tables as JSON on stdout (nothing else there)."),
    xlsx: Optional[Path] = XLSX_OPT,
):
    """Run a grid of parameter values (each with its 90 % band) or a Monte Carlo sample as one batch."""
    from simulator.analysis.sweep import as_scenario
    from simulator.io.outputs import check_out_dir

    if bool(grid) == (samples is not None):
        raise ScenarioError("give either --grid dotted.key=v1,v2,... or --samples N", file="resim sweep")
    if samples is not None and samples < 1:
        raise ScenarioError(f"must be at least 1 (got {samples})", file="--samples")
    if chunk is not None and not 1 <= chunk <= 1_000_000:
        raise ScenarioError(f"must be between 1 and 1,000,000 scenarios (got {chunk})", file="--chunk")
    parsed = parse_grid(grid) if grid else None
    sc = as_scenario(load(scenario, set_))
    if scheduler is not None and monthly:
        raise ScenarioError("monthly tables are built locally; drop --monthly or --scheduler",
                            file="--scheduler")
    _check_size(sc, parsed, samples, monthly, out is not None, scheduler is not None, chunk)
    if out is not None:
        check_out_dir(out, force)
    check_xlsx(xlsx, force)
    client = None
    tables: dict = {}
    try:
        if scheduler is not None:
            from simulator.core.executor import connect

            client = connect(scheduler)
        with _chunk_size(chunk), phase("run"):
            if parsed is not None:
                try:
                    summary, month, writers = _grid_run(sc, parsed, monthly, out is not None, client,
                                                        draws=0 if (no_band or client is not None) else draws,
                                                        seed=seed)
                except ScenarioError as exc:
                    if exc.file not in (None, "sweep"):
                        raise
                    raise ScenarioError(exc.message, file="--grid", key=exc.key) from None
                table = tidy_months(summary, sc.start_date)
                tables = {"sweep": table}
                if monthly and month is not None:
                    tables["monthly"] = month
                if as_json:
                    emit_json({"scenario": sc.name, "grid": _jsonable(parsed), "rows": records(table)})
                else:
                    echo(f"Sweep of {sc.name or 'scenario'}: {len(summary)} combinations of "
                         f"{', '.join(parsed)}")
                    echo(_format_table(summary, list(parsed) + list(HEADLINE)))
            else:
                assert samples is not None             # checked above: --grid or --samples, one of them
                try:
                    summary, month, writers = _sample_run(sc, samples, seed, monthly, out is not None, client)
                except ScenarioError as exc:
                    if exc.file != "sample":
                        raise
                    raise ScenarioError(exc.message, file="--samples", key=exc.key) from None
                from simulator.analysis.sweep import rank_correlations, summarize_samples

                stats = summarize_samples(summary, list(HEADLINE))
                corr = rank_correlations(summary) if samples > 2 else None
                table = tidy_months(summary, sc.start_date)
                tables = {"samples": table, "statistics": stats.reset_index()}
                if corr is not None:
                    tables["drivers"] = corr
                if monthly and month is not None:
                    tables["monthly"] = month
                if as_json:
                    emit_json({"scenario": sc.name, "samples": samples, "seed": seed,
                               "statistics": records(stats.reset_index()),
                               "drivers": records(corr) if corr is not None else [],
                               "rows": records(table)})
                else:
                    echo(f"Monte Carlo of {sc.name or 'scenario'}: {samples} draws, seed {seed}, "
                         f"{len(summary.attrs['keys'])} uncertain inputs")
                    echo(stats.to_string(float_format=lambda v: f"{v:,.3f}"))
                    if corr is not None:
                        echo("\nInputs that drive the GDP loss most (Spearman rank correlation):")
                        echo(corr.head(5).to_string(index=False, float_format=lambda v: f"{v:+.2f}"))
        engine_detail(len(summary))
    finally:
        if client is not None:
            try:
                client.close(timeout=10)             # the results are here; the cluster stays up
            except Exception:  # noqa: BLE001 - closing a client to a vanished cluster must not hide the outcome
                pass
    if out is not None:
        from simulator.io.outputs import write_atomic

        with phase("write"):
            write_atomic(out, writers, force=force)
        note(f"\nWrote {', '.join(writers)} to {out}", machine_output=as_json)
    elif xlsx is None:
        note("\n(use --out DIR to write sweep.csv and plots, --xlsx FILE for a workbook)", machine_output=as_json)
    if xlsx is not None:
        written = write_xlsx(xlsx, {**tables, "assumptions": assumptions_frame([(sc.name or "scenario", sc)])},
                             force)
        note(f"\nWrote {written}", machine_output=as_json)


def _check_size(sc, grid: dict | None, samples: int | None, monthly: bool, want_files: bool, remote: bool,
                chunk: int | None) -> None:
    """Refuse a batch that cannot fit in memory before anything is allocated (simulator.core.budget)."""
    import math

    from simulator.core.budget import check_batch

    if grid is not None:
        n = math.prod(len(v) for v in grid.values())
        paths = want_files and n <= MAX_PATH_LINES and not remote
        check_batch(sc, n, source="--grid", monthly=bool(monthly or paths), grid_keys=len(grid), chunk=chunk)
    else:
        assert samples is not None                     # no grid: the sweep checked that --samples is given
        fan = False if remote else ["cumulative_gdp_loss_pct"]
        check_batch(sc, samples, source="--samples", monthly=True if monthly else fan, chunk=chunk)


class _chunk_size:
    """``--chunk``: scenarios per engine call (``executor.DEFAULT_CHUNK``) inside this block."""

    def __init__(self, chunk: int | None):
        self.chunk = chunk
        self.old: int | None = None

    def __enter__(self):
        if self.chunk is not None:
            from simulator.core import executor

            self.old, executor.DEFAULT_CHUNK = executor.DEFAULT_CHUNK, self.chunk
        return self

    def __exit__(self, *exc):
        if self.old is not None:                       # set by __enter__ when there is a --chunk
            from simulator.core import executor

            executor.DEFAULT_CHUNK = self.old
        return False


def _provenance(sc, **extra):
    from simulator.io.outputs import provenance

    return {**extra, "scenario": provenance(sc)}


def _grid_run(sc, grid: dict, monthly: bool, want_files: bool, client=None, draws: int = 0, seed: int = 0):
    import math

    from simulator.analysis.sweep import _sweep_frames
    from simulator.io.outputs import csv_writer, figure_writer, json_writer

    total = math.prod(len(v) for v in grid.values())
    # small grids also get a chart over time (paths.png); one engine pass gives both tables
    want_paths = want_files and total <= MAX_PATH_LINES and client is None
    summary, month = _sweep_frames(sc, grid, want_summary=True, monthly=bool(monthly or want_paths),
                                   progress=not quiet(), client=client, draws=draws, seed=seed)
    writers = {"sweep.csv": csv_writer(summary)}
    if monthly:
        writers["monthly.csv"] = csv_writer(month)
    x = _x_key(summary, list(grid))
    if x is not None:
        from simulator.plots import plot_headline, plot_sweep

        headline = set(grid) == {"restriction.duration_months", "stockpile.national.cover_days"}
        writers["sweep.png"] = figure_writer(
            (lambda: plot_headline(summary)) if headline else (lambda: plot_sweep(summary, x=x)))
    if want_paths:
        from simulator.plots import plot_paths

        writers["paths.png"] = figure_writer(lambda: plot_paths(month))
    writers["provenance.json"] = json_writer(_provenance(sc, command="sweep", grid=_jsonable(grid)))
    return summary, month, writers


def _x_key(summary, keys):
    """The x axis of the sweep plot: the grid key with most numeric values."""
    best, n_best = None, 1
    for k in keys:
        col = summary[k]
        if col.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).all():
            n = col.nunique()
            if n > n_best:
                best, n_best = k, n
    return best


def _sample_run(sc, n: int, seed: int, monthly: bool, want_files: bool, client=None):
    from simulator.analysis.sweep import _sample_frames
    from simulator.io.outputs import csv_writer, figure_writer, json_writer

    # one engine pass gives both the summary and the paths for the fan chart
    # (on a Dask cluster only the summary comes back: no fan chart)
    fan = ["cumulative_gdp_loss_pct"] if client is None else False
    summary, month = _sample_frames(sc, n, seed, None, want_summary=True, monthly=True if monthly else fan,
                                    progress=not quiet(), client=client)
    writers = {"sweep.csv": csv_writer(summary)}
    if monthly:
        writers["monthly.csv"] = csv_writer(month)
    if want_files:
        from simulator.analysis.sweep import rank_correlations
        from simulator.plots import plot_distribution, plot_fan, plot_rank_correlations

        writers["distribution.png"] = figure_writer(lambda: plot_distribution(summary))
        if month is not None:
            writers["fan.png"] = figure_writer(lambda: plot_fan(month))
        if n > 2:
            writers["drivers.png"] = figure_writer(lambda: plot_rank_correlations(rank_correlations(summary)))
    writers["provenance.json"] = json_writer(_provenance(
        sc, command="sweep --samples", samples=n, seed=seed, distributions=summary.attrs["distributions"]))
    return summary, month, writers


def _jsonable(grid: dict) -> dict:
    return {k: [v for v in vals] for k, vals in grid.items()}


@app.command()
def compare(
    scenarios: Optional[List[Path]] = typer.Argument(
        None, help="One scenario with --durations, or several scenario files (default: the bundled one).",
        show_default=False),
    durations: Optional[str] = typer.Option(
        None, "--durations", "-d",
        help=f"Restriction lengths in months, e.g. {DEFAULT_DURATIONS} (the default with no files)."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o",
        help="Write compare.png, sectors.png, compare.csv, monthly.csv here (default: only ./resim-compare.png)."),
    top: int = typer.Option(10, "--top", help="Sectors in the sector chart."),
    set_: Optional[List[str]] = SET_OPT,
    force: bool = FORCE_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON on stdout (nothing else there; "
                                                       "no chart unless --out)."),
    xlsx: Optional[Path] = XLSX_OPT,
):
    """Compare restriction lengths, or several scenario files, over time."""
    from simulator.io.outputs import check_out_dir

    files = list(scenarios or [])
    if len(files) > MAX_COMPARE:
        raise ScenarioError(f"{len(files)} scenario files; resim compare runs at most {MAX_COMPARE}",
                            file="resim compare")
    if durations is None and len(files) <= 1:
        durations = DEFAULT_DURATIONS
    if durations is not None and len(files) > 1:
        raise ScenarioError("--durations compares lengths of one scenario; give one file (or none)",
                            file="resim compare")
    if top < 1:
        raise ScenarioError(f"must be at least 1 (got {top})", file="--top")
    items = _compare_items(files, durations, set_)
    if out is not None:
        check_out_dir(out, force)
    check_xlsx(xlsx, force)
    with phase("run"):
        results = _run_items(items)
    engine_detail()
    table = _compare_table(results)
    if as_json:
        emit_json({"durations": durations, "rows": records(table)})
    else:
        shown = _dates_in_words(table)
        echo(_format_table(shown, [c for c in shown.columns if not c.endswith(("_p05", "_p95"))],
                           max_rows=len(shown)))
    from simulator.analysis.sweep import compare_monthly
    from simulator.io.outputs import csv_writer, figure_writer, json_writer
    from simulator.plots import plot_compare, plot_sectors

    month = compare_monthly(results)
    if xlsx is not None:
        written = write_xlsx(xlsx, {"compare": table, "monthly": month,
                                    "assumptions": assumptions_frame([(lab, r.scenario) for lab, r in results])},
                             force)
        note(f"\nWrote {written}", machine_output=as_json)
    title = _compare_title(items, durations)
    by = "restriction.duration_months" if durations is not None else "label"
    make_fig = lambda: plot_compare(month, title=title, by=by)  # noqa: E731
    if out is None:
        if as_json or xlsx is not None:
            return                          # the table went where it was asked; no chart in the working directory
        from simulator.io.outputs import write_file

        with phase("write"):
            path = write_file(Path("resim-compare.png"), figure_writer(make_fig), overwrite=force, next_free=True)
        note(f"\nWrote {path}")
        return
    from simulator.io.outputs import provenance, write_atomic

    writers = {
        "compare.png": figure_writer(make_fig),
        "sectors.png": figure_writer(lambda: plot_sectors({lab: r.sectors for lab, r in results}, top=top,
                                                          sequential=durations is not None)),
        "compare.csv": csv_writer(table),
        "monthly.csv": csv_writer(month),
        "provenance.json": json_writer({"command": "compare", "durations": durations,
                                        "scenarios": [{"label": lab, **provenance(r.scenario)} for lab, r in results]}),
    }
    with phase("write"):
        write_atomic(out, writers, force=force)
    note(f"\nWrote {', '.join(writers)} to {out}", machine_output=as_json)


def _dates_in_words(table):
    """The compare table for people: calendar months as 'Jul 2026', no event as 'never'."""
    from simulator.report.format import date_label

    shown = table.copy()
    for col in ("peak_date", "first_shortage_date"):
        shown[col] = [date_label(v) if isinstance(v, str) and v else "never" for v in shown[col]]
    return shown


def _compare_items(files: list, durations: str | None, sets) -> list:
    """[(label, scenario)] to compare, all validated before anything runs."""
    if durations is not None:
        base = load(files[0] if files else None, sets)
        items = []
        for d in parse_durations(durations):
            try:
                sc = base.with_overrides({"restriction.duration_months": d})
            except ScenarioError as exc:
                raise ScenarioError(f"{d:g} months: {exc.message}", file="--durations", key=exc.key) from None
            items.append((f"{d:g} months", sc))
        return items
    items = []
    seen: dict[str, int] = {}
    for f in files:
        sc = load(f, sets)
        label = sc.name or Path(resolve_scenario(f)).stem
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} ({Path(f).name})"
        items.append((label, sc))
    return items


def _run_items(items):
    from simulator.core.runner import run

    return [(label, run(sc, keep_sector_paths=False)) for label, sc in items]


def _compare_table(results):
    import pandas as pd

    rows = []
    for label, r in results:
        s = r.summary
        top = s["top_sectors"][0]["name"] if s["top_sectors"] else ""
        band = {f"{k}{q}": s[f"{k}{q}"] for k in ("gdp_loss_pct", "gdp_loss_jpy_bn")
                for q in ("_p05", "_p95") if f"{k}{q}" in s}
        rows.append({
            "scenario": label,
            "restriction_months": r.scenario.restriction.duration_months,
            "gdp_loss_pct": s["gdp_loss_pct"],
            "gdp_loss_jpy_bn": s["gdp_loss_jpy_bn"],
            **band,
            "peak_monthly_gdp_loss_jpy_bn": s["peak_monthly_gdp_loss_jpy_bn"],
            "peak_date": s["peak_date"],                       # None: no month with a loss
            "months_with_loss": s["months_with_loss"],
            "first_shortage_date": s["first_shortage_date"],   # None: no shortage
            "top_sector": top,
        })
    return pd.DataFrame(rows)


def _compare_title(items, durations) -> str:
    from simulator.io.text import literal

    if durations is not None:
        name = literal(items[0][1].name or "the scenario", 80)        # drawn as it is, no mathtext
        return f"Restriction lengths compared (otherwise as {name})"
    return "Scenarios compared: GDP loss and rare-earth stocks over time"
