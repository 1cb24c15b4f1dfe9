"""mediamix.estimator: ``MMM(spec).fit(dataset, NUTS(...)) -> FittedModel``.

Above both the model (spec, structure, maths, NumPyro model) and inference (samplers): the
estimator prepares the model's inputs, runs the sampler, and wraps the draws in a
`FittedModel` that the analysis reads; ``GeoMMM(spec).fit(panel, ...) -> GeoFitted`` does the
same for geo panels (`mediamix.estimator.geo`).
"""

from mediamix.estimator.fitted import FittedModel
from mediamix.estimator.geo import GeoFitted, GeoMMM
from mediamix.estimator.mmm import MMM

__all__ = ["MMM", "FittedModel", "GeoMMM", "GeoFitted"]
