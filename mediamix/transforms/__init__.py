"""Adstock and saturation transforms: pure jax.numpy functions, one registry by name."""

from mediamix.transforms.adstock import (
    ADSTOCKS,
    AdstockFamily,
    apply_weights,
    get_adstock,
    steady_state_gain,
)
from mediamix.transforms.saturation import SATURATIONS, SaturationFamily, get_saturation

__all__ = [
    "ADSTOCKS",
    "SATURATIONS",
    "AdstockFamily",
    "SaturationFamily",
    "apply_weights",
    "get_adstock",
    "get_saturation",
    "steady_state_gain",
]
