"""mediamix.analysis: what users read off a fitted model, in original units with intervals."""

from mediamix.analysis.curves import adstock_curves, response_curves, responses
from mediamix.analysis.decomposition import contributions, decomposition, fit_table
from mediamix.analysis.metrics import mroas_draws, roas_draws, summary, to_json
from mediamix.analysis.whatif import WhatIf, what_if

__all__ = [
    "WhatIf",
    "adstock_curves",
    "contributions",
    "decomposition",
    "fit_table",
    "mroas_draws",
    "response_curves",
    "responses",
    "roas_draws",
    "summary",
    "to_json",
    "what_if",
]
