"""``resim explore``: the interactive explorer in the browser (needs ``resim[explore]``).

It serves on 127.0.0.1 only, unless ``--host`` names another address *and*
``--allow-remote`` is given (then it warns: anyone who can reach the port
can use it; there is no authentication).
"""

from __future__ import annotations

import importlib
import socket
import threading
import webbrowser
from pathlib import Path
from typing import List, Optional

import typer

from simulator.cli.common import SCENARIO_ARG, SET_OPT, app, echo, load
from simulator.errors import ResimError, ScenarioError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Modules of the 'explore' extra (pyproject.toml).
EXTRA_MODULES = ("dash", "tomli_w")


def check_port(host: str, port: int) -> None:
    """Fail early, in one line, when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: TIME_WAIT is fine
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ResimError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another port with --port",
                             file="--port") from None


@app.command()
def explore(
    scenario: Optional[Path] = SCENARIO_ARG,
    port: int = typer.Option(8050, "--port", "-p", help="Port to serve on (1-65535)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (local only by default)."),
    allow_remote: bool = typer.Option(False, "--allow-remote",
                                      help="Allow a --host other than this machine (no authentication!)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser window."),
    set_: Optional[List[str]] = SET_OPT,
):
    """Explore a scenario in the browser: sliders, live charts with bands, pin and compare, downloads."""
    if not 1 <= port <= 65535:
        raise ScenarioError(f"{port}: allowed 1 to 65535", file="--port")
    if host not in LOCAL_HOSTS and not allow_remote:
        raise ScenarioError(f"{host!r} is not this machine; the explorer has no authentication, so add "
                            "--allow-remote to serve it to the network", file="--host")
    missing = []
    for module in EXTRA_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ResimError(f"resim explore needs the 'explore' extra ({', '.join(missing)} not installed): "
                         "pip install 'resim[explore]'", file="explore")
    from simulator.explore import make_app

    sc = load(scenario, set_)
    check_port(host, port)
    if host not in LOCAL_HOSTS:
        echo(f"resim explore: WARNING: serving on {host}:{port}, reachable from the network, "
                   "without authentication.", err=True)
    explorer = make_app(sc)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    echo(f"resim explore: {sc.name or 'scenario'} at {url} (Ctrl+C to stop)")
    if not no_browser:
        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    explorer.serve(host=host, port=port)
