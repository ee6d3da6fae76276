"""Regenerate the README's figures from the bundled default scenario.

Usage (from the repository root)::

    python scripts/make_readme_figures.py            # writes docs/img/headline.png

The headline chart is one batch of 40 scenarios (10 restriction lengths x
4 national stockpile sizes) through :func:`simulator.sweep`. Re-run it
whenever the model or the default scenario changes, and commit the PNG.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DURATIONS_MONTHS = [0, 1, 2, 3, 4, 6, 9, 12, 18, 24]
# none, the default assumption, the official 60-day target, the "180 days" option (domain facts 3.1-3.4)
STOCKPILE_DAYS = [0, 30, 60, 180]


def main(out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    import simulator
    from simulator.plots import plot_headline

    sc = simulator.load_scenario()
    df = simulator.sweep(sc, {"restriction.duration_months": DURATIONS_MONTHS,
                              "stockpile.national.cover_days": STOCKPILE_DAYS})
    start = sc.start_date
    fig = plot_headline(df, note=(
        f"Cumulative loss over a {sc.horizon_months}-month horizon (month 0 = {start}); restriction from month "
        f"{sc.restriction.start_month:g}; everything else as the default scenario. "
        "Made with resim (scripts/make_readme_figures.py)."))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "headline.png"
    tmp = path.with_name(".headline.partial.png")
    fig.savefig(tmp, dpi=130, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return [path]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="directory for the PNGs")
    for p in main(parser.parse_args().out):
        print(f"wrote {p}")
