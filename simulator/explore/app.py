"""The explorer's web app (Dash): layout, callbacks, figures.

Each change of an input runs two callbacks in a chain:

1. ``update`` runs the scenario once (``simulator.run``, tens of ms) and
   draws the central estimate at once, with the band too if it is cached;
2. ``add_band`` then computes the band (:func:`simulator.report.band.band_of`,
   200 seeded draws in one vectorised batch, ~0.1 s; 40 draws for the
   value_added rule, which solves a linear program per month) and redraws
   with it;
3. ``add_sectors`` finally re-runs 20 of the draws in full for the sector
   whiskers (~0.6 s).

Runs, bands and sector bands are cached per setting, so going back to a
setting answers at once, band included.

All JavaScript (Dash's React bundles and plotly.js) is served from the
installed Python packages, and the CSS from this package's ``assets/``: the
page makes no request beyond the local server.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from simulator.errors import ResimError
from simulator.explore.state import Session, scenario_toml
from simulator.report.figures import COLORS, RESTRICTION_SHADE, material_color
from simulator.report.format import fmt_interval, fmt_month_interval, material_name, month_label

if TYPE_CHECKING:
    from dash.dcc import Graph

ASSETS = Path(__file__).parent / "assets"
PIN_COLOR = "#7f7f7f"
_GRAPH_CONFIG: Graph.Config = {"displaylogo": False, "responsive": False, "displayModeBar": "hover",
                               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
                               "toImageButtonOptions": {"format": "svg", "filename": "resim-explore"}}


class Explorer:
    """A Dash app around a :class:`Session`.

    Use :meth:`serve` from a script or the CLI, :meth:`show` in a notebook.
    """

    def __init__(self, scenario=None, draws: int = 200, warm: bool = True):
        import dash

        from simulator.io.scenario import load_scenario

        sc = scenario if scenario is not None else load_scenario()
        self.session = Session(sc, draws=draws)
        self.app = dash.Dash(
            # update_title "": the tab title stays put while callbacks run (Dash: "None or ''")
            __name__, title="resim explore", update_title="", assets_folder=str(ASSETS),
            serve_locally=True, suppress_callback_exceptions=False,
        )
        self.app.layout = _layout(self.session)
        _callbacks(self.app, self.session)
        if warm:
            self.session.warm_up()

    def serve(self, host: str = "127.0.0.1", port: int = 8050) -> None:
        """Serve until interrupted (Flask's threaded server; request logs off)."""
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.app.logger.setLevel(logging.WARNING)
        try:
            import flask.cli

            flask.cli.show_server_banner = lambda *a, **k: None
        except (ImportError, AttributeError):
            pass
        self.app.run(host=host, port=port, debug=False, dev_tools_ui=False, dev_tools_props_check=False)

    def show(self, port: int | None = None, height: int = 1100,
             mode: Literal["inline", "external", "jupyterlab", "tab"] = "inline") -> None:
        """Display inside a Jupyter notebook.

        Dash runs the server in a background thread on 127.0.0.1; ``port=None`` picks a free one.
        """
        import logging

        if port is None:
            port = _free_port()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.app.run(jupyter_mode=mode, jupyter_height=height, host="127.0.0.1", port=port, debug=False)


def make_app(scenario=None, draws: int = 200, warm: bool = True) -> Explorer:
    """The explorer for a scenario (default: the bundled one-year scenario)."""
    return Explorer(scenario, draws=draws, warm=warm)


def show(scenario=None, port: int | None = None, height: int = 1100) -> Explorer:
    """Notebook one-liner: ``simulator.explore.show()`` (the bundled default) or ``show(scenario)``."""
    ex = Explorer(scenario)
    ex.show(port=port, height=height)
    return ex


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------

def _control(c, value):
    from dash import dcc, html

    widget: dcc.Slider | dcc.RadioItems | dcc.Dropdown
    if c.kind == "slider":
        span = c.max - c.min
        every = 6 if c.id in ("duration", "start") else None
        marks = None
        if every:
            marks = {int(v): f"{int(v)}" for v in range(int(c.min), int(c.max) + 1, every)}
        else:
            marks = {c.min: f"{c.min:g}", c.max: f"{c.max:g}"}
        widget = dcc.Slider(id=f"ctl-{c.id}", min=c.min, max=c.max, step=c.step, value=value, marks=marks,
                            updatemode="mouseup", tooltip={"placement": "bottom", "always_visible": False},
                            className="slider")
        del span
    elif len(c.options) <= 3:
        widget = dcc.RadioItems(id=f"ctl-{c.id}",
                                options=[{"label": o.replace("_", " "), "value": o} for o in c.options],
                                value=value, inline=True, className="radio")
    else:
        widget = dcc.Dropdown(id=f"ctl-{c.id}", options=[{"label": o.replace("_", " "), "value": o} for o in c.options],
                              value=value, clearable=False, searchable=False, className="dropdown")
    return html.Div([html.Label(c.label, htmlFor=f"ctl-{c.id}", className="ctl-label"),
                     html.Div(c.help, className="ctl-help") if c.help else None, widget], className="ctl")


def _layout(session: Session):
    from dash import dcc, html

    sc = session.base
    groups = [
        ("Restriction", ["duration", "severity", "start", "lead_normal", "lead_restricted"]),
        ("National stockpile", ["stock_days", "strategy", "max_release"]),
        ("Firms, allies, economy", ["cover_scale", "allies", "allocation", "table"]),
    ]
    by_id = {c.id: c for c in session.controls}
    panel = []
    for title, ids in groups:
        panel.append(html.H3(title))
        panel += [_control(by_id[i], session.initial[i]) for i in ids if i in by_id]
    return html.Div([
        html.Header([
            html.Div([html.Span("resim explore", className="kicker"),
                      html.H1("What a Chinese rare-earth restriction costs Japan"),
                      html.P([f"Loaded: {sc.name or 'scenario'}",
                              f" ({Path(sc.source_file).name})" if sc.source_file else ""], className="loaded")]),
            html.Div([
                html.Button("Pin for comparison", id="btn-pin", n_clicks=0, className="btn"),
                html.Button("Clear pin", id="btn-unpin", n_clicks=0, className="btn btn-light"),
                html.Button("Download scenario (TOML)", id="btn-toml", n_clicks=0, className="btn"),
                html.Button("Download report (HTML)", id="btn-report", n_clicks=0, className="btn"),
                dcc.Download(id="dl-toml"),
                dcc.Loading(dcc.Download(id="dl-report"), type="circle", className="dl-spinner"),
            ], className="actions"),
        ], className="top"),
        html.Div([
            html.Aside(panel, className="controls"),
            html.Main([
                html.Div(id="headline", className="headline"),
                html.Div(id="status", className="status"),
                dcc.Graph(id="fig-gdp", config=_GRAPH_CONFIG, className="graph"),
                dcc.Graph(id="fig-stocks", config=_GRAPH_CONFIG, className="graph"),
                dcc.Graph(id="fig-sectors", config=_GRAPH_CONFIG, className="graph"),
                html.P("Bands: 5\u201395 % of seeded draws of the calibrated parameters (the posterior of "
                       "docs/validation.md; a control you move is held at your value) and of the scenario's own "
                       "[uncertainty]; numbers are rounded to what the band supports.",
                       className="note"),
            ], className="results"),
        ], className="body"),
        dcc.Store(id="current"),
        dcc.Store(id="banded"),
        dcc.Store(id="pinned"),
    ], className="page")


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------

def _axis(sc):
    n = sc.horizon_months
    every = 3 if n <= 18 else 6 if n <= 48 else 12
    ticks = list(range(0, n, every))
    return {"tickmode": "array", "tickvals": ticks, "ticktext": [month_label(sc.start_date, k) for k in ticks],
            "range": [-0.5, n - 0.5], "showgrid": True, "gridcolor": "#eee", "zeroline": False}


def _shapes(sc):
    r = sc.restriction
    if r.duration_months <= 0:
        return []
    return [{"type": "rect", "xref": "x", "yref": "paper", "x0": r.start_month - 0.5,
             "x1": min(r.start_month + r.duration_months, sc.horizon_months) - 0.5, "y0": 0, "y1": 1,
             "fillcolor": RESTRICTION_SHADE, "opacity": 0.15, "line": {"width": 0}, "layer": "below"}]


def _base_layout(title: str, sc, ytitle: str, height: int = 330):
    return {"title": {"text": title, "x": 0.01, "font": {"size": 15}}, "height": height,
            "margin": {"l": 60, "r": 16, "t": 40, "b": 30}, "xaxis": _axis(sc), "autosize": True,
            "yaxis": {"title": {"text": ytitle}, "rangemode": "tozero", "gridcolor": "#eee", "zeroline": False},
            "shapes": _shapes(sc), "legend": {"orientation": "h", "y": -0.12, "x": 0, "xanchor": "left",
                                              "yanchor": "top"},
            "plot_bgcolor": "white", "paper_bgcolor": "white", "hovermode": "x unified",
            "font": {"family": "Helvetica Neue, Helvetica, Arial, Liberation Sans, sans-serif", "size": 12},
            "uirevision": "keep"}


def _band_traces(x, lo, hi, color, name, group):
    return [
        {"type": "scatter", "x": x, "y": hi, "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip",
         "showlegend": False, "legendgroup": group},
        {"type": "scatter", "x": x, "y": lo, "mode": "lines", "line": {"width": 0}, "fill": "tonexty",
         "fillcolor": _rgba(color, 0.2), "name": name, "hoverinfo": "skip", "legendgroup": group},
    ]


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def gdp_figure(central, band, pinned):
    """Plotly figure of the monthly GDP loss: now, its band (if any) and the pinned setting (if any)."""
    sc, em = central.scenario, central.result.economy_monthly
    x = em["month"].tolist()
    data = []
    if band is not None:
        b = band.economy
        data += _band_traces(x, b["gdp_loss_jpy_bn_p05"].round(2).tolist(), b["gdp_loss_jpy_bn_p95"].round(2).tolist(),
                             COLORS["purple"], "5\u201395 % band", "band")
    if pinned is not None:
        pm = pinned.result.economy_monthly
        data.append({"type": "scatter", "x": pm["month"].tolist(), "y": pm["gdp_loss_jpy_bn"].round(2).tolist(),
                     "mode": "lines", "line": {"color": PIN_COLOR, "dash": "dash", "width": 2}, "name": "pinned"})
    data.append({"type": "scatter", "x": x, "y": em["gdp_loss_jpy_bn"].round(2).tolist(), "mode": "lines",
                 "line": {"color": "#6a3d5c", "width": 2.5}, "name": "now",
                 "hovertemplate": "%{y:,.0f} bn yen<extra>now</extra>"})
    return {"data": data, "layout": _base_layout("GDP loss per month (grey: restriction in force)", sc,
                                                 "bn yen per month")}


def stocks_figure(central, band, pinned):
    """Plotly figure of each material's stocks in months of demand: now, its band and the pinned setting."""
    sc = central.scenario
    mm = central.result.materials_monthly
    data = []
    bm = band.materials if band is not None else None
    pm = pinned.result.materials_monthly if pinned is not None else None
    for i, (mid, g) in enumerate(mm.groupby("material", sort=False)):
        color, name = material_color(mid, i), material_name(mid, sc)
        x = g["month"].tolist()
        if bm is not None:
            gb = bm[bm["material"] == mid]
            data += _band_traces(x, gb["stock_months_p05"].round(3).tolist(), gb["stock_months_p95"].round(3).tolist(),
                                 color, f"{name} band", mid)
        if pm is not None:
            gp = pm[pm["material"] == mid]
            y = ((gp["corporate_stock_t"] + gp["national_stock_t"]) / gp["demand_baseline_t"]).round(3).tolist()
            data.append({"type": "scatter", "x": gp["month"].tolist(), "y": y, "mode": "lines",
                         "line": {"color": color, "dash": "dash", "width": 1.5}, "name": f"{name} (pinned)",
                         "legendgroup": mid, "opacity": 0.7})
        y = ((g["corporate_stock_t"] + g["national_stock_t"]) / g["demand_baseline_t"]).round(3).tolist()
        data.append({"type": "scatter", "x": x, "y": y, "mode": "lines", "line": {"color": color, "width": 2.5},
                     "name": name, "legendgroup": mid, "hovertemplate": "%{y:.2f} months<extra>" + name + "</extra>"})
    return {"data": data, "layout": _base_layout("Stocks, corporate + national", sc, "months of normal demand")}


def sectors_figure(central, pinned, sectors=None, top: int = 8):
    """Plotly bar chart of the ``top`` sectors by GDP loss, with whiskers once ``sectors`` has their band."""
    sec = sectors if sectors is not None else central.result.sectors
    sec = sec[sec["gdp_loss_jpy_bn"] > 0].head(top)
    names = sec["name"].tolist()[::-1]
    data = []
    if pinned is not None:
        ps = pinned.result.sectors.set_index("name")["gdp_loss_jpy_bn"]
        data.append({"type": "bar", "orientation": "h", "y": names,
                     "x": [round(float(ps.get(n, 0.0)), 1) for n in names], "name": "pinned",
                     "marker": {"color": "#bbbbbb"}})
    now = {"type": "bar", "orientation": "h", "y": names, "x": sec["gdp_loss_jpy_bn"].round(1).tolist()[::-1],
           "name": "now", "marker": {"color": COLORS["blue"]}, "hovertemplate": "%{x:,.0f} bn yen<extra></extra>"}
    if sectors is not None and "gdp_loss_jpy_bn_p05" in sec and sec["gdp_loss_jpy_bn_p05"].notna().any():
        v = sec["gdp_loss_jpy_bn"]
        now["error_x"] = {"type": "data", "symmetric": False, "color": "#222", "thickness": 1.2, "width": 4,
                          "array": (sec["gdp_loss_jpy_bn_p95"] - v).clip(lower=0).round(1).tolist()[::-1],
                          "arrayminus": (v - sec["gdp_loss_jpy_bn_p05"]).clip(lower=0).round(1).tolist()[::-1]}
    data.append(now)
    title = "Sectors that lose the most (GDP loss over the horizon" + (
        "; whiskers: 5\u201395 % band)" if sectors is not None else "; band on its way)")
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "font": {"size": 15}},
        "height": 70 + 30 * max(len(names), 1) * (1.6 if pinned is not None else 1),
        "margin": {"l": 210, "r": 16, "t": 40, "b": 40}, "barmode": "group",
        "xaxis": {"title": {"text": "bn yen"}, "gridcolor": "#eee"}, "yaxis": {"automargin": True},
        "plot_bgcolor": "white", "paper_bgcolor": "white", "showlegend": pinned is not None,
        "legend": {"orientation": "h", "y": -0.12, "x": 0, "xanchor": "left", "yanchor": "top"},
        "font": {"family": "Helvetica Neue, Helvetica, Arial, Liberation Sans, sans-serif", "size": 12},
        "uirevision": "keep",
    }
    if not names:
        layout["annotations"] = [{"text": "No sector loses output", "showarrow": False, "xref": "paper",
                                  "yref": "paper", "x": 0.5, "y": 0.5}]
    return {"data": data, "layout": layout}


def headline(central, band, pinned, pinned_band):
    """The headline numbers with their band (or 'band: computing')."""
    from dash import html

    from simulator.report.band import Interval
    from simulator.report.builder import restriction_words, shortage_sentences

    sc = central.scenario
    s = central.result.summary
    if band is not None:
        pct = fmt_interval(band.metrics["gdp_loss_pct"], " %")
        yen = fmt_interval(band.metrics["gdp_loss_jpy_bn"], " bn yen")
        peak = fmt_month_interval(band.metrics["peak_month"], sc.start_date, never="no loss")
        pct_band = f"5\u201395 %: {pct['low']}\u2013{pct['high']} %" if pct["low"] else ""
        yen_band = f"5\u201395 %: {yen['low']}\u2013{yen['high']} bn yen" if yen["low"] else ""
        shortages = shortage_sentences(band, sc)
        band_state = "ready"
    else:
        # no band yet: two significant figures of the value itself, marked as provisional
        pct = fmt_interval(Interval(s["gdp_loss_pct"], None, None), " %")
        yen = fmt_interval(Interval(s["gdp_loss_jpy_bn"], None, None), " bn yen")
        peak = {"central": month_label(sc.start_date, s["peak_month"]) or "none", "band": ""}
        pct_band = yen_band = "band: computing\u2026"
        shortages = []
        band_state = "pending"
    children = [
        html.P(f"With {restriction_words(sc)}, Japan loses about", className="lead", id="headline-lead"),
        html.Div([
            html.Div([html.Span(pct["central"], id="gdp-pct", className="value"),
                      html.Span(" % of a year's GDP", className="unit"),
                      html.Span(pct_band, id="gdp-pct-band", className="range")], className="big"),
            html.Div([html.Span(yen["central"], id="gdp-yen", className="value"),
                      html.Span(" bn yen", className="unit"),
                      html.Span(yen_band, id="gdp-yen-band", className="range")], className="big"),
        ], className="big-numbers"),
        html.P([f"over {sc.horizon_months} months. Worst month: ", html.Strong(peak["central"] or "none"),
                f" ({peak['band']})" if peak.get("band") else ""], className="sub"),
        html.Ul([html.Li(t) for t in shortages], className="facts") if shortages else None,
    ]
    if pinned is not None:
        pb = pinned_band
        ptext = (fmt_interval(pb.metrics["gdp_loss_pct"], " %")["text"] if pb is not None
                 else fmt_interval(Interval(pinned.result.summary["gdp_loss_pct"], None, None), " %")["text"])
        diff = s["gdp_loss_pct"] - pinned.result.summary["gdp_loss_pct"]
        dtext = fmt_interval(Interval(diff, None, None), " pp", signed=True)["text"]
        changed = ", ".join(f"{k} = {v}" for k, v in pinned.overrides.items()) or "the loaded scenario"
        children.append(html.P([html.Strong("Pinned: "), f"{ptext} ({changed}); now {dtext} against it."],
                               className="pinned", id="pinned-summary"))
    data_attributes: dict[str, Any] = {"data-band": band_state}
    return html.Div(children, **data_attributes)


# --------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------

def _callbacks(app, session: Session) -> None:
    """Register the callback chain: ``update`` (central, at once) -> ``add_band`` -> ``add_sectors``.

    ``add_band`` adds the posterior band, ``add_sectors`` the sector band.
    """
    from dash import Input, Output, State, dcc, no_update
    from dash.exceptions import PreventUpdate

    ids = [c.id for c in session.controls]
    inputs = [Input(f"ctl-{i}", "value") for i in ids]
    figs = [Output("fig-gdp", "figure"), Output("fig-stocks", "figure"), Output("fig-sectors", "figure")]

    def dup(o):
        return Output(o.component_id, o.component_property, allow_duplicate=True)

    def pinned_of(pinned):
        if not pinned:
            return None, None
        try:
            return session.central(pinned), session.cached_band(pinned)
        except ResimError:
            return None, None

    def render(central, band, sectors, pinned):
        p, pb = pinned_of(pinned)
        return (headline(central, band, p, pb), gdp_figure(central, band, p), stocks_figure(central, band, p),
                sectors_figure(central, p, sectors))

    @app.callback(Output("headline", "children"), *figs, Output("status", "children"), Output("current", "data"),
                  *inputs, Input("pinned", "data"))
    def update(*values):
        settings = dict(zip(ids, values[:-1], strict=True))     # one value per control, then the pin
        t = time.perf_counter()
        try:
            central = session.central(settings)
        except ResimError as exc:
            return (no_update,) * 4 + (f"Not a valid combination: {exc.one_line()}", no_update)
        band, sectors = session.cached_band(settings), session.cached_sectors(settings)
        out = render(central, band, sectors, values[-1])
        ms = 1000 * (time.perf_counter() - t)
        status = f"Answered in {ms:.0f} ms" + ("" if band is not None else "; band on its way")
        return out + (status, {"settings": settings, "band": band is not None, "sectors": sectors is not None,
                               "ms": round(ms)})

    @app.callback(Output("headline", "children", allow_duplicate=True), *[dup(o) for o in figs],
                  Output("status", "children", allow_duplicate=True), Output("banded", "data"),
                  Input("current", "data"), State("pinned", "data"), prevent_initial_call="initial_duplicate")
    def add_band(current, pinned):
        if not current or current.get("band"):
            raise PreventUpdate
        settings = current["settings"]
        t = time.perf_counter()
        try:
            central = session.central(settings)
            band = session.band(settings)
        except ResimError as exc:
            return (no_update,) * 4 + (f"Band not available: {exc.one_line()}", no_update)
        ms = 1000 * (time.perf_counter() - t)
        sectors = session.cached_sectors(settings)
        status = f"Answered in {current.get('ms', 0):.0f} ms; band of {band.n} draws {ms:.0f} ms later"
        return render(central, band, sectors, pinned) + (status, current)

    @app.callback(Output("fig-sectors", "figure", allow_duplicate=True), Input("banded", "data"),
                  Input("current", "data"), State("pinned", "data"), prevent_initial_call="initial_duplicate")
    def add_sectors(banded, current, pinned):
        if not current or current.get("sectors"):
            raise PreventUpdate
        band_ready = current.get("band") or (banded and banded.get("settings") == current.get("settings"))
        if not band_ready:
            raise PreventUpdate               # the band comes first; add_band triggers this again
        settings = current["settings"]
        try:
            central, sectors = session.central(settings), session.sector_band(settings)
        except ResimError:
            raise PreventUpdate from None
        return sectors_figure(central, pinned_of(pinned)[0], sectors)

    @app.callback(Output("pinned", "data"), Input("btn-pin", "n_clicks"), Input("btn-unpin", "n_clicks"),
                  State("current", "data"), prevent_initial_call=True)
    def pin(_pin, _unpin, current):
        from dash import ctx

        if ctx.triggered_id == "btn-unpin" or not current:
            return None
        return current["settings"]

    @app.callback(Output("dl-toml", "data"), Input("btn-toml", "n_clicks"), State("current", "data"),
                  prevent_initial_call=True)
    def download_toml(_n, current):
        if not current:
            raise PreventUpdate
        c = session.central(current["settings"])
        return dcc.send_string(scenario_toml(c.scenario, session.base, c.overrides), "resim-scenario.toml")

    @app.callback(Output("dl-report", "data"), Input("btn-report", "n_clicks"), State("current", "data"),
                  prevent_initial_call=True)
    def download_report(_n, current):
        from simulator.report import build_report

        if not current:
            raise PreventUpdate
        c = session.central(current["settings"])
        html_text = build_report([c.scenario], n=session.draws, seed=session.seed, overrides=c.overrides)
        return dcc.send_string(html_text, "resim-report.html")
