"""The ``resim`` command line: a thin typer layer over the package's functions.

Each module registers its commands on :data:`simulator.cli.common.app`:
:mod:`~simulator.cli.run` (run, validate, schema), :mod:`~simulator.cli.sweep`
(sweep, compare), :mod:`~simulator.cli.optimize`, :mod:`~simulator.cli.calibrate`
(calibrate, sensitivity), :mod:`~simulator.cli.scenarios` (scenarios, init). The
global options (``--version``, ``--quiet``, ``--verbose``, shell completion) are in
:mod:`~simulator.cli.common`. Heavy libraries (matplotlib, scipy, pandas) are
imported only inside the commands that need them, so ``resim run`` starts fast.

Every way a command can end is one of (docs/guarantees.md):

- success: exit 0;
- bad input (a scenario, an override, a data file, an option): one line
  ``resim: error: FILE: KEY: what is wrong`` and exit 2, nothing written;
- the environment (a full disk, a permission, a file that appeared, out of
  memory): one line ``resim: error: ...`` and exit 1;
- Ctrl-C, SIGTERM or SIGHUP: temporary files removed, one line
  ``resim: interrupted`` and exit 130;
- a usage error (unknown option): click's usage message and exit 2.

Warnings (e.g. "the compiled engine is unavailable") are one line each,
``resim: warning: ...``; ``--quiet`` keeps them and drops notes (``resim:
compiling ...``, ``Wrote ...``, progress bars). ``resim validate`` prints every
problem of a file, one line each (exit 2). Text that comes from the user (file names,
scenario names) never reaches the terminal with its control characters.
Nothing ends in a traceback: an unexpected exception is reported as an
internal error in one line (``RESIM_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import os
import signal
import sys
import warnings

import typer

from simulator.cli import calibrate, explore, optimize, report, run, scenarios, sweep  # noqa: F401  (register the commands)
from simulator.cli.common import STATE, app, reset_state, timings_line
from simulator.errors import ResimError

__all__ = ["app", "main"]

#: Exit codes (docs/guarantees.md).
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 1
EXIT_INTERRUPTED = 130
#: Longest line resim prints about an error.
MAX_ERROR_CHARS = 2000


def _line(kind: str, text: str) -> str:
    from simulator.io.text import clip, one_line

    return f"resim: {kind}: {clip(one_line(' '.join(str(text).split())), MAX_ERROR_CHARS)}"


def _stderr(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _show_warning(message, category, filename, lineno, file=None, line=None, _seen=set()) -> None:  # noqa: B006
    """``warnings.showwarning`` for the CLI: one line, ``resim: warning: ...``, each text once."""
    text = str(message).strip()
    for prefix in ("resim: warning: ", "resim: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if text in _seen:
        return
    _seen.add(text)
    _stderr(_line("warning", text))


class _Interrupt:
    """SIGINT, SIGTERM and SIGHUP: raise KeyboardInterrupt, so temporary files are removed on the way out.

    ``fired`` remembers it: a signal that lands inside an import can surface as
    an ImportError, and is still reported as an interruption. After the first
    SIGTERM or SIGHUP, further ones are ignored while the clean-up runs (Ctrl-C
    still interrupts it).
    """

    def __init__(self):
        self.fired = False

    def __call__(self, signum, frame):
        first = not self.fired
        self.fired = True
        if first or signum == signal.SIGINT:
            raise KeyboardInterrupt


_INTERRUPT = _Interrupt()


def _install_handlers() -> dict:
    previous = {}
    _INTERRUPT.fired = False
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            if name == "SIGINT" and signal.getsignal(sig) is signal.SIG_IGN:
                continue                      # started in the background with Ctrl-C ignored: keep it so
            previous[sig] = signal.signal(sig, _INTERRUPT)
        except (ValueError, OSError):          # not the main thread
            pass
    return previous


def _quiet_stdout() -> None:
    """Stdout is closed (``resim run | head -0``): send the rest nowhere, so exit is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


#: The global flags that may also follow the command (``resim run --quiet``).
GLOBAL_FLAGS = ("-q", "--quiet", "-v", "--verbose")


def hoist_global_flags(command, args: list[str]) -> list[str]:
    """Move ``--quiet``/``--verbose`` given after the command name in front of it (where click expects them).

    A token that is the value of a preceding option (``--set -q``) stays where it is, and so does
    everything after ``--``.
    """
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        i += 1
    commands = getattr(command, "commands", {})
    if i >= len(args) or args[i] not in commands:
        return list(args)
    sub = commands[args[i]]
    takes_value = set()
    for param in sub.params:          # options that take a value (typer vendors click: no isinstance)
        opts = list(getattr(param, "opts", [])) + list(getattr(param, "secondary_opts", []))
        if (any(o.startswith("-") for o in opts) and not getattr(param, "is_flag", False)
                and not getattr(param, "count", False)):
            takes_value |= set(opts)
    hoisted, rest = [], []
    j = i + 1
    while j < len(args):
        token = args[j]
        if token == "--":
            rest += args[j:]
            break
        if token in GLOBAL_FLAGS:
            hoisted.append(token)
        else:
            rest.append(token)
            if token in takes_value and j + 1 < len(args):
                rest.append(args[j + 1])
                j += 1
        j += 1
    return args[:i] + hoisted + [args[i]] + rest


def main(argv: list[str] | None = None) -> None:
    """Console entry point: the documented one-line endings, never a traceback.

    Parameters
    ----------
    argv : list of str, optional
        Arguments after ``resim`` (default: ``sys.argv[1:]``).
    """
    from simulator.core.executor import single_threaded_blas

    previous = _install_handlers()
    old_showwarning = warnings.showwarning
    warnings.showwarning = _show_warning
    old_stderr = sys.stderr                    # --quiet filters it; put back at the end
    reset_state()
    code, line = 0, None
    try:
        command = typer.main.get_command(app)
        args = hoist_global_flags(command, sys.argv[1:] if argv is None else list(argv))
        # The CLI's linear algebra is small (tables of 37-185 sectors): OpenBLAS
        # threads only add start-up and contention (eigvals of the 185 table:
        # ~1 s on a busy 2-core machine with them, ~0.05 s without).
        with single_threaded_blas():
            # standalone_mode=False: click no longer turns Ctrl-C into "Aborted!" or a silent 130
            rv = command.main(args=args, prog_name="resim", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
        timings = timings_line() if code == 0 and STATE["verbose"] else None
        if timings:
            _stderr("resim: " + timings)
        if code == EXIT_INTERRUPTED:         # typer maps KeyboardInterrupt to Exit(130)
            line = "resim: interrupted"
    except ResimError as exc:
        code, line = EXIT_BAD_INPUT, _line("error", exc.one_line())
    except (KeyboardInterrupt, typer.Abort):
        code, line = EXIT_INTERRUPTED, "resim: interrupted"
    except typer.Exit as exc:
        code = exc.exit_code
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BrokenPipeError:
        _quiet_stdout()
        code = EXIT_ENVIRONMENT
    except OSError as exc:  # a full disk, a permission, a file that appeared: not bad input
        where = f"{exc.filename}: " if exc.filename else ""
        code, line = EXIT_ENVIRONMENT, _line("error", f"{where}{exc.strerror or exc}")
    except MemoryError:
        code, line = EXIT_ENVIRONMENT, _line(
            "error", "out of memory; run fewer scenarios at once (see --chunk) or on a Dask cluster")
    except ImportError as exc:
        code, line = EXIT_ENVIRONMENT, _line("error", f"a package resim needs cannot be imported ({exc}); "
                                                      "reinstall resim")
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()                             # a usage error (typer's click): its own message, exit 2
            code = exit_code
        elif os.environ.get("RESIM_DEBUG"):
            raise
        else:
            code, line = EXIT_ENVIRONMENT, _line(
                "error", f"internal error ({type(exc).__name__}: {exc}); please report it "
                         "(RESIM_DEBUG=1 shows the traceback)")
    finally:
        if sys.stderr is not old_stderr:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            sys.stderr = old_stderr
        warnings.showwarning = old_showwarning
        for sig, handler in previous.items():
            try:
                signal.signal(sig, handler)
            except (ValueError, OSError, TypeError):
                pass
    if _INTERRUPT.fired and code != 0:
        # e.g. a signal that landed inside an import surfaced as an ImportError
        code, line = EXIT_INTERRUPTED, "resim: interrupted"
    if line:
        _stderr(line)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        code = code or EXIT_ENVIRONMENT
    except (OSError, ValueError):
        pass
    sys.exit(code)
