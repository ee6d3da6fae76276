"""The ``resim`` command line: a thin typer layer over the package's functions.

Each module registers its commands on :data:`simulator.cli.common.app`:
:mod:`~simulator.cli.run` (run, validate, schema), :mod:`~simulator.cli.sweep`
(sweep, compare), :mod:`~simulator.cli.optimize`, :mod:`~simulator.cli.calibrate`
(calibrate, sensitivity). Bad input (scenario, override, data file) prints one
line naming the file, the key and what is allowed, and exits with code 2;
nothing is written. Heavy libraries (matplotlib, scipy, pandas) are imported
only inside the commands that need them, so ``resim run`` starts fast.
"""

from __future__ import annotations

import sys

import typer

from simulator.cli import calibrate, optimize, run, sweep  # noqa: F401  (register the commands)
from simulator.cli import explore, report  # noqa: F401  (register resim explore and resim report)
from simulator.cli.common import app
from simulator.errors import ResimError

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point: one line and exit code 2 for bad input, never a traceback.

    typer's standalone mode handles usage errors (exit 2) and ``--help``;
    our own :class:`~simulator.errors.ResimError` is caught here.
    """
    from simulator.core.executor import single_threaded_blas

    try:
        # The CLI's linear algebra is small (tables of 37-185 sectors): OpenBLAS
        # threads only add start-up and contention (eigvals of the 185 table:
        # ~1 s on a busy 2-core machine with them, ~0.05 s without).
        with single_threaded_blas():
            app()
    except ResimError as exc:
        typer.echo(f"resim: error: {exc.one_line()}", err=True)
        sys.exit(2)
    except OSError as exc:  # e.g. a full disk while writing: not bad input, but no traceback either
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"resim: error: {where}{exc.strerror or exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("resim: interrupted", err=True)
        sys.exit(130)
