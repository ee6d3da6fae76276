"""``resim explore``: a local, offline, interactive explorer (``pip install 'resim[explore]'``).

From a notebook::

    import simulator.explore
    simulator.explore.show()                      # the bundled default, inline
    simulator.explore.show(simulator.load_scenario("scenarios/japan-six-months.toml"))

From the command line: ``resim explore [SCENARIO] [--port N] [--no-browser]``.

Why Dash (measured on the 2-core development machine, Dec 2026; Python 3.11):

=========================  =========  ==========  ============  =========================
candidate                  import     first page  extra's size  notebook
=========================  =========  ==========  ============  =========================
Dash 4.4 (+ plotly 7.1)    0.49 s     0.63 s      122 MB        built in (``jupyter_mode``)
Panel 1.9 (+ Bokeh 3.9)    1.15 s     0.93 s      174 MB        native (best)
Starlette + uvicorn        0.1 s      0.14 s      5 MB (+ JS)   an IFrame only
=========================  =========  ==========  ============  =========================

("first page": a minimal app from process start to the first HTTP 200; the
size is what ``pip`` adds to an environment that already has resim's core
dependencies.) Dash and Panel both serve every script from the installed
packages, so both work offline; Dash's plotly figures are what many analysts
already use, its callbacks are plain Python functions of plain values (the
logic here stays in :mod:`simulator.explore.state`, free of the framework),
and it starts faster and weighs less than Panel. A bare Starlette app would be
lightest but needs a vendored plotting library and hand-written JS, and has no
notebook story beyond an IFrame.
"""

from simulator.explore.app import Explorer, make_app, show

__all__ = ["Explorer", "make_app", "show"]
