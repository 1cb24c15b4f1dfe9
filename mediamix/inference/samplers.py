"""Samplers by name: the one place that maps ``"nuts" | "svi" | "map"`` to a sampler object."""

from __future__ import annotations

from typing import Any

from mediamix.errors import SpecError, did_you_mean
from mediamix.inference.map import MAP
from mediamix.inference.nuts import NUTS
from mediamix.inference.options import option_names
from mediamix.inference.svi import SVI
from mediamix.schemas import FIT_METHODS

SAMPLERS: dict[str, type] = {"nuts": NUTS, "svi": SVI, "map": MAP}
assert tuple(SAMPLERS) == FIT_METHODS


def sampler(method: Any = "nuts", **options: Any):
    """A sampler object from a name and its options, or ``method`` itself when it is one.

    Options that do not apply to the method are an error that lists the ones that do.
    """
    if isinstance(method, NUTS | SVI | MAP):
        if options:
            raise SpecError(
                f"options {', '.join(sorted(options))} were given beside a {type(method).__name__} "
                "object; set them on the object instead"
            )
        return method
    if method not in SAMPLERS:
        raise SpecError(
            f"method must be one of {', '.join(FIT_METHODS)} (got {method!r})."
            f"{did_you_mean(method, FIT_METHODS)}"
        )
    cls = SAMPLERS[method]
    allowed = option_names(cls)
    wrong = sorted(k for k in options if k not in allowed)
    if wrong:
        raise SpecError(
            f"option(s) {', '.join(wrong)} do not apply to method '{method}'; its options are "
            f"{', '.join(allowed)}"
        )
    return cls(**options)
