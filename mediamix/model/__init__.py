"""mediamix.model: the model as data and functions, apart from how it is fitted.

``ModelSpec`` (frozen) and ``Prior`` describe the model; ``ModelData`` / ``ModelScalers`` the
data in original and model units; ``build_structure`` the static structure, ``build_design``
the arrays the model reads, :mod:`mediamix.model.maths` the pure maths and
:mod:`mediamix.model.numpyro_model` the NumPyro model function. Nothing here imports
``mediamix.inference``; fitting lives in :mod:`mediamix.estimator` (``MMM``).
"""

from mediamix.model.data import ModelData, ModelScalers
from mediamix.model.priors import Prior
from mediamix.model.spec import ModelSpec, init_config_text, load_config

__all__ = ["ModelData", "ModelScalers", "ModelSpec", "Prior", "init_config_text", "load_config"]
