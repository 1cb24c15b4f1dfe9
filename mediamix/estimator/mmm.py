"""The estimator: a spec, prepared data, a sampler -> a `FittedModel`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from mediamix.data.experiments import read_experiments
from mediamix.errors import SpecError
from mediamix.estimator.fitted import FittedModel
from mediamix.inference import sampler as make_sampler
from mediamix.model.data import ModelData, ModelScalers
from mediamix.model.design import build_design
from mediamix.model.experiments import experiment_design
from mediamix.model.numpyro_model import model
from mediamix.model.spec import ModelSpec
from mediamix.model.structure import build_structure


class MMM:
    """``MMM(spec).fit(dataset, NUTS(chains=4, draws=1000))`` -> `FittedModel`.

    The sampler is an object (``NUTS``, ``SVI``, ``MAP`` from `mediamix.inference`) or a name
    with its options: ``fit(dataset, "svi", steps=2000)``; options that do not apply to the
    method are an error.
    """

    def __init__(self, spec: ModelSpec | dict | None = None, **settings: Any) -> None:
        if spec is None:
            spec = ModelSpec(**settings)
        elif isinstance(spec, dict):
            spec = ModelSpec.from_dict({**spec, **settings})
        elif settings:
            spec = spec.replace(**settings)
        self.spec = spec

    def prepare(self, dataset: Any, holdout: int = 0, scalers: ModelScalers | None = None):
        """``(data, scalers, structure, design, n_train)`` for a dataset and a hold-out.

        ``scalers``: the KPI, media and control scalers to use (e.g. those of an earlier fit,
        so that priors stated in its model units keep their meaning); fitted on the training
        periods when None."""
        data = ModelData.from_dataset(dataset)
        T = data.n_periods
        if isinstance(holdout, bool) or not isinstance(holdout, int) or not 0 <= holdout <= T - 10:
            raise SpecError(
                f"holdout must be an integer between 0 and {T - 10} (periods kept out of the "
                f"fit, at the end); got {holdout!r}"
            )
        n_train = T - holdout
        if scalers is None:
            scalers = ModelScalers.fit(data, self.spec, n_train)
        elif not isinstance(scalers, ModelScalers):
            raise SpecError(
                f"scalers must be a ModelScalers (e.g. an earlier fit's fitted.scalers); got "
                f"{type(scalers).__name__}"
            )
        else:
            _check_scalers(scalers, data)
        structure = build_structure(self.spec, data, scalers, n_train)
        design = build_design(data, scalers, structure, n_train)
        return data, scalers, structure, design, n_train

    def fit(
        self,
        dataset: Any,
        method: Any = "nuts",
        *,
        seed: int = 0,
        holdout: int = 0,
        progress: bool | Callable[[Any], None] = False,
        warn: bool = True,
        experiments: Any = None,
        scalers: ModelScalers | None = None,
        **options: Any,
    ) -> FittedModel:
        """Fit and return a `FittedModel` (diagnostics computed, warnings issued).

        ``method``: a sampler object or ``"nuts"`` (options ``chains``, ``draws``, ``warmup``,
        ``target_accept``, ``max_tree_depth``, ``dense_mass``), ``"svi"`` (``steps``,
        ``draws``, ``learning_rate``, ``guide`` 'normal' | 'lowrank') or ``"map"`` (``steps``,
        ``learning_rate``). ``holdout``: the last periods kept out of the likelihood.
        ``progress``: False (quiet), True (a line per chunk on stderr) or a function called
        after every compiled chunk of steps with the sampler's progress
        (`mediamix.inference.nuts.SamplerProgress` for NUTS,
        `mediamix.inference.progress.OptimiserProgress` for SVI and MAP); an exception it
        raises stops the fit there.
        ``experiments``: lift tests (a CSV / Parquet path, a DataFrame, or rows of
        `mediamix.data.experiments.Experiment` or mappings), each observed through the model's
        counterfactual lift (`mediamix.model.experiments`); they count wherever they lie,
        hold-out periods included.
        ``scalers``: the model-unit scalers to use instead of fitting them on the training
        periods (`prepare`); a refresh passes the previous fit's so that its units stay.
        """
        chosen = make_sampler(method, **options)
        data, scalers, structure, design, n_train = self.prepare(dataset, holdout, scalers)
        exps = read_experiments(experiments, data)
        if exps:
            extra = experiment_design(exps, data, scalers, structure)
            design = {**design, **{k: jnp.asarray(v) for k, v in extra.items()}}
        t0 = time.perf_counter()
        res = chosen.run(model, design, structure, seed=seed, progress=progress)
        fit_seconds = time.perf_counter() - t0
        return FittedModel.from_result(
            res,
            self.spec,
            data,
            scalers,
            n_train,
            chosen.name,
            fit_seconds,
            warn=warn,
            experiments=exps,
        )


def _check_scalers(scalers: ModelScalers, data: ModelData) -> None:
    """Given scalers must have one media scale per channel and one control scale per control."""
    C, K = data.media.shape[1], data.controls.shape[1]
    n_media = np.asarray(scalers.media.scale).reshape(-1).size
    n_ctrl = np.asarray(scalers.controls.scale).reshape(-1).size
    if n_media != C or n_ctrl != K:
        raise SpecError(
            f"scalers: they were fitted on {n_media} channel(s) and {n_ctrl} control(s), the data "
            f"have {C} channel(s) ({', '.join(data.channel_names)}) and {K} control(s); pass "
            "the scalers of a fit on the same columns, or none"
        )
