"""Bring your own data (docs/byo-data.md): the worked example, the table checks, and pymrio tables.

The example in ``examples/custom-data/`` is a made-up five-sector economy;
its numbers are chosen so that the input-output propagation can be done by
hand, and the tests below do it by hand. Tests that need pymrio itself are
skipped without it (it is an optional extra, ``resim[pymrio]``); the
conversion and the whole ``pymrio:PATH`` path also run against a stand-in
module, so they are tested everywhere.
"""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import invoke

import simulator
from simulator.core.spec import batch_spec
from simulator.errors import DataError, ResimError, ScenarioError
from simulator.io import pymrio_table
from simulator.io.datafiles import data_dir
from simulator.io.tables import load_table
from simulator.model import economy

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "custom-data"
SCENARIO = EXAMPLE / "scenario.toml"
CODES = ("MAG", "CHM", "CAR", "MET", "SRV")


@pytest.fixture
def example(tmp_path) -> Path:
    """A copy of the example to break."""
    shutil.copytree(EXAMPLE, tmp_path / "custom-data")
    return tmp_path / "custom-data"


def fresh(path: Path):
    load_table.cache_clear()
    return load_table(str(path))


# --------------------------------------------------------------------------
# The worked example, by hand
# --------------------------------------------------------------------------


def test_example_table_as_documented():
    """Output = row totals: MAG 40 + 60, CHM 20 + 80, CAR 0 + 400, MET 120 + 130 - 50 imports,
    SRV 180 + 820; value added 60, 80, 220, 180, 900 (GDP 1,440); MET's import share is
    50 / (120 + 30) = 1/3 (exports are not domestic use); services are not manufacturing."""
    t = load_table(str(EXAMPLE / "five-sector-table"))
    assert t.codes == CODES
    np.testing.assert_allclose(t.output_jpy_mn, [100, 100, 400, 200, 1000])
    np.testing.assert_allclose(t.value_added_gdp_jpy_mn, [60, 80, 220, 180, 900])
    np.testing.assert_allclose(t.import_share, [0, 0, 0, 1 / 3, 0])
    assert t.manufacturing.tolist() == [True, True, True, True, False]
    assert t.names[0] == "Magnets and motors"


def test_example_propagation_by_hand():
    """Magnets lose 10 % of output, cars 10 % (the motor link). Downstream, the critical
    links MAG -> CAR and CHM -> CAR (A = 40/400 and 20/400 >= 0.03, weight 0.5) would give
    cars 5 %, less than their own 10 %. Upstream, with B_ij = (1 - m_i) Z_ij / x_i:

    - q_MAG = max(0.1, 0.4 q_CAR) = 0.1; q_CHM = 0.2 q_CAR = 0.02; q_CAR = 0.1;
    - q_MET = (2/3)(30 q_MAG + 10 q_CHM + 80 q_CAR) / 200 = 0.1 x 0.1 + 0.02 / 30 + 0.8/3 x 0.1 = 0.0373333;
    - q_SRV = (10 q_MAG + 10 q_CHM + 40 q_CAR + 20 q_MET + 100 q_SRV) / 1000 = 0.0059467 / 0.9 = 0.0066074;
    - value added lost: 60 x 0.1 + 80 x 0.02 + 220 x 0.1 + 180 x 0.0373333 + 900 x 0.0066074
      = 42.2667 of 1,440, i.e. 2.935 % of the month's GDP.
    """
    st = batch_spec(simulator.load_scenario(SCENARIO)).economy
    q = economy.output_loss(np.array([[0.1, 0.0, 0.1, 0.0, 0.0]]), st)[0]
    np.testing.assert_allclose(q, [0.1, 0.02, 0.1, 0.1 * 0.1 + 0.02 / 30 + 0.8 / 3 * 0.1, 0.0059466667 / 0.9],
                               rtol=1e-7)
    va = np.array([60, 80, 220, 180, 900.0])
    assert va @ q / 1440 == pytest.approx(0.029352, abs=1e-6)
    # the structure is scaled to economy.gdp_jpy_bn = 600,000 a year: 50,000 a month
    assert (st.output_jpy_bn_per_month * st.va_ratio).sum() * 600_000 == pytest.approx(50_000)


def hand_gross_loss(lines: np.ndarray, iota: float, gdp_month: float) -> np.ndarray:
    """The example's gross GDP loss for each month from its line losses (H, 2), all by hand."""
    out = []
    for motors, catalysts in lines:
        d_mag, d_chm = 0.5 * motors, 0.4 * catalysts                    # applications.csv
        d_car = max(0.5 * motors, 0.8 * (1 - iota * 0.1) * catalysts)     # final_links.csv
        q_car = max(d_car, 0.5 * d_mag, 0.5 * d_chm)                      # critical links, kappa 0.5
        q_mag, q_chm = max(d_mag, 0.4 * q_car), max(d_chm, 0.2 * q_car)  # suppliers of cars
        q_met = 0.1 * q_mag + q_chm / 30 + 0.8 / 3 * q_car
        q_srv = (0.01 * q_mag + 0.01 * q_chm + 0.04 * q_car + 0.02 * q_met) / 0.9
        lost = 60 * q_mag + 80 * q_chm + 220 * q_car + 180 * q_met + 900 * q_srv
        out.append(lost / 1440 * gdp_month)
    return np.array(out)


def test_example_run_matches_the_hand_propagation():
    """Every month of a full run: the engine's gross GDP loss is the hand propagation of its line losses
    (restart lag and overseas plants off, so a month's direct loss is that month's lines)."""
    sc = simulator.load_scenario(SCENARIO, {"recovery.ramp_months": 0.0, "softening.overseas_share": 0.0})
    r = simulator.run(sc, draws=0)
    b, i = r.batch, r.index
    lines = b.application_loss_share[i]                                   # (H, A): motors, catalysts
    assert lines.max() > 0.3                                              # the restriction bites
    want = hand_gross_loss(lines, sc.softening.imported_components, 600_000 / 12)
    np.testing.assert_allclose(b.gdp_loss_gross_jpy_bn[i], want, rtol=1e-9, atol=1e-9)
    assert r.summary["gdp_loss_gross_pct"] == pytest.approx(100 * want.sum() / 600_000)


def test_example_validates_and_runs_from_the_cli(tmp_path, capsys, monkeypatch):
    code, out, err = invoke(capsys, *["validate", str(SCENARIO)])
    assert code == 0, err
    assert "valid" in out
    code, out, err = invoke(capsys, *["run", str(SCENARIO), "--out", str(tmp_path / "out")])
    assert code == 0, err
    assert "Motor vehicles" in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["gdp_loss_pct"] > 0


# --------------------------------------------------------------------------
# Codes the table does not have
# --------------------------------------------------------------------------


def test_use_table_codes_not_in_the_table_are_named(example):
    links = example / "use_table" / "final_links.csv"
    links.write_text(links.read_text().replace("motors,CAR,", "motors,CARS,"))
    with pytest.raises(DataError, match=r"sector codes \['CARS'\] are not in table 'five-sector-table'") as e:
        batch_spec(simulator.load_scenario(example / "scenario.toml"))
    assert e.value.key == "economy.use_table"


def test_bundled_use_table_on_the_custom_table_names_its_codes():
    sc = simulator.load_scenario(SCENARIO, {"economy.use_table": str(data_dir())})
    with pytest.raises(DataError, match=r"sector codes \['2029', .*are not in table 'five-sector-table'"):
        batch_spec(sc)


# --------------------------------------------------------------------------
# What the table loader checks (docs/byo-data.md, "What is checked")
# --------------------------------------------------------------------------


@pytest.mark.parametrize("file, old, new, says", [
    ("final_demand.csv", "MET,0,30,100,-50", "MET,0,30,0,50", "imports are subtracted"),
    ("final_demand.csv", "SRV,700,60,60,0", "SRV,700,60,60,0\nXXX,1,1,1,0", "not in Z.csv: ['XXX']"),
    ("final_demand.csv", "SRV,700,60,60,0\n", "", "missing sectors ['SRV']"),
    ("value_added.csv", "CAR,MET,SRV", "CAR,MET,SRVX", "no column for sectors"),
    ("value_added.csv", "surplus,", "wages,", "duplicate va_code"),
    ("sectors.csv", "SRV,Services,0", "SRV,Services,maybe", "must be 1 or 0"),
    ("Z.csv", "SRV,10,10,40,20,100", "MAG,10,10,40,20,100", "Z must be square"),
    ("Z.csv", "MET,30,10,80,0,0", "MET,30,10,80,0,abc", "not a number: 'abc'"),
    ("value_added.csv", "wages,40", "wages,41", "do not balance for sector MAG"),
])
def test_table_checks_name_file_and_fault(example, file, old, new, says):
    path = example / "five-sector-table" / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    with pytest.raises(DataError) as err:
        fresh(example / "five-sector-table")
    assert says in str(err.value)
    assert err.value.key == "economy.table"
    assert str(example / "five-sector-table") in err.value.file


def test_non_competitive_form(example):
    """The example in non-competitive form: the 50 of imported metal, all of it bought by CAR, leaves
    Z (MET -> CAR 80 -> 30) and becomes CAR's imported inputs, a value-added row; the import column
    goes. Domestic output is unchanged (MET 30 + 10 + 30 + 30 + 100 = 200), import shares are 0
    and GDP leaves out the imported_inputs row (1,440 again)."""
    t = example / "five-sector-table"
    (t / "Z.csv").write_text((t / "Z.csv").read_text().replace("MET,30,10,80,0,0", "MET,30,10,30,0,0"))
    fd = (t / "final_demand.csv").read_text().replace(",fd_impo", "")
    fd = fd.replace(",0\n", "\n").replace(",-50\n", "\n")
    (t / "final_demand.csv").write_text(fd)
    (t / "value_added.csv").write_text((t / "value_added.csv").read_text() + "imported_inputs,0,0,50,0,0\n")
    table = fresh(t)
    np.testing.assert_allclose(table.output_jpy_mn, [100, 100, 400, 200, 1000])
    np.testing.assert_allclose(table.import_share, 0.0)
    assert table.value_added_gdp_jpy_mn.sum() == pytest.approx(1440)
    # both forms at once would subtract imports twice
    (t / "final_demand.csv").write_text((EXAMPLE / "five-sector-table" / "final_demand.csv").read_text())
    (t / "Z.csv").write_text((EXAMPLE / "five-sector-table" / "Z.csv").read_text())
    with pytest.raises(DataError, match="use one form"):
        fresh(t)


def test_sector_called_na_stays_a_code(example):
    t = example / "five-sector-table"
    for f in ("Z.csv", "final_demand.csv", "value_added.csv", "sectors.csv"):
        (t / f).write_text((t / f).read_text().replace("SRV", "NA"))
    assert fresh(t).codes[-1] == "NA"


# --------------------------------------------------------------------------
# pymrio: one region of a multi-regional system
# --------------------------------------------------------------------------


def two_region_system():
    """JP and CN, sectors a and b; final demand hh and inv in JP, hh in CN."""
    idx = pd.MultiIndex.from_tuples([("JP", "a"), ("JP", "b"), ("CN", "a"), ("CN", "b")],
                                    names=["region", "sector"])
    Z = pd.DataFrame([[10, 20, 5, 0],
                      [5, 0, 0, 10],
                      [3, 2, 20, 10],
                      [0, 4, 10, 5]], index=idx, columns=idx, dtype=float)
    cols = pd.MultiIndex.from_tuples([("JP", "hh"), ("JP", "inv"), ("CN", "hh")],
                                     names=["region", "category"])
    Y = pd.DataFrame([[50, 10, 5], [60, 0, 5], [7, 0, 100], [1, 2, 80]], index=idx, columns=cols, dtype=float)
    return Z, Y


def test_region_table_by_hand():
    """JP's output: a = 10 + 20 + 5 + 0 + 50 + 10 + 5 = 100, b = 5 + 0 + 0 + 10 + 60 + 0 + 5 = 80.
    Domestic Z [[10, 20], [5, 0]]; exports a 5 + 5 = 10, b 10 + 5 = 15; imported inputs a 3,
    b 2 + 4 = 6; value added a 100 - 18 = 82, b 80 - 26 = 54 (GDP 136 = final demand 130
    incl. 10 imported + exports 25 - imports 19)."""
    Z, Y = two_region_system()
    t = pymrio_table.region_table(Z, Y, None)                   # None: the region called JP
    assert t.region == "JP"
    np.testing.assert_array_equal(t.Z.to_numpy(), [[10, 20], [5, 0]])
    assert list(t.final_demand.columns) == ["hh", "inv", "fd_expo"]
    np.testing.assert_array_equal(t.final_demand.to_numpy(), [[50, 10, 10], [60, 0, 15]])
    np.testing.assert_array_equal(t.value_added.loc["value_added"], [82, 54])
    np.testing.assert_array_equal(t.value_added.loc["imported_inputs"], [3, 6])
    assert t.totals["imports_final"] == 10 and t.totals["output"] == 180


def test_region_table_loads_as_a_resim_table(tmp_path):
    Z, Y = two_region_system()
    t = pymrio_table.region_table(Z, Y, "cn")                   # case does not matter when unambiguous
    pymrio_table.write_table(t, tmp_path)
    table = fresh(tmp_path)
    assert table.codes == ("a", "b")
    # CN: a = 3 + 2 + 20 + 10 + 7 + 0 + 100 = 142, b = 0 + 4 + 10 + 5 + 1 + 2 + 80 = 102
    np.testing.assert_allclose(table.output_jpy_mn, [142, 102])
    np.testing.assert_allclose(table.import_share, 0.0)
    # value added a = 142 - (5 + 0 + 20 + 10), b = 102 - (0 + 10 + 10 + 5)
    np.testing.assert_allclose(table.value_added_gdp_jpy_mn, [107, 77])


def test_region_table_errors():
    Z, Y = two_region_system()
    with pytest.raises(DataError, match=r"region 'DE' is not in the table; its regions are \['JP', 'CN'\]") \
            as e:
        pymrio_table.region_table(Z, Y, "DE", "some/mrio")
    assert e.value.key == "economy.region" and e.value.file == "some/mrio"
    other = Z.rename(index={"JP": "KR"}, columns={"JP": "KR"}, level=0)
    with pytest.raises(DataError, match="set economy.region"):
        pymrio_table.region_table(other, Y.rename(index={"JP": "KR"}, columns={"JP": "KR"}, level=0), None)
    with pytest.raises(DataError, match=r"not indexed by \(region, sector\)"):
        pymrio_table.region_table(Z.droplevel(0), Y, "JP")
    Z2 = Z.copy()
    Z2.iloc[0, 0] = np.inf
    with pytest.raises(DataError, match="non-finite"):
        pymrio_table.region_table(Z2, Y, "JP")


def test_empty_sectors_are_left_out():
    Z, Y = two_region_system()
    idx = pd.MultiIndex.from_tuples(list(Z.index) + [("JP", "c"), ("CN", "c")], names=Z.index.names)
    Z = Z.reindex(index=idx, columns=idx, fill_value=0.0)
    Y = Y.reindex(index=idx, fill_value=0.0)
    t = pymrio_table.region_table(Z, Y, "JP")
    assert list(t.Z.index) == ["a", "b"] and t.dropped == ("c",)


#: A use table for a table with a buying sector {buyer} and an assembler {assembler}.
USE_TABLE = {
    "use_table.csv": "material,application,sector_code,share,share_low,share_high\n"
                     "ndfeb,motors,{buyer},1,1,1\ndytb,motors,{buyer},1,1,1\ncelay,other,{buyer},1,1,1\n",
    "criticality.csv": "material,application,criticality,criticality_low,criticality_high,cover_months,"
                       "cover_months_low,cover_months_high,value_jpy_per_kg\n"
                       "ndfeb,motors,1,1,1,2,2,2,1\ndytb,motors,1,1,1,2,2,2,1\n"
                       "celay,other,0.5,0.5,0.5,2,2,2,1\n",
    "applications.csv": "application,buyer_sector,direct_output_share,direct_output_share_low,"
                        "direct_output_share_high\nmotors,{buyer},0.3,0.3,0.3\nother,{buyer},0.1,0.1,0.1\n",
    "final_links.csv": "application,final_sector,final_output_share,final_output_share_low,"
                       "final_output_share_high,import_share,import_share_low,import_share_high\n"
                       "motors,{assembler},0.5,0.5,0.5,0,0,0\n",
    "made_to_order.csv": "sector_code,deferred_share,deferred_share_low,deferred_share_high\n"
                         "{assembler},0.5,0.5,0.5\n",
}


def write_use_table(folder: Path, buyer: str = "a", assembler: str = "b") -> Path:
    folder.mkdir(parents=True)
    for name, text in USE_TABLE.items():
        (folder / name).write_text(text.format(buyer=buyer, assembler=assembler))
    return folder


@pytest.fixture
def fake_pymrio(monkeypatch):
    """A stand-in pymrio whose load_all returns the two-region system (counts its calls)."""
    calls = []

    def load_all(path, subfolders=None, subset=None):
        calls.append(Path(path))
        Z, Y = two_region_system()
        return types.SimpleNamespace(Z=Z, Y=Y, x=None, A=None, unit=pd.DataFrame({"unit": ["M.EUR"]}))

    monkeypatch.setitem(sys.modules, "pymrio", types.SimpleNamespace(load_all=load_all))
    monkeypatch.setattr(pymrio_table, "_pymrio_version", lambda: "0-test")
    return calls


def mrio_scenario(folder: Path, table: str, region: str | None = "JP") -> Path:
    """A scenario in ``folder`` (made) on ``table`` with a use table at sectors a and b."""
    write_use_table(folder / "uses")
    economy_lines = f'table = "{table}"\nuse_table = "uses"\n' + (f'region = "{region}"\n' if region else "")
    path = folder / "mrio.toml"
    path.write_text('name = "mrio"\nhorizon_months = 12\n[restriction]\nduration_months = 6\n'
                    f"[economy]\n{economy_lines}")
    return path


def saved_system(tmp_path: Path) -> Path:
    """A folder that looks like a system saved by pymrio (the stand-in reads nothing from it)."""
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "file_parameters.json").write_text("{}")
    return saved


def test_pymrio_table_end_to_end_with_a_stand_in(tmp_path, fake_pymrio):
    """``economy.table = "pymrio:PATH"`` converts once (then reuses the cache), runs, records its source."""
    saved = saved_system(tmp_path)
    sc = simulator.load_scenario(mrio_scenario(tmp_path / "jp", f"pymrio:{saved}"))
    spec = batch_spec(sc)
    assert spec.sector_codes == ("a", "b")
    info = json.loads((spec.data.table_dir / "source.json").read_text())
    assert info["region"] == "JP" and info["source"] == str(saved) and info["unit"] == "M.EUR"
    assert spec.data.table_dir.parent.name == "tables"                 # under the cache folder
    assert any(label.endswith("/source.json") for label in sc.data_files().sha256())   # in the provenance
    assert simulator.run(sc, draws=0).summary["gdp_loss_pct"] > 0
    assert len(fake_pymrio) == 1                                        # converted once, then reused
    # a path relative to the scenario file, and another region: another table
    (tmp_path / "cn").mkdir()
    shutil.copytree(saved, tmp_path / "cn" / "saved")
    other = simulator.load_scenario(mrio_scenario(tmp_path / "cn" / "run", "pymrio:../saved", "CN"))
    assert other.data_files().table_dir != spec.data.table_dir and len(fake_pymrio) == 2
    assert batch_spec(other).sector_codes == ("a", "b")


@pytest.mark.parametrize("cache", ["off", "unwritable"])
def test_pymrio_table_with_the_cache_off(tmp_path, fake_pymrio, monkeypatch, cache):
    """No cache, or one that cannot be written: a temporary folder, converted once a process."""
    if cache == "unwritable":
        (tmp_path / "a-file").write_text("")
        cache = str(tmp_path / "a-file" / "cache")
    monkeypatch.setenv("RESIM_CACHE_DIR", cache)
    saved = saved_system(tmp_path)
    sc = simulator.load_scenario(mrio_scenario(tmp_path / "run", f"pymrio:{saved}"))
    first = sc.data_files().table_dir
    assert (first / "Z.csv").is_file() and sc.data_files().table_dir == first and len(fake_pymrio) == 1


def test_pymrio_scenario_errors(tmp_path, fake_pymrio):
    saved = saved_system(tmp_path)
    with pytest.raises(DataError, match="region 'XX' is not in the table") as err:
        simulator.load_scenario(mrio_scenario(tmp_path / "xx", f"pymrio:{saved}", "XX")).data_files()
    assert err.value.key == "economy.region" and err.value.file == str(saved)
    with pytest.raises(ScenarioError, match="pymrio source 'nowhere' not found") as err:
        simulator.load_scenario(mrio_scenario(tmp_path / "nowhere", "pymrio:nowhere"))
    assert err.value.key == "economy.table"
    with pytest.raises(ScenarioError, match="applies only to economy.table = 'pymrio:PATH'") as err:
        simulator.load_scenario(SCENARIO, {"economy.region": "JP"})
    assert err.value.key == "economy.region"
    with pytest.raises(ScenarioError, match="needs a path"):
        simulator.load_scenario(SCENARIO, {"economy.table": "pymrio:"})
    with pytest.raises(ScenarioError, match="economy.region"):
        simulator.load_scenario(SCENARIO, {"economy.region": "J\\P\n"})
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="pymrio cannot tell what this is"):
        pymrio_table.read_system(tmp_path / "notes.txt")


def test_without_pymrio_one_line_names_the_extra(tmp_path, monkeypatch, capsys):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    monkeypatch.setitem(sys.modules, "pymrio", None)
    saved = saved_system(tmp_path)
    path = mrio_scenario(tmp_path / "run", f"pymrio:{saved}")
    code, out, err = invoke(capsys, *["validate", str(path)])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "pip install 'resim[pymrio]'" in err and "economy.table" in err


# --------------------------------------------------------------------------
# pymrio itself (optional extra)
# --------------------------------------------------------------------------


def test_pymrio_test_system(tmp_path):
    """pymrio's own test MRIO, saved as pymrio saves systems, read back as ``pymrio:PATH``."""
    pymrio = pytest.importorskip("pymrio")
    mrio = pymrio.load_test()
    mrio.save_all(tmp_path / "saved")
    pymrio.archive(tmp_path / "saved", tmp_path / "saved.zip")
    sectors = list(mrio.get_sectors())
    for source in ("saved", "saved.zip"):
        folder = tmp_path / source.replace(".", "_")
        write_use_table(folder / "uses", buyer="manufactoring", assembler="construction")
        path = folder / "mrio.toml"
        path.write_text(f'horizon_months = 12\n[economy]\ntable = "pymrio:{tmp_path / source}"\n'
                        'use_table = "uses"\nregion = "reg2"\n')
        sc = simulator.load_scenario(path)
        spec = batch_spec(sc)
        assert list(spec.sector_codes) == sectors
        table = load_table(str(spec.data.table_dir))
        mrio.calc_system()
        x = mrio.x.loc["reg2"].to_numpy().ravel()
        np.testing.assert_allclose(table.output_jpy_mn, x, rtol=1e-9)
        Z = mrio.Z.to_numpy()
        reg2 = (mrio.Z.index.get_level_values(0) == "reg2")
        np.testing.assert_allclose(table.Z_jpy_mn, Z[np.ix_(reg2, reg2)])
        np.testing.assert_allclose(table.value_added_gdp_jpy_mn, x - Z[:, reg2].sum(axis=0), rtol=1e-9)
        assert simulator.run(sc, draws=0).summary["gdp_loss_pct"] > 0
    with pytest.raises(ResimError, match="region 'reg9' is not in the table; its regions are"):
        simulator.load_scenario(path, {"economy.region": "reg9"}).data_files()
