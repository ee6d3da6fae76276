"""The engine reproduces outputs stored before any performance work.

See ``tests/engine_reference.py`` for what the stored batches cover.
Tolerance: 1e-12 relative to each array's largest value (round-off of
reordered sums), so any model change shows up.
"""

import numpy as np
import pytest

from engine_reference import CASES, PATH, result_arrays, stored_table
from simulator.core.engine import simulate


REGENERATE = ("A performance change must not change any number. If the model changed on purpose, "
              "regenerate the reference with `python tests/engine_reference.py` and say so in the commit.")


@pytest.fixture(scope="module")
def data():
    return np.load(PATH)


@pytest.mark.parametrize("name", list(CASES))
def test_engine_matches_stored_outputs(name, data):
    table = stored_table(name, data)
    got = result_arrays(simulate(table, keep_sector_paths=True))
    for key, value in got.items():
        ref = data[f"{name}/out/{key}"]
        assert value.shape == ref.shape, key
        finite = np.isfinite(ref)
        assert np.array_equal(finite, np.isfinite(value)), f"{name}: {key} inf pattern differs. {REGENERATE}"
        assert np.array_equal(ref[~finite], value[~finite]), key
        scale = float(np.abs(ref[finite]).max(initial=0.0))
        np.testing.assert_allclose(value[finite], ref[finite], rtol=1e-12, atol=1e-12 * scale,
                                   err_msg=f"{name}: {key}. {REGENERATE}")


def test_reference_covers_losses(data):
    """The stored batches exercise the economy (months with a loss)."""
    for name in CASES:
        assert (data[f"{name}/out/gdp_loss_jpy_bn"] > 0).sum() >= 5, name
