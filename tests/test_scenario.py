"""Scenario loading, inheritance, overrides and error messages."""

import pytest

import simulator
from simulator.errors import ScenarioError


def test_defaults_and_inheritance(tmp_path):
    base = tmp_path / "base.toml"
    base.write_text('name = "b"\n[restriction]\nduration_months = 5\nseverity = 0.5\n')
    child = tmp_path / "child.toml"
    child.write_text('base = "base.toml"\nname = "c"\n[restriction]\nseverity = 0.7\n')
    sc = simulator.load_scenario(child)
    assert sc.name == "c"
    assert sc.restriction.duration_months == 5 and sc.restriction.severity == 0.7
    assert sc.restriction.lead_time_normal_months == 1.5          # documented default
    assert sc.materials["dytb"].china_share == 0.95               # bundled material default


def test_overrides_parse_and_apply():
    sc = simulator.load_scenario(None, {"restriction.duration_months": 6, "economy.table": "mic2015_185"})
    assert sc.restriction.duration_months == 6 and sc.economy.table == "mic2015_185"
    assert sc.with_overrides({"materials.ndfeb.china_share": 0.5}).materials["ndfeb"].china_share == 0.5


@pytest.mark.parametrize("text,key,words", [
    ("[restriction]\nduration_months = -3\n", "restriction.duration_months", "greater than or equal to 0"),
    ("[restriction]\nduraton_months = 3\n", "restriction.duraton_months", "did you mean 'duration_months'"),
    ("horizon_months = 'x'\n", "horizon_months", "integer"),
    ("[restriction]\nseverity = [0.5, 0.5, 0.5]\nduration_months = 2\n", "restriction.severity", "at most 2"),
    # keys of round 1 name what replaced them (model v2: the firm groups are the use table's applications)
    ("[inventory]\ndemand_share = [0.5, 0.2, 0.2, 0.1]\n", "inventory.demand_share", "use_table.csv"),
    ("[inventory]\ncover_months = [1.25, 2, 3, 6]\n", "inventory.cover_months", "inventory.cover_scale"),
    ("[economy]\ndependence_file = 'dep.csv'\n", "economy.dependence_file", "economy.use_table"),
    ("[economy]\nuse_table = 'nowhere'\n", "economy.use_table", "not found"),
    ("[stockpile.national]\nstrategy = 'reserve_for_priority'\n", "stockpile.national.strategy",
     "needs economy.priority_sectors"),
    ("[materials.ndfeb]\nchina_share = 1.5\n", "materials.ndfeb.china_share", "less than or equal to 1"),
    ("[restriction]\nlead_time_restricted_months = 1.0\n", "restriction.lead_time_restricted_months", "at least"),
])
def test_errors_name_file_and_key(tmp_path, text, key, words):
    f = tmp_path / "s.toml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as exc:
        simulator.load_scenario(f)
    msg = exc.value.one_line()
    assert str(f) in msg and key in msg and words in msg, msg
    assert "\n" not in msg


def test_base_cycle_and_missing(tmp_path):
    a = tmp_path / "a.toml"
    a.write_text('base = "a.toml"\n')
    with pytest.raises(ScenarioError, match="include each other"):
        simulator.load_scenario(a)
    b = tmp_path / "b.toml"
    b.write_text('base = "nope.toml"\n')
    with pytest.raises(ScenarioError, match="not found"):
        simulator.load_scenario(b)


def test_bundled_default_matches_repository_copy():
    from pathlib import Path
    repo = Path(__file__).parent.parent / "scenarios" / "japan-one-year.toml"
    bundled = Path(simulator.io.scenario.bundled_scenario_path())
    assert repo.read_text() == bundled.read_text()
