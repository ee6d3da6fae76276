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

def parse_sets(sets: Optional[List[str]]) -> dict:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": 1, "c": "x"}`` (values parsed as TOML)."""
    from simulator.io.scenario import parse_override_value

    out = {}
    for item in sets or []:
        if "=" not in item:
            raise ScenarioError(f"--set needs dotted.key=value (got {item!r})", file="--set")
        key, value = item.split("=", 1)
        out[key.strip()] = parse_override_value(value.strip())
    return out


def load(scenario: Optional[Path], sets: Optional[List[str]] = None):
    from simulator.io.scenario import load_scenario

    return load_scenario(scenario, overrides=parse_sets(sets))


SCENARIO_ARG = typer.Argument(None, help="Scenario TOML file (default: the bundled one-year scenario).", show_default=False)
SET_OPT = typer.Option(None, "--set", "-s", help="Override a value: dotted.key=value (repeatable).")
OUT_OPT = typer.Option(None, "--out", "-o", help="Write results into this directory.")
FORCE_OPT = typer.Option(False, "--force", help="Overwrite a non-empty output directory.")
