"""Running large batches: in chunks, on both cores, or on a Dask cluster.

:func:`run_summary` is what sweeps and Monte Carlo call: it runs a
:class:`~simulator.core.params.ParamTable` in chunks of ``chunk_size`` scenarios
and returns only the summary metrics, never holding more than a chunk's
monthly paths at once. :func:`iter_summary` does the same for a stream of
tables (so not even the parameter table of a million scenarios needs to
exist at once).

Where chunks run:

- ``workers=1``: one after the other in this thread;
- ``workers=N`` (default: all cores for batches of several chunks): N threads
  of this process. The compiled material layer releases the GIL and numpy
  releases it inside its loops, so threads use both cores without copying
  the table to other processes;
- ``client=``: a ``dask.distributed.Client``; every chunk is a task, so a
  sweep scales past one machine (``pip install 'resim[dask]'``). Workers
  need resim installed and must see any custom table directory at the
  same path.

Results do not depend on where chunks run: chunks are cut at the same
places and each is computed by the same code, so every path returns the
same arrays (tested against a Dask ``LocalCluster``).
"""

from __future__ import annotations

import contextlib
import os
from typing import Callable, Iterable, Iterator

import numpy as np

from simulator.core.params import ParamTable

DEFAULT_CHUNK = 2000


def _slice(table: ParamTable, lo: int, hi: int) -> ParamTable:
    return table.rows(lo, hi)


def summary_of(table: ParamTable) -> dict[str, np.ndarray]:
    """Summary metrics of one chunk (runs in a thread, a process or a Dask worker)."""
    from simulator.core.engine import simulate
    from simulator.core.results import summary_arrays

    return summary_arrays(simulate(table))


@contextlib.contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread while chunks run.

    The economy's matrix products are small (rows x ~40); OpenBLAS's own
    threads only add wake-up cost there, and they compete with our chunk
    threads for the same cores (10x slower products on a busy 2-core
    machine). No-op without threadpoolctl.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def cores() -> int:
    """Cores this process may run on (the affinity mask, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                      # not on Linux
        return max(1, os.cpu_count() or 1)


def default_workers(n_chunks: int) -> int:
    """Threads for ``n_chunks`` chunks: every core, but not more than chunks."""
    return max(1, min(cores(), n_chunks))


def run_summary(table: ParamTable, chunk_size: int = DEFAULT_CHUNK,
                progress: Callable[[int], None] | None = None, client=None,
                workers: int | None = None, backend: str = "threads") -> dict[str, np.ndarray]:
    """Summary metrics (each an array of length ``table.size``) for a batch.

    Parameters
    ----------
    table : ParamTable
    chunk_size : int
        Scenarios per engine call (bounds memory: about 0.2 MB per scenario
        in flight).
    progress : callable, optional
        Called with the number of scenarios finished after each chunk.
    client : dask.distributed.Client, optional
        Run the chunks as tasks on this Dask cluster.
    workers : int, optional
        Threads or processes on this machine (ignored with ``client``);
        default: every core when there are at least two chunks, else 1.
    backend : {"threads", "processes"}
        How ``workers > 1`` run: threads of this process (no copies; the
        compiled material layer runs in parallel, the numpy economy partly
        holds the GIL), or forked processes (no GIL; each chunk's table and
        summary are copied between processes).

    Returns
    -------
    dict of str -> ndarray
        The keys of :func:`simulator.core.results.summary_arrays`, in table order;
        empty for an empty table.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if backend not in ("threads", "processes"):
        raise ValueError(f"backend must be 'threads' or 'processes', not {backend!r}")
    n = table.size
    bounds = [(lo, min(n, lo + chunk_size)) for lo in range(0, n, chunk_size)]
    if not bounds:
        return {}
    if client is not None:
        parts = _run_dask(table, bounds, progress, client)
    else:
        nw = default_workers(len(bounds)) if workers is None else max(1, int(workers))
        parts = _run_local(table, bounds, progress, min(nw, len(bounds)), backend)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def iter_summary(tables: Iterable[ParamTable], workers: int | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Summary metrics of each table of a stream, in order.

    For sweeps too large to hold as one parameter table: make the tables
    one chunk at a time (e.g. with :func:`simulator.core.params.with_values`) and
    consume the summaries as they come. At most ``workers`` tables (default:
    every core) are in flight.
    """
    from concurrent.futures import ThreadPoolExecutor

    nw = cores() if workers is None else max(1, int(workers))
    with single_threaded_blas():
        if nw == 1:
            for t in tables:
                yield summary_of(t)
            return
        _warm_up(None)
        with ThreadPoolExecutor(max_workers=nw) as pool:
            pending = []
            for t in tables:
                pending.append(pool.submit(summary_of, t))
                if len(pending) >= nw:
                    yield pending.pop(0).result()
            for f in pending:
                yield f.result()


def _warm_up(table: ParamTable | None) -> None:
    """Load cached structures and the compiled loop once, before threads start."""
    with contextlib.suppress(ImportError):
        from simulator.model import supply_numba  # noqa: F401  (import and JIT-cache load are not thread-safe to race)


def _run_local(table, bounds, progress, workers, backend="threads"):
    with single_threaded_blas():
        if workers == 1:
            parts = []
            for lo, hi in bounds:
                parts.append(summary_of(_slice(table, lo, hi)))
                if progress is not None:
                    progress(hi - lo)
            return parts
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed

        _warm_up(table)
        parts = [None] * len(bounds)
        if backend == "processes":
            import multiprocessing as mp

            # fork: workers start at once with everything imported and cached
            # (spawn would re-import numpy, pandas and numba in each)
            method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
            pool_cm = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method))
        else:
            pool_cm = ThreadPoolExecutor(max_workers=workers)
        with pool_cm as pool:
            futures = {pool.submit(summary_of, _slice(table, lo, hi)): i for i, (lo, hi) in enumerate(bounds)}
            for f in as_completed(futures):
                i = futures[f]
                parts[i] = f.result()
                if progress is not None:
                    progress(bounds[i][1] - bounds[i][0])
        return parts


def _run_dask(table, bounds, progress, client):
    try:
        from distributed import as_completed
    except ImportError as exc:  # pragma: no cover - only without the extra
        raise ImportError("client= needs dask.distributed: pip install 'resim[dask]'") from exc
    futures = [client.submit(_dask_task, _slice(table, lo, hi), pure=False) for lo, hi in bounds]
    index = {f.key: i for i, f in enumerate(futures)}
    parts = [None] * len(bounds)
    for f in as_completed(futures):
        i = index[f.key]
        parts[i] = f.result()
        if progress is not None:
            progress(bounds[i][1] - bounds[i][0])
    return parts


def _dask_task(table: ParamTable) -> dict[str, np.ndarray]:
    with single_threaded_blas():
        return summary_of(table)


def connect(scheduler: str, timeout: str = "10s"):
    """A Dask client for a scheduler address (``tcp://host:8786``).

    Raises :class:`~simulator.errors.ResimError` (naming ``--scheduler``) if
    dask is not installed or the scheduler cannot be reached, so the CLI can
    print one line.
    """
    from simulator.errors import ResimError

    try:
        from distributed import Client
    except ImportError:
        raise ResimError("needs dask.distributed: pip install 'resim[dask]'", key="--scheduler") from None
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ResimError(f"cannot reach the Dask scheduler {scheduler!r} ({exc})", key="--scheduler") from None
