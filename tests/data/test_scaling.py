"""Scalers: the inverse undoes the forward map, and persistence round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mediamix.data import Dataset
from mediamix.data.scaling import METHODS, Scaler
from mediamix.errors import SpecError
from mediamix.model import ModelData, ModelScalers, ModelSpec
from tests.data.conftest import KW, make_frame

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_subnormal=False)


@settings(max_examples=150, deadline=None)
@given(
    x=arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 4)), elements=finite),
    method=st.sampled_from(METHODS),
)
def test_inverse_of_forward_is_identity(x, method):
    s = Scaler.fit(x, method)
    back = s.inverse(s.transform(x))
    # exact up to rounding: a few ulp of |x| and |loc| (plus underflow of tiny values)
    fi = np.finfo(float)
    tol = 8 * fi.eps * (np.abs(x) + np.abs(s.loc)) + 4 * fi.tiny * np.abs(s.scale)  # underflow
    assert np.all(np.abs(back - x) <= tol)
    s2 = Scaler.from_dict(json.loads(json.dumps(s.to_dict())))
    np.testing.assert_array_equal(s2.transform(x), s.transform(x))


def test_mean_nonzero_scale():
    x = np.array([[0.0, 2.0], [4.0, 2.0], [8.0, 0.0]])
    s = Scaler.fit(x, "mean_nonzero")
    np.testing.assert_array_equal(s.scale, [6.0, 2.0])
    np.testing.assert_array_equal(s.transform(x), [[0, 1], [4 / 6, 1], [8 / 6, 0]])


def test_standard_and_degenerate_columns():
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    s = Scaler.fit(x, "standard")
    np.testing.assert_array_equal(s.loc, [2.0, 5.0])
    np.testing.assert_array_equal(s.scale, [1.0, 1.0])  # constant column falls back to 1
    np.testing.assert_array_equal(s.transform(x), [[-1.0, 0.0], [1.0, 0.0]])
    z = Scaler.fit(np.zeros((3, 1)), "max")
    assert z.scale[0] == 1.0


def test_unknown_method():
    with pytest.raises(SpecError, match="unknown scaling method 'maxabs'"):
        Scaler.fit(np.ones(3), "maxabs")


def test_model_scalers_on_dataset_round_trip():
    ds = Dataset.from_frame(make_frame(), **KW)
    sc = ModelScalers.fit(ModelData.from_dataset(ds), ModelSpec(), ds.n_periods)
    z = sc.media.transform(ds.media)
    nz = ds.media > 0
    for c in range(z.shape[1]):
        assert z[nz[:, c], c].mean() == pytest.approx(1.0)
    assert sc.kpi.transform(ds.kpi_values).mean() == pytest.approx(1.0)
    assert sc.controls.transform(ds.control_values).std() == pytest.approx(1.0)
    again = ModelScalers.from_dict(json.loads(json.dumps(sc.to_dict())))
    np.testing.assert_array_equal(again.media.scale, sc.media.scale)
    assert float(again.kpi.scale) == float(sc.kpi.scale)
