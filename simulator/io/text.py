r"""User text on its way out: to the terminal, into plots, into file comments.

Scenario names and descriptions, file names, sector names of a custom table
and ``--set`` values are user text. Before they reach a terminal, a chart
title or a comment line they pass through here:

- :func:`printable` replaces control characters (C0 except newline and tab,
  DEL, C1 such as the one-byte CSI, and the bidirectional overrides) with a
  visible escape such as ``\\x1b``, so no escape sequence reaches a terminal;
- :func:`one_line` also turns newlines and tabs into escapes (for comment
  lines and error lines);
- :func:`literal` additionally escapes ``$``, so matplotlib draws the text as
  it is instead of parsing it as mathtext;
- :func:`clip` caps a length with an ellipsis.
"""

from __future__ import annotations

import re

#: Characters a terminal may act on: C0 (but newline, tab), DEL, C1, bidi controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def has_control(text: str) -> bool:
    """Whether ``text`` holds any control character (newline and tab included)."""
    return bool(_CONTROL_ALL.search(text))


def printable(text: str) -> str:
    """``text`` with control characters shown as escapes (newlines and tabs kept)."""
    return _CONTROL.sub(_escape, text)


def one_line(text: str) -> str:
    """``text`` with every control character, newlines and tabs included, shown as an escape."""
    return _CONTROL_ALL.sub(_escape, text)


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to at most ``limit`` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[:max(0, limit - 3)] + "..."


def literal(text: object, limit: int | None = None) -> str:
    """User text for a matplotlib string: printable, ``$`` escaped (no mathtext), optionally clipped."""
    out = printable(str(text))
    if limit is not None:
        out = clip(out, limit)
    return out.replace("$", r"\$")
