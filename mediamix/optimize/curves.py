"""Vectorised float64 evaluation of many response curves at once (the optimizer's view).

The formulas are the family objects of :mod:`mediamix.transforms.saturation` (run here on
numpy input, so in float64 and without JAX); this module only stacks the parameters of all
channels of one family into arrays of shape ``(S, n_family)`` so that one call evaluates
every channel and every posterior draw.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mediamix.errors import SpecError
from mediamix.optimize.response import Response
from mediamix.transforms.saturation import SaturationFamily


def common_draws(responses: Sequence[Response]) -> int:
    """The common number of draws ``S`` (curves with one draw broadcast against it)."""
    sizes = {r.n_draws for r in responses} - {1}
    if len(sizes) > 1:
        raise SpecError(
            "all responses must carry the same number of posterior draws (or a single one); "
            f"got {sorted(sizes)}"
        )
    return sizes.pop() if sizes else 1


class CurveBank:
    """All channels' curves, evaluated together: ``values(spend) -> (S, ..., n)``.

    ``groups`` holds ``(family, channel indices, parameters)`` with per-draw parameters
    stacked to ``(S, n_family)``; a family with vector parameters (the table's points) gets
    one group per channel with its parameters as they are.
    """

    def __init__(self, responses: Sequence[Response]):
        self.responses = list(responses)
        self.n = len(self.responses)
        self.S = common_draws(self.responses)
        self.price = np.stack(
            [np.broadcast_to(r.unit_price, (self.S,)) for r in self.responses], axis=1
        ).astype(float)  # (S, n)
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(self.responses):
            vector = r.family_object.vector_params
            key = f"{r.family}:{i}" if vector else r.family
            groups.setdefault(key, []).append(i)
        self.groups: list[tuple[SaturationFamily, np.ndarray, dict[str, np.ndarray]]] = []
        for idx in groups.values():
            fam = self.responses[idx[0]].family_object
            stacked = {
                p: (
                    np.asarray(self.responses[idx[0]].params[p], dtype=float)
                    if p in fam.vector_params
                    else np.stack(
                        [np.broadcast_to(self.responses[i].params[p], (self.S,)) for i in idx],
                        axis=1,
                    ).astype(float)
                )
                for p in fam.params
            }
            self.groups.append((fam, np.asarray(idx), stacked))

    def _apply(self, which: str, spend, paired: bool = False) -> np.ndarray:
        x = np.asarray(spend, dtype=float)
        if paired:  # leading axis of spend is the draw: draw s evaluated at spend[s]
            x = np.broadcast_to(x, (self.S,) + x.shape[1:])
            lead = x.shape[1:-1]
            out = np.empty(x.shape)
        else:
            lead = x.shape[:-1]
            out = np.empty((self.S,) + x.shape)
        for fam, idx, params in self.groups:
            shape = (self.S,) + (1,) * len(lead) + (idx.size,)
            price = self.price[:, idx].reshape(shape)
            xi = np.maximum(x[..., idx], 0.0)
            u = (xi if paired else xi[None]) / price
            p = {k: (v if k in fam.vector_params else v.reshape(shape)) for k, v in params.items()}
            y = family_eval(fam, u, p, which)
            if which == "d":
                y = y / price
            out[..., idx] = y
        return out

    def values(self, spend, paired: bool = False) -> np.ndarray:
        """Response per draw and channel, ``(S, *spend.shape)``; spend's last axis is channel.

        With ``paired=True`` spend's first axis is the draw (``(S, ..., n)`` -> same shape).
        """
        return self._apply("f", spend, paired)

    def derivs(self, spend, paired: bool = False) -> np.ndarray:
        """d response / d spend per draw and channel (``paired`` as in :meth:`values`)."""
        return self._apply("d", spend, paired)


def family_eval(fam: SaturationFamily, u, params, which: str = "f") -> np.ndarray:
    """``fam.fn`` (or ``fam.deriv`` with ``which='d'``) at units ``u`` in float64 numpy,
    broadcast to ``u``'s shape."""
    u = np.asarray(u, dtype=float)
    fn = fam.fn if which == "f" else fam.deriv
    p = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    return np.array(np.broadcast_to(fn(u, **p), u.shape), dtype=float)
