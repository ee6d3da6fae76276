"""The on-disk economy-structure cache: same structure, rebuilt when a data
file changes, harmless when broken; and ``resim run`` then needs no pandas."""

import dataclasses
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from simulator.core import spec
from simulator.io import cache as structure_cache
from simulator.io.datafiles import DataFiles, bundled_dependence_path, bundled_table_dir, data_dir
from simulator.io.datafiles import bundled_table_dir as _bundled_dir
from simulator.io.tables import load_table
from simulator.model import economy


def build(table_dir):
    spec._economy.cache_clear()                       # the in-memory caches, so the disk cache is what is tested
    load_table.cache_clear()
    files = DataFiles(table_dir=table_dir, dependence_file=bundled_dependence_path(),
                      fine_table_dir=bundled_table_dir("mic2015_185"), materials_file=data_dir() / "materials.toml")
    return spec._economy(files, ("ndfeb", "dytb", "celay"), 0.5, 0.03)


def assert_same(a, b):
    for f in dataclasses.fields(economy.EconomyStructure):
        x, y = getattr(a[0], f.name), getattr(b[0], f.name)
        for u, v in (zip(x, y) if isinstance(x, tuple) else [(x, y)]):
            assert np.array_equal(u, v), f.name
    assert a[1:] == b[1:]


def test_cached_structure_equals_a_fresh_build(tmp_path, monkeypatch):
    monkeypatch.setenv("RESIM_CACHE_DIR", "off")
    fresh = build(_bundled_dir("mic2015_37"))
    monkeypatch.setenv("RESIM_CACHE_DIR", str(tmp_path))
    first = build(_bundled_dir("mic2015_37"))                 # builds and stores
    assert len(list(tmp_path.glob("economy-*.npz"))) == 1
    second = build(_bundled_dir("mic2015_37"))                # loads
    assert_same(fresh, first)
    assert_same(fresh, second)


def test_editing_a_table_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setenv("RESIM_CACHE_DIR", str(tmp_path / "cache"))
    table = tmp_path / "table"
    shutil.copytree(_bundled_dir("mic2015_37"), table)
    for f in table.iterdir():
        f.chmod(0o644)
    before = build(table)
    z = (table / "Z.csv").read_text().splitlines()
    cells = z[1].split(",")
    cells[2] = str(float(cells[2]) * 1.5)                      # more of one input
    z[1] = ",".join(cells)
    (table / "Z.csv").write_text("\n".join(z) + "\n")
    after = build(table)
    assert len(list((tmp_path / "cache").glob("economy-*.npz"))) == 2
    assert not np.array_equal(before[0].B, after[0].B)


def test_a_corrupt_cache_file_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("RESIM_CACHE_DIR", str(tmp_path))
    good = build(_bundled_dir("mic2015_37"))
    for f in tmp_path.glob("economy-*.npz"):
        f.write_bytes(b"not a zip file")
    assert_same(build(_bundled_dir("mic2015_37")), good)


def test_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("RESIM_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    build(_bundled_dir("mic2015_37"))
    assert list(tmp_path.iterdir()) == []
    assert structure_cache.cache_dir() is None


def test_resim_run_imports_no_pandas_numba_scipy_or_matplotlib(tmp_path):
    code = (
        "import sys\n"
        "from simulator.cli import main\n"
        "sys.argv = ['resim', 'run']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'numba', 'scipy', 'matplotlib') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = {**os.environ, "RESIM_CACHE_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)   # warms the cache
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    assert "GDP loss over" in out
    assert out.strip().splitlines()[-1] == "HEAVY []"


@pytest.mark.parametrize("over", [{}, {"economy.table": "mic2015_185"}])
def test_top_sectors_equal_the_sectors_table(over):
    import simulator

    r = simulator.run(simulator.load_scenario(overrides=over))
    top = r.sectors.head(8)
    top = top[top["gdp_loss_jpy_bn"] > 0]
    got = r.top_sectors(8)
    assert [x["code"] for x in got] == list(top["code"])
    np.testing.assert_allclose([x["share_of_loss"] for x in got], top["share_of_loss"], rtol=1e-14)
    np.testing.assert_array_equal([x["gdp_loss_jpy_bn"] for x in got], top["gdp_loss_jpy_bn"])
