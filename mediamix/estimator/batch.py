"""Many small models in one compiled batch: ``fit_batch(spec, datasets) -> [FittedModel]``.

The datasets are prepared one by one exactly as `MMM.fit` prepares them (each model's own
data, scalers, structure and design); those that share a structure
(`mediamix.model.reuse.structure_key`: the same channel count and transforms per
channel position, periods, controls and spec) are fitted together, one compilation per
structure, vectorised over models (`mediamix.inference.batched`). Every model comes back as
its own `FittedModel` with its own diagnostics (R-hat, ESS, coverage, review), in the
order of ``datasets``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mediamix.errors import MediamixError, SpecError
from mediamix.estimator.fitted import FittedModel
from mediamix.estimator.mmm import MMM
from mediamix.inference import sampler as make_sampler
from mediamix.inference.batched import run_batch
from mediamix.model.numpyro_model import model
from mediamix.model.reuse import structure_key
from mediamix.model.spec import ModelSpec


def _one_spec(spec: Any, n: int) -> ModelSpec:
    """The one spec of a batch: a spec (or mapping, or None for the defaults), or a list of
    ``n`` specs that must all be equal."""
    if isinstance(spec, list | tuple):
        if len(spec) != n:
            raise SpecError(
                f"fit_batch: got {len(spec)} specs for {n} datasets; give one spec for all, "
                "or one per dataset"
            )
        specs = [MMM(s).spec for s in spec]
        for i, s in enumerate(specs[1:], start=1):
            if s != specs[0]:
                raise SpecError(
                    f"fit_batch: specs[{i}] differs from specs[0]; a batch fits one spec, so "
                    "fit models with other specs in a batch of their own (or with MMM.fit)"
                )
        return specs[0]
    return MMM(spec).spec


def group_models(keys: Sequence[Any]) -> list[list[int]]:
    """Indices grouped by equal key, groups in order of first appearance."""
    groups: dict[Any, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return list(groups.values())


def fit_batch(
    spec: Any,
    datasets: Sequence[Any],
    method: Any = "nuts",
    *,
    seed: int = 0,
    progress: bool | Callable[[Any], None] = False,
    lockstep: bool | None = None,
    **options: Any,
) -> list[FittedModel]:
    """Fit one model per dataset; models of one structure are sampled together.

    ``spec``: a `ModelSpec`, a mapping, None (the defaults) or a list of equal specs, one
    per dataset. ``datasets``: `Dataset` objects (a list, or a mapping whose values are
    used in order). ``method`` and ``options`` as for `MMM.fit` (``"nuts"`` with
    ``chains``, ``draws``, ``warmup``, ...; ``"svi"``; ``"map"``), ``seed`` the seed of
    every model (each model draws as `MMM.fit` with that seed would, so the answers agree
    with one-by-one fits within Monte Carlo error; NUTS one after another draws what a fit
    alone draws, to rounding). ``progress``: as for `MMM.fit`, called for each compiled
    batch in turn. ``lockstep`` (NUTS): the chains on a device stepped together in one
    vmapped program (True: what an accelerator wants) or one after another inside one
    program (False); None picks by the backend (one after another on a CPU;
    `mediamix.inference.batched.run_nuts`). Returns the `FittedModel`s in the order of
    ``datasets``; each one's ``fit_seconds`` is its batch's wall time divided by the batch's
    size, and its ``info`` holds ``batch_size``, ``batch_index`` and ``batch_seconds``.
    """
    if isinstance(datasets, Mapping):
        datasets = list(datasets.values())
    if not isinstance(datasets, Sequence) or isinstance(datasets, str | bytes):
        raise SpecError(
            f"fit_batch: datasets must be a list of Dataset objects; got {type(datasets).__name__}"
        )
    datasets = list(datasets)
    if not datasets:
        raise SpecError("fit_batch: got an empty list of datasets; pass at least one Dataset")
    one = _one_spec(spec, len(datasets))
    chosen = make_sampler(method, **options)
    mmm = MMM(one)
    prepared = []
    for i, ds in enumerate(datasets):
        try:
            prepared.append(mmm.prepare(ds, 0))
        except MediamixError as exc:
            raise type(exc)(f"datasets[{i}]: {exc}") from None
    keys = [structure_key(p[2], p[3]) for p in prepared]
    fitted: list[FittedModel | None] = [None] * len(datasets)
    for idx in group_models(keys):
        designs = [prepared[i][3] for i in idx]
        structures = [prepared[i][2] for i in idx]
        t0 = time.perf_counter()
        results = run_batch(chosen, model, designs, structures, seed=seed, progress=progress,
                            lockstep=lockstep)  # fmt: skip
        seconds = time.perf_counter() - t0
        for i, res in zip(idx, results, strict=True):
            data, scalers, _, _, n_train = prepared[i]
            res.info["batch_seconds"] = seconds
            fitted[i] = FittedModel.from_result(
                res, one, data, scalers, n_train, chosen.name, seconds / len(idx)
            )
    return [f for f in fitted if f is not None]
