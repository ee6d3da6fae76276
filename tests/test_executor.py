"""The chunked executor gives the same summaries however chunks run:
in this thread, in threads, streamed, or on a Dask LocalCluster."""

import numpy as np
import pytest

from simulator.core import executor
from simulator.core.engine import simulate
from simulator.core.params import with_values
from simulator.core.results import summary_arrays
from simulator.errors import ResimError


@pytest.fixture(scope="module")
def table(default_scenario):
    rng = np.random.default_rng(5)
    n = 90
    return with_values(default_scenario, n, {
        "restriction.duration_months": rng.choice([0.0, 3.0, 6.0, 12.0, 24.0], n),
        "restriction.severity": rng.uniform(0.2, 1.0, n),
        "inventory.cover_scale": rng.uniform(0.5, 1.5, n),
        "stockpile.national.cover_days": rng.uniform(0.0, 90.0, n),
    })


@pytest.fixture(scope="module")
def whole(table):
    """One engine call on the whole batch: what every executor path must equal."""
    return summary_arrays(simulate(table))


def assert_same(got, ref):
    assert list(got) == list(ref)
    for key in ref:
        a, b = got[key], ref[key]
        assert a.shape == b.shape, key
        assert np.array_equal(np.isfinite(a), np.isfinite(b)), key
        assert np.array_equal(a[~np.isfinite(a)], b[~np.isfinite(b)], equal_nan=True), key
        fin = np.isfinite(b)
        np.testing.assert_allclose(a[fin], b[fin], rtol=1e-12, atol=1e-12 * max(1.0, np.abs(b[fin]).max(initial=0)),
                                   err_msg=key)


@pytest.mark.parametrize("chunk_size,workers", [(90, 1), (32, 1), (32, 2), (7, 2)])
def test_chunks_and_threads_equal_one_batch(table, whole, chunk_size, workers):
    done = []
    got = executor.run_summary(table, chunk_size=chunk_size, progress=done.append, workers=workers)
    assert_same(got, whole)
    assert sum(done) == table.size
    assert len(done) == -(-table.size // chunk_size)


def test_default_signature_still_serves_sweeps(table, whole):
    # simulator.sweep calls run_summary(table, chunk_size=..., progress=..., client=None)
    assert_same(executor.run_summary(table, chunk_size=40, progress=None, client=None), whole)


def test_stream_of_tables_equals_one_batch(table, whole):
    chunks = (executor._slice(table, lo, min(table.size, lo + 25)) for lo in range(0, table.size, 25))
    parts = list(executor.iter_summary(chunks, workers=2))
    got = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    assert_same(got, whole)


def test_empty_table_gives_empty_summary(default_scenario):
    assert executor.run_summary(with_values(default_scenario, 0, {})) == {}


def test_bad_chunk_size(table):
    with pytest.raises(ValueError):
        executor.run_summary(table, chunk_size=0)


def test_dask_local_cluster_equals_local_run(table, whole):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        done = []
        got = executor.run_summary(table, chunk_size=30, progress=done.append, client=client)
    assert_same(got, whole)
    assert sorted(done) == [30, 30, 30]


def test_connect_names_the_option_when_the_scheduler_is_unreachable():
    pytest.importorskip("distributed")
    with pytest.raises(ResimError) as err:
        executor.connect("tcp://127.0.0.1:9", timeout="1s")
    assert err.value.key == "--scheduler"


def test_resim_sweep_on_a_dask_scheduler_writes_the_local_numbers(tmp_path):
    distributed = pytest.importorskip("distributed")
    from typer.testing import CliRunner

    import simulator.cli.sweep  # noqa: F401  (registers the command)
    from simulator.cli import app

    # Bands are local only (a run on a scheduler is central values), so both runs are
    # central values: what is compared is the numbers the cluster computes.
    args = ["sweep", "--grid", "restriction.duration_months=3,12", "--grid", "stockpile.national.cover_days=0,60",
            "--no-band"]
    runner = CliRunner()
    local = runner.invoke(app, [*args, "--out", str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        remote = runner.invoke(app, [*args, "--out", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address])
    assert remote.exit_code == 0, remote.output
    import pandas as pd

    a = pd.read_csv(tmp_path / "local" / "sweep.csv")
    b = pd.read_csv(tmp_path / "dask" / "sweep.csv")
    assert len(a) == 4 and (a["gdp_loss_pct"] > 0).all()
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)
    assert not (tmp_path / "dask" / "paths.png").exists()          # over-time charts are local only


def test_scheduler_refuses_monthly_before_connecting():
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", "from simulator.cli import main; main()",
                          "sweep", "--grid", "restriction.duration_months=3,6",
                          "--monthly", "--scheduler", "tcp://127.0.0.1:9"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "--scheduler" in res.stderr
