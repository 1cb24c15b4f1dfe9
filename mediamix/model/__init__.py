"""mediamix.model: ModelSpec, priors and the NumPyro media mix model."""

from mediamix.model.mmm import MMM, ModelData
from mediamix.model.priors import Prior
from mediamix.model.spec import ModelSpec, init_config_text, load_config

__all__ = ["MMM", "ModelData", "ModelSpec", "Prior", "init_config_text", "load_config"]
