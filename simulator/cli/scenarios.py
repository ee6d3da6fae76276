"""``resim scenarios`` and ``resim init``: the bundled scenarios, and a copy of one to start from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import typer

from simulator.cli.common import app, detail, echo, note, phase, quoted, resolve_scenario
from simulator.errors import ResimError

#: Widest description ``resim scenarios`` prints on one line.
MAX_DESCRIPTION = 100


def _one_line(text: str, limit: int = MAX_DESCRIPTION) -> str:
    from simulator.io.text import clip, one_line

    return clip(one_line(" ".join(str(text).split())), limit)


@app.command("scenarios")
def list_scenarios(
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON (name, title, description, file)."),
):
    """List the bundled scenarios: the name to give as SCENARIO, and what each one is."""
    from simulator.io.scenario import bundled_scenarios, load_scenario

    rows = []
    with phase("load"):
        for name, path in bundled_scenarios().items():
            sc = load_scenario(path)
            rows.append({"name": name, "title": sc.name, "description": sc.description, "file": str(path)})
    if as_json:
        from simulator.cli.common import emit_json

        emit_json(rows)
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        echo(f"{r['name']:<{width}}  {_one_line(r['description'] or r['title'])}")
    note("\nRun one with `resim run NAME`; copy one to edit with `resim init my-scenario --from NAME`.")
    detail(f"bundled scenarios: {Path(rows[0]['file']).parent}")


#: A top-level ``base = "..."`` line (before any [table]); the value is a TOML basic or literal string.
_BASE_LINE = re.compile(r"""^(?P<lead>\s*base\s*=\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*')(?P<trail>.*)$""")


def rewrite_base(text: str, source: Path) -> str:
    """``text`` of the bundled scenario ``source`` with its ``base`` pointing at the bundled base file.

    A bundled base keeps its bare file name (``japan-one-year.toml``), which the loader resolves
    to the bundled scenario when no file of that name sits next to the copy; any other base is
    written as an absolute path (a TOML string, by a TOML writer).
    """
    import tomllib

    import tomli_w

    out, in_table = [], False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("["):
            in_table = True
        m = None if in_table else _BASE_LINE.match(line.rstrip("\r\n"))
        if m is None:
            out.append(line)
            continue
        value = tomllib.loads(f"v = {m.group('value')}")["v"]
        target = (source.parent / value).resolve()
        newline = line[len(line.rstrip("\r\n")):]
        if _bundled(target):
            # a bundled scenario's file name resolves to resim's own copy (unless a file of that name
            # sits next to this one), so the copy keeps working when resim is reinstalled or moved
            out.append(f"# base: the bundled scenario '{target.stem}' (installed with resim)\n")
            out.append(tomli_w.dumps({"base": target.name}).rstrip("\n") + m.group("trail") + newline)
            continue
        out.append(tomli_w.dumps({"base": target.as_posix()}).rstrip("\n") + m.group("trail") + newline)
    return "".join(out)


@app.command()
def init(
    name: Path = typer.Argument(..., help="The new scenario file (.toml is added if missing), e.g. my-scenario."),
    source: Optional[Path] = typer.Option(
        None, "--from", "-f", help="The bundled scenario (name) or file to start from (default: japan-one-year).",
        show_default=False),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
):
    """Copy a bundled scenario into a new file to edit: its comments explain every value.

    The copy's `base` is rewritten so it still resolves (to the bundled file it inherits from).
    """
    import os

    from simulator.io.outputs import write_file
    from simulator.io.scenario import bundled_scenario_path, load_scenario
    from simulator.io.text import has_control

    if has_control(str(name)):
        raise ResimError(f"control characters are not allowed in a file name; got {quoted(str(name))}",
                         file="resim init")
    target = name if name.suffix == ".toml" else name.with_name(name.name + ".toml")
    origin = resolve_scenario(source) if source is not None else bundled_scenario_path()
    load_scenario(origin)                                        # a broken source fails here, naming it
    if os.path.isdir(target):
        raise ResimError("is a directory; give a file name such as my-scenario.toml", file=str(target))
    if os.path.lexists(target) and not force:
        raise ResimError("exists; use --force to overwrite it", file=str(target))
    text = Path(origin).read_text(encoding="utf-8-sig")
    text = rewrite_base(text, Path(origin))
    stem = Path(origin).stem
    header = (f"# Copied from {('the bundled scenario ' + repr(stem)) if _bundled(origin) else quoted(str(origin))} "
              "by `resim init`: edit it, then `resim run "
              f"{target.name}`.\n# Give it a name of its own (name = \"...\") so tables and plots say what "
              "changed.\n\n")
    data = (header + text).encode("utf-8")

    def verify(tmp: Path) -> None:
        # the copy must load where it is written (its base resolves); the check reads the temporary file
        load_scenario(tmp)

    def write(fh) -> None:
        fh.write(data)

    written = write_file(target, write, overwrite=force, verify=verify)
    note(f"Wrote {written} (from {stem}); run it with `resim run {written}`")


def _bundled(path) -> bool:
    from simulator.io.scenario import bundled_scenarios

    return any(Path(p).resolve() == Path(path).resolve() for p in bundled_scenarios().values())
