"""mediamix.data: loading, validation, diagnostics, scaling and simulation with ground truth.

The simulator is the submodule `mediamix.data.simulate` (``from mediamix.data.simulate import
simulate``); it imports JAX when called, so importing `mediamix.data` stays light.
"""

from mediamix.data.config import DataConfig, expand_events
from mediamix.data.dataset import ChannelSpec, Dataset, DataSpec, load_dataset, load_yaml
from mediamix.data.diagnostics import Check, Diagnostics, diagnostics
from mediamix.data.loaders import read_sql, read_table
from mediamix.data.scaling import Scaler
from mediamix.data.validation import estimate_n_params, min_rows_required

__all__ = [
    "ChannelSpec",
    "Check",
    "DataConfig",
    "DataSpec",
    "Dataset",
    "Diagnostics",
    "Scaler",
    "diagnostics",
    "estimate_n_params",
    "expand_events",
    "load_dataset",
    "load_yaml",
    "min_rows_required",
    "read_sql",
    "read_table",
]
