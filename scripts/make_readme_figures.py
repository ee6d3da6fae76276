"""Regenerate the README's figures (docs/img/headline.png and tornado.png).

Usage (from the repository root)::

    python scripts/make_readme_figures.py

Kept for the README's instructions: it runs ``scripts/make_docs_figures.py``
for the two figures the README shows (and updates their entries of
docs/img/figures.json). ``python scripts/make_docs_figures.py`` makes every
figure of the docs.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_docs_figures  # noqa: E402 (imports follow the sys.path set-up)

README_FIGURES = ["headline", "tornado"]


def main(out_dir: Path = make_docs_figures.IMG) -> list[Path]:
    return make_docs_figures.make(README_FIGURES, out_dir)


if __name__ == "__main__":
    main()
