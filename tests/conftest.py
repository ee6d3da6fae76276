import os
import shutil
import tempfile

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# The test suite never writes into the user's cache (~/.cache/resim): every
# session gets its own, removed at the end. It is set here, at import, before
# any test (or a subprocess a test starts) can look the cache folder up.
# RESIM_TEST_CACHE_DIR keeps a cache between sessions (e.g. to skip the
# numba compile when iterating locally); it is never the default location.
_SESSION_CACHE = os.environ.get("RESIM_TEST_CACHE_DIR") or tempfile.mkdtemp(prefix="resim-test-cache-")
_OWN_CACHE = "RESIM_TEST_CACHE_DIR" not in os.environ
os.environ["RESIM_CACHE_DIR"] = _SESSION_CACHE


def pytest_sessionfinish(session, exitstatus):
    if _OWN_CACHE:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def default_scenario():
    import simulator

    return simulator.load_scenario()


@pytest.fixture
def resim(capsys):
    """``resim(*args) -> (code, out, err)``: the CLI run in-process (tests/cli_runner.py)."""
    from cli_runner import invoke

    return lambda *args: invoke(capsys, *args)
