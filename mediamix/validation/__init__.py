"""Validation of a fitted model and the design of its next experiment.

- `validate(run_dir_or_fitted, ...) -> ValidationResult`: the battery (rolling-origin
  cross-validation, placebo, perturbation, refresh stability, model comparison by ELPD),
  each test pass / review / fail with one sentence; ``validation.json`` in the run folder.
- `design_test(fitted, budget, ...) -> DesignResult`: which channel to test next, with what
  spend change and for how long, ranked by the expected shrinkage of that channel's ROAS
  interval per unit of budget at risk; ``test_design.json`` in the run folder.

Layer: above `mediamix.runs` (beside loop and fleet); it refits through `mediamix.estimator`.
"""

from mediamix.validation.battery import TESTS, ValidationResult, default_alternatives, validate
from mediamix.validation.common import ValidationTest
from mediamix.validation.design import DesignResult, TestDesign, design_test

__all__ = [
    "DesignResult",
    "TestDesign",
    "design_test",
    "TESTS",
    "ValidationResult",
    "ValidationTest",
    "default_alternatives",
    "validate",
]
