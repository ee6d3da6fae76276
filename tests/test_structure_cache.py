"""The on-disk economy-structure cache: same structure, rebuilt when a data
file changes, harmless when broken; and ``resim run`` then needs no pandas."""

import csv
import dataclasses
import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from simulator.core import spec
from simulator.io import cache as structure_cache
from simulator.io.datafiles import USE_TABLE_FILES, DataFiles, bundled_table_dir, data_dir, resolve_data_files
from simulator.io.datafiles import bundled_table_dir as _bundled_dir
from simulator.io.tables import load_table
from simulator.io.usetable import load_use_table
from simulator.model import economy


def build(table_dir, use_table_dir=None):
    spec._economy.cache_clear()             # the in-memory caches, so the disk cache is what is tested
    load_table.cache_clear()
    load_use_table.cache_clear()
    files = DataFiles(table_dir=table_dir, use_table_dir=use_table_dir or data_dir(),
                      fine_table_dir=bundled_table_dir("mic2015_185"),
                      materials_file=data_dir() / "materials.toml")
    return spec._economy(files, 0.5, 0.03)


def copy_use_table(to):
    to.mkdir()
    for name in USE_TABLE_FILES:
        shutil.copyfile(data_dir() / name, to / name)
    return to


def assert_same(a, b):
    for f in dataclasses.fields(economy.EconomyStructure):
        x, y = getattr(a[0], f.name), getattr(b[0], f.name)
        for u, v in (zip(x, y, strict=True) if isinstance(x, tuple) else [(x, y)]):
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


def test_editing_the_use_table_rebuilds(tmp_path, monkeypatch):
    """The use table is part of the cache key: a changed share of a buyer's output is a new structure."""
    monkeypatch.setenv("RESIM_CACHE_DIR", str(tmp_path / "cache"))
    use = copy_use_table(tmp_path / "use")
    before = build(_bundled_dir("mic2015_37"), use)
    apps = (use / "applications.csv").read_text().splitlines()
    header = next(csv.reader([apps[0]]))
    row = next(csv.reader([apps[1]]))
    col = header.index("direct_output_share")
    row[col] = str(float(row[col]) * 1.5)              # the first application is a bigger part of its buyer
    high = header.index("direct_output_share_high")
    row[high] = str(max(float(row[high]), float(row[col])))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(row)
    apps[1] = buf.getvalue()
    (use / "applications.csv").write_text("\n".join(apps) + "\n")
    after = build(_bundled_dir("mic2015_37"), use)
    assert len(list((tmp_path / "cache").glob("economy-*.npz"))) == 2
    assert not np.array_equal(before[0].line_buyer, after[0].line_buyer)
    assert_same(build(_bundled_dir("mic2015_37"), use), after)      # and the rebuilt one is cached


def test_resolved_data_files_are_the_ones_built_from(tmp_path):
    """resolve_data_files: the default use table is the bundled one; a relative one starts at the scenario."""
    scenario = tmp_path / "sub" / "s.toml"
    default = resolve_data_files("mic2015_37", None, str(scenario))
    assert default.table_dir == _bundled_dir("mic2015_37").absolute()
    assert default.use_table_dir == data_dir().absolute()
    own = resolve_data_files("../tables/t", "../use", str(scenario))
    assert own.table_dir.is_absolute() and own.use_table_dir.is_absolute()
    assert own.table_dir.resolve() == (tmp_path / "tables" / "t").resolve()
    assert own.use_table_dir.resolve() == (tmp_path / "use").resolve()
    labels = [label for label, _ in default.files()]
    assert [x for x in labels if x.startswith("use_table/")] == [f"use_table/{n}" for n in USE_TABLE_FILES]
    assert "mic2015_185/Z.csv" in labels and "materials.toml" in labels


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
