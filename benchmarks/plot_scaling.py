"""Plot time vs scenarios from ``benchmarks/results/engine.json`` (bench_engine.py).

Writes ``docs/img/scaling.png``: wall time of a summary-only batch against
the number of scenarios (log-log), for 37 and 185 sectors, one thread and
all cores, with ``simulator.run`` in a loop for comparison and the 1 s
target marked.

Usage::

    python benchmarks/bench_engine.py && python benchmarks/plot_scaling.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE.parent / "docs" / "img" / "scaling.png"


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads((HERE / "results" / "engine.json").read_text())
    rows = data["rows"]
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    styles = {(37, 1): ("C0", "-o"), (185, 1): ("C1", "-s")}
    threads = sorted({r["threads"] for r in rows})
    for sectors in (37, 185):
        for th in threads:
            pts = sorted((r["scenarios"], r["wall_s"]) for r in rows if r["sectors"] == sectors and r["threads"] == th)
            if not pts:
                continue
            color, style = styles[(sectors, 1)]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style if th == 1 else style.replace("-", "--"),
                    color=color, alpha=1.0 if th == 1 else 0.6,
                    label=f"{sectors} sectors, {th} thread{'s' if th > 1 else ''}")
    per_run = data["run_loop_s_per_scenario"]
    xs = [1, max(r["scenarios"] for r in rows)]
    ax.plot(xs, [x * per_run for x in xs], ":", color="grey",
            label=f"simulator.run in a loop, fresh process ({1e3 * per_run:.0f} ms each)")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.text(1.2, 1.08, "1 s", fontsize=9)
    ax.axvline(10_000, color="black", lw=0.5, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Scenarios in the batch (summary outputs)")
    ax.set_ylabel("Wall time (s)")
    m = data["machine"]
    ax.set_title(f"resim batch engine: time vs scenarios\n{m['cpu']}, {m['cores']} cores, "
                 f"numpy {m['numpy']}, numba {m['numba']}", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=130)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    sys.exit(main())
