"""The planner's calls into the rest of the package, one module per job.

- :mod:`~mediamix.app.services.uploads`: `Columns`, `validate_upload` (an uploaded CSV read
  and checked by the data layer);
- :mod:`~mediamix.app.services.fits`: `start_fit`, `run_fit`, `fit_model` (background fit
  jobs writing the complete run folder);
- :mod:`~mediamix.app.services.planning`: `build_problem`, `optimise`, `sweep_budgets`,
  `curve_points`, `plan_rows` (the planner form -> problem -> plan), `plan_uplift`,
  `observed_spend`, `extrapolation` (the gain over today's plan, the spend the data has
  seen), `summarised_problem` (curve draws by their means);
- :mod:`~mediamix.app.services.scenarios`: `compare_scenarios`, `scenario_csv`,
  `scenario_yaml`;
- :mod:`~mediamix.app.services.imports`: `import_run_dir`, `import_responses` (runs made
  elsewhere).

The HTTP layer calls these and knows nothing about samplers or solvers.
"""

from mediamix.app.services.fits import fit_model, run_fit, start_fit
from mediamix.app.services.imports import REPORT_FILE, import_responses, import_run_dir
from mediamix.app.services.planning import (
    MAX_SWEEP_POINTS,
    PLAN_COLUMNS,
    build_problem,
    check_responses,
    curve_points,
    extrapolation,
    observed_spend,
    optimise,
    plan_rows,
    plan_uplift,
    run_responses,
    solve_problem,
    summarised_problem,
    sweep_budgets,
)
from mediamix.app.services.scenarios import compare_scenarios, scenario_csv, scenario_yaml
from mediamix.app.services.uploads import DATA_FILE, Columns, read_csv, validate_upload

__all__ = [
    "DATA_FILE",
    "MAX_SWEEP_POINTS",
    "PLAN_COLUMNS",
    "REPORT_FILE",
    "Columns",
    "build_problem",
    "check_responses",
    "compare_scenarios",
    "curve_points",
    "extrapolation",
    "fit_model",
    "import_responses",
    "import_run_dir",
    "observed_spend",
    "optimise",
    "plan_rows",
    "plan_uplift",
    "read_csv",
    "run_fit",
    "run_responses",
    "scenario_csv",
    "scenario_yaml",
    "solve_problem",
    "start_fit",
    "summarised_problem",
    "sweep_budgets",
    "validate_upload",
]
