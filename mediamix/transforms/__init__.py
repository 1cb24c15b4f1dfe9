"""Adstock and saturation families: one registered object per family, numpy and JAX alike.

``get_saturation(name)`` / ``get_adstock(name)`` look a family up; ``register_saturation`` /
``register_adstock`` add one. Importing this package does not import JAX: the functions run
in float64 numpy on numpy input and in ``jax.numpy`` on JAX arrays or tracers.
"""

from mediamix.transforms.adstock import (
    ADSTOCKS,
    AdstockFamily,
    apply_weights,
    get_adstock,
    register_adstock,
    steady_state_gain,
)
from mediamix.transforms.arrays import namespace
from mediamix.transforms.saturation import (
    SATURATIONS,
    ConeTerm,
    SaturationFamily,
    get_saturation,
    register_saturation,
)

__all__ = [
    "ADSTOCKS",
    "SATURATIONS",
    "AdstockFamily",
    "ConeTerm",
    "SaturationFamily",
    "apply_weights",
    "get_adstock",
    "get_saturation",
    "namespace",
    "register_adstock",
    "register_saturation",
    "steady_state_gain",
]
