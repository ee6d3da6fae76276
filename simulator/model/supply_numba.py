"""The material loop compiled: :func:`simulator.model.supply.run_steps` under numba.

Nothing here restates an equation. The step functions of
:mod:`simulator.model.supply` are registered as jitable (they stay plain
Python functions for the interpreter) and :func:`~simulator.model.supply.run_steps`
is compiled as it is. The one kernel-specific piece is the body of
:func:`~simulator.model.supply.scatter_add` (numpy's fancy indexing becomes
a loop), checked against the numpy body by ``tests/test_fast_paths.py``.

The batch runs in lanes of :data:`LANES` scenarios: each operation of a step
is then a short loop over a lane, which stays in cache and vectorises,
instead of a pass over the whole batch.

The compiled code is cached on disk (``<cache>/numba-<key>``, see
:mod:`simulator._cachedir`), keyed by the source of the loop, numba and
numpy, so an edit or an upgrade recompiles instead of loading stale code.
The first compile takes about 10 s and says so on stderr. If numba cannot
be imported, compile or load its cache, the loop runs in numpy with one
warning line, never a traceback (:func:`available`).
"""

from __future__ import annotations

import hashlib
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Callable

import numba
import numpy as np
from numba.extending import overload, register_jitable

from simulator._cachedir import cache_root
from simulator.model import supply
from simulator.model.supply import land_arrivals, place_orders, record_step, release_national, share_and_use

#: Scenarios advanced together by the compiled loop.
LANES = 128
#: Functions of :mod:`simulator.model.supply` compiled as they are.
JITABLE = ("clock", "sum_groups", "need_of", "allocate", "land_arrivals", "catch_pipeline", "release_held",
           "share_and_use", "release_national", "trigger", "cover_shortfall", "china_capacity",
           "place_orders", "catch_starting_step", "schedule", "record_step")

_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


def cache_key() -> str:
    """Hash of everything the compiled code depends on."""
    h = hashlib.sha256()
    for mod in (supply, sys.modules[__name__]):
        h.update(Path(mod.__file__ or "").read_bytes())
    h.update(f"numba {numba.__version__} numpy {np.__version__} {sys.version}".encode())
    return h.hexdigest()[:16]


def _compile() -> Callable[..., None]:
    for name in JITABLE:
        register_jitable(inline="always")(getattr(supply, name))
    _scalar_primitives()

    root = cache_root()
    config: Any = numba.config          # numba sets its settings at import; its stubs do not declare them
    old = config.CACHE_DIR
    cached = root is not None
    if root is not None:
        folder = root / f"numba-{cache_key()}"
        folder.mkdir(parents=True, exist_ok=True)
        if not any(folder.rglob("*.nbi")):
            print("resim: compiling the fast engine (once, ~10 s)", file=sys.stderr, flush=True)
        config.CACHE_DIR = str(folder)
    try:
        # _nrt=False (compile without numba's runtime) is a private option, absent from numba's stubs
        return numba.njit(cache=cached, nogil=True, _nrt=False)(run_blocks)  # type: ignore[call-overload]
    finally:
        config.CACHE_DIR = old


def _quiet(fn: Callable[..., None]) -> Callable[..., None]:
    """Call ``fn`` without numba's internal "pedantic check" warnings.

    Numba's IR inliner reports variables it renamed; they do not affect the result.
    """
    def call(*args: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", numba.core.errors.NumbaPedanticWarning)
            fn(*args)
    return call


def _scalar_primitives() -> None:
    """The primitives' bodies for one element (scalars; see simulator/model/supply.py)."""

    @overload(supply.ratio)
    def _ratio(num, den):
        return lambda num, den: num / den if den > 0 else 0.0

    # min/max compile to one instruction; unlike numpy they do not carry a NaN through,
    # but no NaN reaches them (the engine checks every output is finite)
    @overload(supply.minimum)
    def _minimum(a, b):
        return lambda a, b: min(a, b)

    @overload(supply.maximum)
    def _maximum(a, b):
        return lambda a, b: max(a, b)

    @overload(supply.select)
    def _select(cond, a, b):
        return lambda cond, a, b: a if cond else b

    @overload(supply.any_)
    def _any(cond):
        return lambda cond: cond

    @overload(supply.zeros_like)
    def _zeros_like(x):
        return lambda x: 0.0

    @overload(supply.floor_int)
    def _floor_int(x):
        return lambda x: int(np.floor(x))

    @overload(supply.max_int)
    def _max_int(x):
        return lambda x: x

    @overload(supply.scatter_add)
    def _scatter_add(sched, slot, channel, m, b, value):
        def impl(sched, slot, channel, m, b, value):
            sched[slot, channel, m, b] += value
        return impl


def compiled() -> Callable[..., None]:
    """The compiled :func:`~simulator.model.supply.run_steps` (compiled or loaded once)."""
    with _LOCK:
        if "fn" not in _STATE:
            _STATE["fn"] = _quiet(_compile())
        return _STATE["fn"]


def available() -> bool:
    """Whether the compiled loop can run; warns once (one line) if not."""
    if "error" in _STATE:
        return False
    try:
        fn = compiled()
        if "checked" not in _STATE:                 # compile (or load) now, on a one-scenario batch
            _smoke(fn)
            _STATE["checked"] = True
        return True
    except Exception as exc:  # noqa: BLE001 (any failure of numba means: use numpy)
        _STATE["error"] = exc
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        warnings.warn(f"resim: the compiled engine is unavailable ({type(exc).__name__}: {first[:160]}); "
                      "running the numpy loop", RuntimeWarning, stacklevel=2)
        return False


def _smoke(fn: Callable[..., None]) -> None:
    """Run a tiny batch so that a broken cache or compiler fails here, not mid-run."""
    inp = supply.minimal_inputs()
    fn(*supply.prepare(inp), LANES)


def run_blocks(p: supply.LoopParams, s: supply.LoopState, rec: supply.LoopRecord, lanes: int) -> None:
    """The step loop compiled, in blocks of ``lanes`` scenarios.

    Every phase of a step runs for a block of ``lanes`` scenarios before the
    next phase, and a block runs all steps before the next block (its state
    stays in cache; the scenarios' chains of dependent operations overlap).
    """
    S, M, B = p.subst.shape
    for lo in range(0, B, lanes):
        hi = min(B, lo + lanes)
        for k in range(S):
            c = supply.clock(p, k)
            for m in range(M):          # the phases of supply.PHASES, in order (a test checks)
                for b in range(lo, hi):
                    land_arrivals(p, s, rec, c, m, b)
                for b in range(lo, hi):
                    share_and_use(p, s, rec, c, m, b)
                for b in range(lo, hi):
                    release_national(p, s, rec, c, m, b)
                for b in range(lo, hi):
                    place_orders(p, s, rec, c, m, b)
                for b in range(lo, hi):
                    record_step(p, s, rec, c, m, b)


def _block(record: Any, lo: int, hi: int) -> Any:
    """A record with every array cut to scenarios ``lo:hi``, as contiguous copies."""
    return type(record)(*[np.ascontiguousarray(x[..., lo:hi]) if isinstance(x, np.ndarray) else x
                          for x in record])


def run(params: supply.LoopParams, state: supply.LoopState, record: supply.LoopRecord) -> None:
    """Run the step loop compiled (:func:`run_blocks`), filling ``record``.

    Each block of :data:`LANES` scenarios runs on contiguous copies of its
    arrays: a group's values then sit a few hundred bytes apart instead of
    a whole batch apart (which thrashes the cache).
    """
    fn = compiled()
    B = params.D0.shape[-1]
    for lo in range(0, B, LANES):
        hi = min(B, lo + LANES)
        rec = _block(record, lo, hi)
        fn(_block(params, lo, hi), _block(state, lo, hi), rec, hi - lo)
        for full, part in zip(record, rec, strict=True):
            if isinstance(full, np.ndarray):
                full[..., lo:hi] = part
