"""What models of one structure share: one compiled program, their priors as its arguments.

Two models share a structure when everything static about them is equal (`structure_key`:
the transform groups, lags, control index sets, Fourier / weekday / changepoint counts, the
log offset, the time-varying channels and drifts, the prior families and the shapes of every
design array); they differ only in numbers: their data (the design) and the priors scaled to
their data (the media prior's spend-share split and KPI mean, a data-centred ROI prior, ...).
Both go to the model as traced arguments, not constants (`PriorsAsArgs`: the model on the
group's first structure with each model's prior arrays, `prior_arrays`, put in its place by
`with_priors`), so one compilation serves every model of the structure: the batched
samplers (`mediamix.inference.batched`) vectorise over them, and NUTS, SVI and the prior
check reuse one program for every fit of the structure (a fleet, a refresh, a benchmark's
repeat).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from mediamix.model.structure import Structure


def _is_number(v: Any) -> bool:
    return isinstance(v, np.ndarray | np.generic | float | int) and not isinstance(v, bool)


def prior_arrays(priors: dict) -> dict:
    """The numbers of a structure's priors as a pytree of float32 arrays (the distribution
    names left out): ``{site: {param: array}}``, nested for a joint prior's parts."""

    def numbers(p):
        if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
            return numbers(p[1])
        if isinstance(p, dict):
            return {k: numbers(v) for k, v in p.items()}
        if _is_number(p):
            return np.asarray(p, dtype=np.float32)
        raise TypeError(f"unexpected prior parameter {p!r}")  # pragma: no cover

    return {site: numbers(p) for site, p in priors.items()}


def _prior_families(priors: dict) -> Any:
    """The static part of the priors: distribution names and parameter shapes."""

    def static(p):
        if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
            return (p[0], static(p[1]))
        if isinstance(p, dict):
            return tuple((k, static(v)) for k, v in sorted(p.items()))
        return np.shape(p)

    return tuple((site, static(p)) for site, p in sorted(priors.items()))


def with_priors(structure: Structure, arrays: dict) -> Structure:
    """``structure`` with the numbers of its priors replaced by ``arrays`` (from
    `prior_arrays` of a structure with the same `structure_key`; may be traced)."""

    def put(p, a):
        if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
            return (p[0], put(p[1], a))
        if isinstance(p, dict):
            return {k: put(v, a[k]) for k, v in p.items()}
        return a

    priors = {site: put(p, arrays[site]) for site, p in structure.priors.items()}
    return dataclasses.replace(structure, priors=priors)


def structure_key(structure: Structure, design: dict) -> tuple:
    """What must be equal for models to share one compiled program: the spec, every static
    field of the structure except the channel and control names (and the numbers of the
    priors; the time-varying channels' drifts are structure), and the shape and dtype of every design array."""
    groups = tuple(
        (g.family, g.idx, g.dim, g.params) for g in structure.sat_groups + structure.ad_groups
    )
    shapes = tuple(
        (k, tuple(np.shape(v)), str(np.asarray(v).dtype)) for k, v in sorted(design.items())
    )
    s = structure
    return (
        s.spec.to_yaml(),
        len(s.channel_names),
        len(s.control_names),
        groups,
        len(s.sat_groups),
        s.max_lag,
        s.lags,
        s.free_idx,
        s.signed_idx,
        s.signs,
        s.event_idx,
        s.n_fourier,
        s.n_dow,
        s.n_changepoints,
        float(s.log_offset),
        s.warmup,
        s.tv_idx,
        s.tv_drift,
        float(s.baseline_drift),
        s.n_tv_terms,
        _prior_families(s.priors),
        shapes,
    )


class PriorsAsArgs:
    """The model on a group's first structure, with each model's priors as an argument:
    ``m(design, priors, observe=True)``; for concrete priors the structure is built once per
    priors object (the latest one kept), so eager calls reuse the model's compiled maths.
    """

    def __init__(self, model, template: Structure) -> None:
        self.model = model
        self.template = template
        self._concrete: tuple[Any, Structure] | None = None  # the latest concrete priors

    def structure(self, priors: dict) -> Structure:
        import jax

        if any(isinstance(v, jax.core.Tracer) for v in jax.tree.leaves(priors)):
            return with_priors(self.template, priors)
        hit = self._concrete
        if hit is None or hit[0] is not priors:
            hit = self._concrete = (priors, with_priors(self.template, priors))
        return hit[1]

    def __call__(self, design: dict, priors: dict, observe: bool = True) -> None:
        return self.model(design, self.structure(priors), observe=observe)


@dataclasses.dataclass(frozen=True, eq=False)
class SharedModel:
    """A model as the samplers run it (``model(*args)``) and the key its compiled programs
    are kept under: equal (and hashed) by ``key`` alone, so the first model of a key serves
    every later one."""

    key: tuple
    model: Callable

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SharedModel) and self.key == other.key


def shared_program(model, structure, design: dict) -> tuple[SharedModel, tuple]:
    """``(shared, args)`` for fitting ``model`` on ``structure`` and ``design``.

    A national `Structure`: keyed by `structure_key`, run as `PriorsAsArgs` with ``args =
    (design, priors)``, so fits of one structure share every compiled program. Any other
    structure (the geo model's): keyed by the structure object itself, ``args = (design,)``
    with its priors constants of the program."""
    if type(structure) is Structure:
        key = ("priors as arguments", model, structure_key(structure, design))
        return SharedModel(key, PriorsAsArgs(model, structure)), (design, _priors(structure))
    shared = SharedModel(("structure", model, structure), partial(model, structure=structure))
    return shared, (design,)


def _priors(structure: Structure) -> dict:
    import jax
    import jax.numpy as jnp

    return jax.tree.map(jnp.asarray, prior_arrays(structure.priors))
