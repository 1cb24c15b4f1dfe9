"""What the validation battery and the experiment designer share: verdicts, the fitted model
of a run, the samplers of the refits, and the refits themselves (with progress).

Every refit fits the run's own spec on the run's own data (the saved model's
`mediamix.model.data.ModelData`, all of its periods). Refits that only keep the last periods
out of the likelihood (cross-validation folds, refresh stability) fit the *whole* series with
``holdout=``: the arrays keep their shape, so the compiled program is reused and a refit costs
seconds instead of a fresh compilation. A fit with ``holdout=H`` on T periods is the same fit
as one on the first T - H periods (the scalers, the trend's time axis and the likelihood mask
are all set from the training periods; adstock looks only backwards).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mediamix.errors import SpecError

logger = logging.getLogger(__name__)

VERDICTS = ("pass", "review", "fail")

#: the samplers of the refits, by method name: short enough to run the whole battery on the
#: demo run in minutes
REFIT_SAMPLERS: dict[str, dict[str, Any]] = {
    "svi": {"steps": 2000, "draws": 500},
    "nuts": {"chains": 2, "draws": 300, "warmup": 300},
}


def worst(verdicts) -> str:
    """The worst of some verdicts ("pass" < "review" < "fail"); "pass" when there are none."""
    got = [v for v in verdicts if v in VERDICTS]
    return max(got, key=VERDICTS.index) if got else "pass"


@dataclass(frozen=True)
class ValidationTest:
    """One test of the battery: its figure against a threshold, a verdict and one sentence.

    ``value``: the test's headline figure (e.g. the hold-out MAPE over the folds); ``threshold``:
    the value where the verdict changes from pass to review; ``rows``: the test's own table
    (one mapping per fold / channel / spec); ``method``: the sampler of its refits.
    """

    name: str
    verdict: str
    advice: str
    value: float | None = None
    threshold: float | None = None
    method: str = ""
    seconds: float = 0.0
    rows: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        from mediamix.jsonable import jsonable

        d = asdict(self)
        d["rows"] = [dict(r) for r in self.rows]
        return jsonable(d)


def load_fitted(run_dir_or_fitted) -> tuple[Any, Path | None]:
    """``(FittedModel, run folder or None)`` from a run folder or a `FittedModel`."""
    if isinstance(run_dir_or_fitted, str | Path):
        from mediamix.runs import RunDir

        view = RunDir(run_dir_or_fitted).read()
        fitted = view.fitted
        if fitted is None:
            raise SpecError(
                f"'{view.path}' holds no saved model (model/), so it cannot be refitted; "
                f"run `mediamix fit DATA --out {view.path}` first"
            )
        return fitted, view.path
    if not hasattr(run_dir_or_fitted, "spec") or not hasattr(run_dir_or_fitted, "data"):
        raise SpecError(
            "expected a run folder or a FittedModel (from MMM(spec).fit(...)); got "
            f"{type(run_dir_or_fitted).__name__}"
        )
    return run_dir_or_fitted, None


def run_level(run_dir: Path | None, level: float | None) -> float:
    """The interval level: ``level``, else the run's (its summary.json), else 0.9."""
    if level is None and run_dir is not None:
        from mediamix.runs import RunDir

        level = RunDir(run_dir).read().level
    level = 0.9 if level is None else level
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise SpecError(f"level must be between 0 and 1, e.g. 0.9; got {level!r}")
    return float(level)


def refit_sampler(method: Any):
    """The sampler object of the refits: ``"svi"`` / ``"nuts"`` (short settings, see
    `REFIT_SAMPLERS`) or a sampler object (``SVI(...)``, ``NUTS(...)``)."""
    from mediamix.inference import sampler

    if isinstance(method, str):
        if method not in REFIT_SAMPLERS:
            raise SpecError(
                f"method: the refits need intervals, so use one of {', '.join(REFIT_SAMPLERS)} "
                f"(got {method!r})"
            )
        return sampler(method, **REFIT_SAMPLERS[method])
    if getattr(method, "name", None) not in REFIT_SAMPLERS:
        raise SpecError(
            "method: give 'svi', 'nuts' or an SVI(...) / NUTS(...) sampler object (MAP has no "
            f"intervals); got {method!r}"
        )
    return method


def replace_data(data, **arrays):
    """A copy of a `ModelData` with some arrays (or names) replaced."""
    from dataclasses import replace

    return replace(data, **arrays)


def experiments_before(experiments, data, origin: int) -> tuple:
    """The experiments that started before period ``origin`` (a forecast must not see a test
    that ran in the periods it forecasts)."""
    if not experiments:
        return ()
    if origin >= data.n_periods:
        return tuple(experiments)
    cut = np.datetime64(data.dates[origin], "ns")
    return tuple(e for e in experiments if np.datetime64(str(e.start), "ns") < cut)


Progress = Callable[[str], None]


def progress_printer(progress: bool | Progress) -> Progress | None:
    """A function that shows one progress line (stderr), or None for no progress."""
    if callable(progress):
        return progress
    if progress:
        return lambda line: print(line, file=sys.stderr, flush=True)
    return None


class Refits:
    """Runs (and remembers) the refits of one battery: each refit is a key (what data, which
    spec, how many hold-out periods, which sampler); a key asked for twice is fitted once.

    ``planned`` is the number of distinct refits the battery will ask for, so progress reads
    ``[3/9]``; each refit shows the sampler's own progress bar when progress is on.
    """

    def __init__(self, fitted, sampler, seed: int, progress: bool | Progress = False) -> None:
        self.fitted = fitted
        self.sampler = sampler
        self.seed = int(seed)
        self.say = progress_printer(progress)
        self.bars = bool(progress) and not callable(progress)
        self.planned = 0
        self.cache: dict[tuple, Any] = {}
        self.seconds: dict[tuple, float] = {}
        self.experiments = tuple(getattr(fitted, "experiments", ()) or ())

    def key(self, name: str, holdout: int = 0, spec=None, sampler=None) -> tuple:
        spec = spec if spec is not None else self.fitted.spec
        sampler = sampler if sampler is not None else self.sampler
        return (name, int(holdout), spec.to_yaml(), repr(sampler))

    def plan(self, keys) -> None:
        self.planned = len(set(keys) | set(self.cache))

    def fit(
        self,
        label: str,
        name: str = "data",
        *,
        holdout: int = 0,
        data=None,
        spec=None,
        sampler=None,
        experiments=None,
    ):
        """The refit of key ``(name, holdout, spec, sampler)``: ``data`` (default: the run's)
        under ``spec`` (default: the run's) with the last ``holdout`` periods kept out."""
        from mediamix.estimator import MMM

        key = self.key(name, holdout, spec, sampler)
        if key in self.cache:
            return self.cache[key]
        spec = spec if spec is not None else self.fitted.spec
        data = data if data is not None else self.fitted.data
        sampler = sampler if sampler is not None else self.sampler
        exps = self.experiments if experiments is None else tuple(experiments)
        n = len(self.cache) + 1
        if self.say:
            total = max(self.planned, n)
            self.say(f"[{n}/{total}] {label} ({sampler.name}, {data.n_periods - holdout} periods)")
        kw = {"experiments": exps} if exps else {}
        t0 = time.perf_counter()
        got = MMM(spec).fit(
            data, sampler, seed=self.seed, holdout=int(holdout), progress=self.bars, warn=False,
            **kw,
        )  # fmt: skip
        self.seconds[key] = time.perf_counter() - t0
        logger.info("refit %s: %.1f s", label, self.seconds[key])
        self.cache[key] = got
        return got
