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


def run_summary(table: ParamTable, chunk_size: int | None = None,
                progress: Callable[[int], None] | None = None, client=None,
                workers: int | None = None, backend: str = "threads") -> dict[str, np.ndarray]:
    """Summary metrics (each an array of length ``table.size``) for a batch.

    Parameters
    ----------
    table : ParamTable
    chunk_size : int, optional
        Scenarios per engine call (bounds memory: about 0.2 MB per scenario
        in flight); default :data:`DEFAULT_CHUNK` (``resim sweep --chunk``).
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
    if chunk_size is None:
        chunk_size = DEFAULT_CHUNK
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
            try:
                for t in tables:
                    pending.append(pool.submit(summary_of, t))
                    if len(pending) >= nw:
                        yield pending.pop(0).result()
                while pending:
                    yield pending.pop(0).result()
            finally:                          # interrupted, or the consumer stopped early
                for f in pending:
                    f.cancel()


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
        from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed

        _warm_up(table)
        done: list[dict[str, np.ndarray] | None] = [None] * len(bounds)     # filled in as chunks finish
        if backend == "processes":
            import multiprocessing as mp

            # fork: workers start at once with everything imported and cached
            # (spawn would re-import numpy, pandas and numba in each)
            method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
            pool_cm: Executor = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method))
        else:
            pool_cm = ThreadPoolExecutor(max_workers=workers)
        with pool_cm as pool:
            futures = {pool.submit(summary_of, _slice(table, lo, hi)): i for i, (lo, hi) in enumerate(bounds)}
            try:
                for f in as_completed(futures):
                    i = futures[f]
                    done[i] = f.result()
                    if progress is not None:
                        progress(bounds[i][1] - bounds[i][0])
            except BaseException:
                # Ctrl-C, SIGTERM or a failed chunk: drop the chunks not started yet, so
                # leaving the pool waits only for those already running.
                for f in futures:
                    f.cancel()
                raise
        return done


def _run_dask(table, bounds, progress, client):
    try:
        from distributed import as_completed
    except ImportError as exc:  # pragma: no cover - only without the extra
        raise ImportError("client= needs dask.distributed: pip install 'resim[dask]'") from exc
    futures = [client.submit(_dask_task, _slice(table, lo, hi), pure=False) for lo, hi in bounds]
    index = {f.key: i for i, f in enumerate(futures)}
    parts = [None] * len(bounds)
    try:
        for f in as_completed(futures):
            i = index[f.key]
            parts[i] = f.result()
            if progress is not None:
                progress(bounds[i][1] - bounds[i][0])
    except BaseException:
        try:
            client.cancel(futures)
        except Exception:  # noqa: BLE001 - the cluster may be gone; the original error matters
            pass
        raise
    return parts


def _dask_task(table: ParamTable) -> dict[str, np.ndarray]:
    with single_threaded_blas():
        return summary_of(table)


#: Seconds to wait for a TCP connection to a scheduler, and then for its greeting.
SCHEDULER_TIMEOUT = 5.0
#: Largest greeting a Dask scheduler sends (its handshake is a few hundred bytes).
MAX_HANDSHAKE_BYTES = 1 << 16


def _seconds(timeout) -> float:
    if isinstance(timeout, (int, float)):
        return float(timeout)
    text = str(timeout).strip().lower()
    for suffix, factor in (("ms", 1e-3), ("s", 1.0), ("m", 60.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def scheduler_address(scheduler: str) -> tuple[str, str, int | None]:
    """``(address, host, port)`` of a ``--scheduler`` value; ``tcp://`` is assumed without a scheme.

    Raises
    ------
    ResimError
        Naming ``--scheduler``, for an address that cannot be parsed.
    """
    from urllib.parse import urlsplit

    from simulator.errors import ResimError

    text = scheduler.strip()
    if not text or any(c.isspace() or ord(c) < 32 for c in text):
        raise ResimError(f"{text!r} is not a scheduler address; give e.g. tcp://host:8786", key="--scheduler")
    address = text if "://" in text else f"tcp://{text}"
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ResimError(f"{scheduler!r} is not a scheduler address ({exc}); give e.g. tcp://host:8786",
                         key="--scheduler") from None
    if parts.scheme in ("tcp", "tls") and not host:
        raise ResimError(f"{scheduler!r} names no host; give e.g. tcp://host:8786", key="--scheduler")
    return address, host or "", port


def probe_scheduler(host: str, port: int, timeout: float = SCHEDULER_TIMEOUT) -> None:
    """Check that ``host:port`` greets like a Dask scheduler, within ``timeout`` seconds.

    A scheduler sends its handshake as soon as a connection is accepted: an
    8-byte length, then that many bytes holding a frame count and frame
    lengths. Anything else (an HTTP server, random bytes, silence, a refused
    connection) raises :class:`~simulator.errors.ResimError` naming
    ``--scheduler``: a length that is not small is never allocated.
    """
    import socket
    import struct

    from simulator.errors import ResimError

    where = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise ResimError(f"cannot reach the Dask scheduler at {where}: no connection within {timeout:g} s",
                         key="--scheduler") from None
    except OSError as exc:
        raise ResimError(f"cannot reach the Dask scheduler at {where} ({exc.strerror or exc})",
                         key="--scheduler") from None

    def read(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ResimError(f"{where} closed the connection without a Dask greeting; is it a Dask "
                                 "scheduler's port (usually 8786)?", key="--scheduler")
            buf += chunk
        return buf

    try:
        sock.settimeout(timeout)
        (total,) = struct.unpack("<Q", read(8))
        if not 16 <= total <= MAX_HANDSHAKE_BYTES:
            raise ResimError(f"{where} does not speak the Dask protocol (its first bytes announce "
                             f"{total:,} bytes); is it a Dask scheduler's port (usually 8786)?",
                             key="--scheduler")
        body = read(total)
        (n_frames,) = struct.unpack("<Q", body[:8])
        if not 1 <= n_frames <= 64 or 8 + 8 * n_frames > total:
            raise ResimError(f"{where} does not speak the Dask protocol; is it a Dask scheduler's port "
                             "(usually 8786)?", key="--scheduler")
    except socket.timeout:
        raise ResimError(f"{where} accepted the connection but did not greet like a Dask scheduler within "
                         f"{timeout:g} s; is it a Dask scheduler's port (usually 8786)?",
                         key="--scheduler") from None
    except OSError as exc:
        raise ResimError(f"lost the connection to {where} ({exc.strerror or exc})",
                         key="--scheduler") from None
    finally:
        sock.close()


def connect(scheduler: str, timeout: str | float = "5s"):
    """Connect to a Dask scheduler (``tcp://host:8786``), checking first that it is one.

    The address is parsed, then (for ``tcp://``) probed: it must accept a
    connection and greet like a Dask scheduler within ``timeout``. Only then
    is a ``distributed.Client`` made (with the same timeout).

    Raises
    ------
    ResimError
        Naming ``--scheduler`` (the CLI prints one line, exit 2): dask is not
        installed, the address is malformed, or what answers there (if
        anything) is not a Dask scheduler, within ``timeout``.
    """
    import logging

    from simulator.errors import ResimError

    seconds = _seconds(timeout)
    address, host, port = scheduler_address(scheduler)
    try:
        from distributed import Client
    except ImportError:
        raise ResimError("needs dask.distributed: pip install 'resim[dask]'", key="--scheduler") from None
    if address.startswith("tcp://"):
        probe_scheduler(host, port if port is not None else 8786, seconds)
    for name in ("distributed", "tornado"):          # their own log lines would add to ours
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        return Client(address, timeout=f"{seconds}s")
    except Exception as exc:  # noqa: BLE001 - any failure to connect is one line, never a traceback
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ResimError(f"cannot use the Dask scheduler {scheduler!r} ({type(exc).__name__}: {first})",
                         key="--scheduler") from None
