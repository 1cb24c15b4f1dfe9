"""mediamix.inference: samplers as configuration objects, their raw results, diagnostics.

``NUTS(chains=4, draws=1000, warmup=1000, ...)``, ``SVI(steps=3000, ...)`` and
``MAP(steps=3000, ...)`` validate their options when made and ``run(model, design, structure,
seed=, progress=) -> FitResult``. ``sampler(method, **options)`` builds one from a name
(``"nuts" | "svi" | "map"``) and refuses options that do not apply to it.
"""

from mediamix.inference.map import MAP
from mediamix.inference.nuts import NUTS
from mediamix.inference.result import FitResult
from mediamix.inference.samplers import SAMPLERS, sampler
from mediamix.inference.svi import SVI

__all__ = ["MAP", "NUTS", "SAMPLERS", "SVI", "FitResult", "sampler"]
