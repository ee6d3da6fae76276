"""Every example in the README runs, in order, in an empty folder, as a user would type it.

The shell blocks of "Using resim" run line by line with bash (a fresh process per line, the
way a terminal runs them); the Python block runs as a script in the same folder. Skipped, with
the reason: installs (`pip install`), the browser explorer (`resim explore` blocks; it is
tested in tests/test_explore.py) and a Dask cluster address that only exists on the reader's
network.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
SKIP = (("pip ", "installs packages"), ("resim explore", "serves a page until stopped"),
        ("--scheduler", "needs a Dask cluster"))


def _section(text: str) -> str:
    start = text.index("## Using resim")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def _commands() -> list[str]:
    out = []
    for block in _blocks(_section(README.read_text(encoding="utf-8")), "bash"):
        for line in block.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            out.append(re.sub(r"\s+#\s.*$", "", line))     # the comment after the command
    return out


def test_the_readme_has_examples_to_run():
    cmds = _commands()
    assert len(cmds) >= 15
    assert any(c.startswith("resim report") for c in cmds)
    assert len(_blocks(_section(README.read_text(encoding="utf-8")), "python")) == 1


def test_every_readme_example_runs_in_order(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "MPLBACKEND": "Agg"}
    ran = []
    for cmd in _commands():
        if any(word in cmd for word, _ in SKIP):
            continue
        proc = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, \
            f"`{cmd}` failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr, cmd
        ran.append(cmd)
    assert len(ran) >= 15
    # what the examples promise to write is there
    for path in ("run-results/summary.json", "run-results/run.png", "compare-results/compare.csv",
                 "sweep-results/sweep.csv", "mc/fan.png", "sens/tornado.png", "stockpile/required_stockpile.csv",
                 "brief.html", "my-scenario.toml", "run.xlsx", "resim.schema.json", "my-posterior/posterior.csv"):
        assert (tmp_path / path).is_file(), path
    script = _blocks(_section(README.read_text(encoding="utf-8")), "python")[0]
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("word,reason", SKIP)
def test_skipped_examples_are_few(word, reason):
    """Only the lines the module docstring names are skipped."""
    skipped = [c for c in _commands() if word in c]
    assert len(skipped) <= 2, (reason, skipped)
