"""Shared helpers of the benchmark scripts: the batches they run, timing, machine facts."""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"

#: The Monte Carlo of the benchmarks: the default scenario with five
#: parameters drawn per scenario (what an uncertainty run varies).
DRAWS = {
    "restriction.duration_months": (1.0, 24.0),
    "restriction.severity": (0.3, 1.0),
    "restriction.lead_time_restricted_months": (2.5, 4.5),
    "inventory.cover_scale": (0.5, 1.5),
    "stockpile.national.cover_days": (0.0, 90.0),
}


def table(n: int, seed: int = 0, table_name: str | None = None, identical: bool = False):
    """A ParamTable of ``n`` scenarios around the default scenario."""
    import simulator
    from simulator.core.params import with_values

    over = {"economy.table": table_name} if table_name else None
    base = simulator.load_scenario(overrides=over)
    if identical:
        return with_values(base, n, {})
    rng = np.random.default_rng(seed)
    return with_values(base, n, {k: rng.uniform(lo, hi, n) for k, (lo, hi) in DRAWS.items()})


def best_of(fn, repeats: int) -> tuple[float, float]:
    """(best wall seconds, CPU seconds of that run) over ``repeats`` calls."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best[0]:
            best = (wall, cpu)
    return best


def peak_traced_mib(fn) -> float:
    """Peak memory allocated during ``fn()`` (tracemalloc sees numpy's buffers), MiB."""
    import tracemalloc

    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 2**20


def max_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux: ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    """What the figures were measured on."""
    import numpy

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        mem_gib = float("nan")
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:
        info["numba"] = None
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = ", ".join(f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)"
                                 for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        pass
    return info


def print_machine(info: dict) -> None:
    print("Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    if info["load_average_1min"] > 0.5 * (info["cores"] or 1):
        print(f"  note: load average {info['load_average_1min']} on {info['cores']} cores: "
              "other processes share the CPU, so wall times are pessimistic; CPU times are shown too")


def save(name: str, payload: dict) -> Path:
    """Write ``benchmarks/results/<name>.json`` (read by plot_scaling.py and the docs)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
