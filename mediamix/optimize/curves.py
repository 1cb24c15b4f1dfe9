"""Vectorised float64 evaluation of many response curves at once (the optimizer's view).

The formulas are the ones in :mod:`mediamix.transforms.saturation`; this module only stacks
the parameters of all channels of one family into arrays of shape ``(S, n_family)`` so that
one call evaluates every channel and every posterior draw, in double precision.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from mediamix.errors import SpecError
from mediamix.optimize.response import Response
from mediamix.transforms.saturation import get_saturation


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
    """All channels' curves, evaluated together: ``values(spend) -> (S, ..., n)``."""

    def __init__(self, responses: Sequence[Response]):
        self.responses = list(responses)
        self.n = len(self.responses)
        self.S = common_draws(self.responses)
        self.price = np.stack(
            [np.broadcast_to(r.unit_price, (self.S,)) for r in self.responses], axis=1
        ).astype(float)  # (S, n)
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(self.responses):
            key = r.family if r.family != "table" else f"table:{i}"
            groups.setdefault(key, []).append(i)
        self.groups = []
        for idx in groups.values():
            fam = get_saturation(self.responses[idx[0]].family)
            if fam.name == "table":
                params = {k: np.asarray(v) for k, v in self.responses[idx[0]].params.items()}
                stacked = params
            else:
                stacked = {
                    p: np.stack(
                        [np.broadcast_to(self.responses[i].params[p], (self.S,)) for i in idx],
                        axis=1,
                    ).astype(float)
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
            if fam.name == "table":
                p = params
            else:
                p = {k: v.reshape(shape) for k, v in params.items()}
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


_JIT: dict = {}


def _bucket(size: int) -> int:
    return max(64, 1 << (int(size) - 1).bit_length())


def family_eval(fam, u, params, which: str = "f") -> np.ndarray:
    """``fam.fn`` (or ``fam.deriv`` with ``which='d'``) at units ``u`` in float64.

    Elementwise parameters are broadcast to ``u``, flattened and padded to a power-of-two
    length so that one compiled function per family and size bucket serves every call.
    """
    u = np.asarray(u, dtype=float)
    shape = u.shape
    if fam.name == "table":
        flat = {k: np.asarray(v, dtype=float) for k, v in params.items()}
        elementwise = []
    else:
        flat = {
            k: np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for k, v in params.items()
        }
        elementwise = list(flat)
    uf = u.ravel()
    size = uf.size
    nb = _bucket(size)
    pad = nb - size
    uf = np.concatenate([uf, np.ones(pad)])
    for k in elementwise:
        v = flat[k]
        fill = v[-1] if v.size else 1.0
        flat[k] = np.concatenate([v, np.full(pad, fill)])
    key = (fam.name, which)
    with jax.enable_x64(True):
        fn = fam.fn if which == "f" else fam.deriv
        if fam.name == "table":  # data-dependent shapes: run eagerly
            y = np.asarray(fn(jnp.asarray(uf), **flat), dtype=float)
        else:
            if key not in _JIT:
                _JIT[key] = jax.jit(fn)
            y = np.asarray(_JIT[key](uf, **flat), dtype=float)
    return np.broadcast_to(y, uf.shape)[:size].reshape(shape).copy()
