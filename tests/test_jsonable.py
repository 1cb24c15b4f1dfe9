import json
import math

import numpy as np

from mediamix.jsonable import jsonable


def test_numpy_nan_and_tuples_become_plain_json():
    value = {
        "a": np.float32(1.5),
        "b": np.array([1.0, np.nan, np.inf]),
        "c": (1, 2),
        3: [math.nan, "x", None],
    }
    out = jsonable(value)
    assert out == {"a": 1.5, "b": [1.0, None, None], "c": [1, 2], "3": [None, "x", None]}
    json.dumps(out, allow_nan=False)  # strict JSON
