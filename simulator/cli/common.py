"""The ``resim`` command line.

Bad input (scenario, override, data file) prints one line naming the
file, the key and what is allowed, and exits with code 2; nothing is
written. Heavy libraries (matplotlib, scipy) are imported only by the
commands that need them, so ``resim run`` starts fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from simulator.errors import ResimError, ScenarioError

app = typer.Typer(
    name="resim",
    help="Rare-earth supply-disruption impact simulator for Japan.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

#: Most values of a repeatable option (--set, --grid, --target, --free) and of a comma list.
MAX_OPTION_ITEMS = 1000


def echo(text: str = "", err: bool = False) -> None:
    """Print user-facing text with terminal control characters shown as escapes (never acted on)."""
    from simulator.io.text import printable

    typer.echo(printable(str(text)), err=err)


def quoted(text: str, limit: int = 80) -> str:
    """User input for an error line: control characters escaped, clipped, quoted."""
    from simulator.io.text import clip, one_line

    return "'" + clip(one_line(str(text)), limit) + "'"


def check_option_text(item: str, option: str) -> None:
    """Refuse a control character (a newline could smuggle in another key) in an option's text."""
    from simulator.io.text import has_control

    if has_control(item):
        raise ScenarioError(f"control characters (newline, carriage return, escape, ...) are not allowed; "
                            f"got {quoted(item)}", file=option)


def check_count(items, option: str, limit: int = MAX_OPTION_ITEMS) -> None:
    """Refuse more than ``limit`` values for an option."""
    if items is not None and len(items) > limit:
        raise ScenarioError(f"{len(items):,} values given; at most {limit:,}", file=option)


def parse_sets(sets: Optional[List[str]]) -> dict:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": 1, "c": "x"}`` (values parsed as TOML).

    Raises
    ------
    ScenarioError
        Naming ``--set``: no ``=``, a control character in the key or value, a
        malformed dotted key, or a value nested too deeply.
    """
    from simulator.io.scenario import check_override_key, parse_override_value

    check_count(sets, "--set")
    out = {}
    for item in sets or []:
        check_option_text(item, "--set")
        if "=" not in item:
            raise ScenarioError(f"needs dotted.key=value (got {quoted(item)})", file="--set")
        key, value = item.split("=", 1)
        key = key.strip()
        check_override_key(key, "--set")
        out[key] = parse_override_value(value.strip(), "--set", key=key)
    return out


def load(scenario: Optional[Path], sets: Optional[List[str]] = None):
    from simulator.io.scenario import load_scenario

    return load_scenario(scenario, overrides=parse_sets(sets))


SCENARIO_ARG = typer.Argument(None, help="Scenario TOML file (default: the bundled one-year scenario).", show_default=False)
SET_OPT = typer.Option(None, "--set", "-s", help="Override a value: dotted.key=value (repeatable).")
OUT_OPT = typer.Option(None, "--out", "-o", help="Write results into this directory.")
FORCE_OPT = typer.Option(
    False, "--force",
    help="Write into a non-empty output directory: only the files resim itself writes there are replaced; "
         "other files are kept, never deleted.")
