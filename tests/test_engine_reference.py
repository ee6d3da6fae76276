"""The engine reproduces its stored outputs, with the numpy and with the compiled material loop.

See ``tests/engine_reference.py`` for what the stored batches cover and
when the file may be regenerated. Tolerance: 1e-12 relative to each array's
largest value (round-off of reordered sums), so any model change shows up.
"""

import numpy as np
import pytest
from engine_reference import CASES, PATH, RESULT_FIELDS, SUPPLY_FIELDS, result_arrays, stored_table

from simulator.core.engine import simulate
from simulator.model import material

REGENERATE = ("A performance change must not change any number. If the model changed on purpose, "
              "regenerate the reference with `python tests/engine_reference.py` and say so in the commit.")


@pytest.fixture(scope="module")
def data():
    return np.load(PATH)


@pytest.fixture(params=["numpy", "numba"])
def method(request, monkeypatch):
    """Run the engine with this material loop (the engine itself picks by batch size)."""
    if request.param == "numba":
        pytest.importorskip("numba")
    calls = []
    original = material.simulate_supply

    def forced(inp, method="auto"):
        calls.append(request.param)
        return original(inp, method=request.param)

    monkeypatch.setattr(material, "simulate_supply", forced)
    yield request.param
    assert calls == [request.param], "the engine did not run the material loop it was given"


@pytest.mark.parametrize("name", list(CASES))
def test_engine_matches_stored_outputs(name, data, method):
    table = stored_table(name, data)
    got = result_arrays(simulate(table, keep_sector_paths=True))
    stored = {k.split("/out/")[1] for k in data.files if k.startswith(f"{name}/out/")}
    assert set(got) == stored, f"{name}: outputs differ from the stored ones. {REGENERATE}"
    for key, value in got.items():
        ref = data[f"{name}/out/{key}"]
        assert value.shape == ref.shape, key
        finite = np.isfinite(ref)
        assert np.array_equal(finite, np.isfinite(value)), f"{name}: {key} inf pattern differs. {REGENERATE}"
        assert np.array_equal(ref[~finite], value[~finite]), key
        scale = float(np.abs(ref[finite]).max(initial=0.0))
        np.testing.assert_allclose(value[finite], ref[finite], rtol=1e-12, atol=1e-12 * scale,
                                   err_msg=f"{name} ({method}): {key}. {REGENERATE}")


def test_reference_is_complete(data):
    """Every case stores every output (allied shipments only where allies are on) and its parameters."""
    for name, (overrides, n, _) in CASES.items():
        keys = {k.split("/out/")[1] for k in data.files if k.startswith(f"{name}/out/")}
        expected = set(SUPPLY_FIELDS) | set(RESULT_FIELDS)
        if "allies.stock_days" not in overrides:
            expected.discard("allied_shipped_t")
        assert keys == expected, name
        assert data[f"{name}/param/restriction.start_month"].shape == (n,), name


def test_reference_covers_losses(data):
    """The stored batches exercise the economy (months with a loss) and, overall, every mechanism."""
    for name in CASES:
        assert (data[f"{name}/out/gdp_loss_gross_jpy_bn"] > 0).sum() >= 5, name
    cases = [n for n in CASES if CASES[n][2] is not None]
    out = {k: np.concatenate([data[f"{n}/out/{k}"].ravel() for n in cases])
           for k in ("held_t", "release_t", "gdp_loss_jpy_bn")}
    assert (out["held_t"] > 0).any()                         # cargo held at export
    assert (out["release_t"] > 0).any()                      # national releases
    assert (out["gdp_loss_jpy_bn"] < 0).any()                # months of catch-up (net below zero)
    assert (data["allies_37/out/allied_shipped_t"] > 0).any()
    # the draws move the v2 keys
    for key in ("restriction.held_share", "economy.reallocation", "recovery.deferred_scale",
                "softening.leakage_share", "materials.dytb.criticality_scale"):
        assert np.ptp(data[f"on_shortage_37/param/{key}"]) > 0, key
