"""The one way the tests run the CLI: in-process (:func:`invoke`) or as a subprocess (:func:`run_process`).

``invoke`` calls the console entry point's ``main`` with an argument list and
returns ``(code, stdout, stderr)`` read from pytest's ``capsys``: fast, and the
exit code is what a shell would see (0 when typer exits normally). The
``resim`` fixture of ``conftest.py`` binds it to the test's ``capsys``.

``run_process`` starts the installed ``resim`` entry point as a user would
(fresh interpreter, real exit code and streams); use it for start-up, signals,
environment variables and anything that must not share the test's process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

#: The ``resim`` console script of the interpreter running the tests.
RESIM = Path(sys.executable).with_name("resim")


class CliRun(NamedTuple):
    """What a CLI call gave: exit code, standard output, standard error."""

    code: int
    out: str
    err: str


def invoke(capsys, *args) -> CliRun:
    """Run ``resim ARGS`` in-process; arguments are turned into strings."""
    from simulator import cli

    capsys.readouterr()                                   # drop what earlier steps printed
    with pytest.raises(SystemExit) as exc:
        cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    code = exc.value.code
    return CliRun(0 if code is None else int(code), out, err)


def run_process(*args, cwd=None, env=None, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run the installed ``resim ARGS`` in a new process (text mode, output captured)."""
    return subprocess.run([str(RESIM), *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout, **kw)
