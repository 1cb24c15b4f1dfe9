"""The response curve: the seam between the model and the optimizer.

A :class:`Response` maps spend per period on one channel (or ad) to the expected incremental
KPI per period, for one parameter set or for ``S`` posterior draws. The curve itself is a
family from :mod:`mediamix.transforms.saturation` evaluated on *units*:

    response(spend) = family(spend / unit_price, **params)

``unit_price`` is the spend that buys one unit of the curve's input (impressions, GRPs, or
the model's scaled and adstocked media). ``params`` values are scalars or arrays of shape
``(S,)`` (posterior draws); ``unit_price`` may also be ``(S,)``. ``carryover`` is the
geometric carry-over rate per period used when planning over time (flighting): effective
input in period t is ``(1 - lam) * sum_l lam^l spend_{t-l}`` so that a constant spend ``x``
gives ``response(x)`` per period in steady state.

The optimizer never imports the model; a fitted model produces these objects, and users can
write them by hand in YAML (see :meth:`Response.from_dict`). Evaluation is float64 numpy
(the family functions of :mod:`mediamix.transforms` on numpy input); JAX is not needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mediamix.errors import SpecError
from mediamix.optimize.schema import numbers
from mediamix.schemas import number
from mediamix.transforms.saturation import SaturationFamily, get_saturation

RESPONSE_KEYS = (
    "name",
    "family",
    "params",
    "unit_price",
    "reference_spend",
    "carryover",
    "kpi_value",
)


def _as_param(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"parameter '{name}' must be finite (got {value!r})")
    return arr


@dataclass(frozen=True)
class Response:
    """Spend per period -> expected incremental KPI per period, optionally over draws."""

    name: str
    family: str
    params: Mapping[str, Any]
    unit_price: Any = 1.0
    reference_spend: float | None = None
    carryover: Any = None
    kpi_value: float = 1.0
    _fam: SaturationFamily = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fam = get_saturation(self.family)
        try:
            params = fam.complete(dict(self.params))
        except SpecError as exc:
            raise SpecError(f"channel '{self.name}': {exc}") from None
        clean = {k: _as_param(f"{self.name}.{k}", v) for k, v in params.items()}
        draws = {k: v for k, v in clean.items() if k not in fam.vector_params}
        sizes = {v.shape[0] for v in draws.values() if v.ndim == 1}
        if any(v.ndim > 1 for v in draws.values()) or len(sizes) > 1:
            raise SpecError(
                f"channel '{self.name}': parameters must be scalars or 1-D arrays of draws "
                f"of one length (got shapes { {k: v.shape for k, v in draws.items()} })"
            )
        try:
            fam.validate(clean)
        except SpecError as exc:
            raise SpecError(f"channel '{self.name}': {exc}") from None
        price = _as_param(f"{self.name}.unit_price", self.unit_price)
        if np.any(price <= 0):
            raise SpecError(
                f"channel '{self.name}': unit_price must be > 0 (got {self.unit_price})"
            )
        if self.carryover is not None:
            lam = _as_param(f"{self.name}.carryover", self.carryover)
            if np.any((lam < 0) | (lam >= 1)):
                raise SpecError(
                    f"channel '{self.name}': carryover must be in [0, 1) (got {self.carryover})"
                )
            object.__setattr__(self, "carryover", lam)
        if self.reference_spend is not None and self.reference_spend < 0:
            raise SpecError(
                f"channel '{self.name}': reference_spend must be >= 0 (got {self.reference_spend})"
            )
        object.__setattr__(self, "params", clean)
        object.__setattr__(self, "unit_price", price)
        object.__setattr__(self, "_fam", fam)

    # -- shape -----------------------------------------------------------------------------
    @property
    def n_draws(self) -> int:
        """Number of posterior draws (1 for a point curve)."""
        vector = self._fam.vector_params
        sizes = [v.shape[0] for k, v in self.params.items() if k not in vector and v.ndim]
        sizes += [self.unit_price.shape[0]] if self.unit_price.ndim else []
        return max(sizes, default=1)

    def draw_params(self) -> dict[str, np.ndarray]:
        """Parameters broadcast to shape ``(S,)`` (vector parameters, the table's points, are
        left as they are)."""
        S = self.n_draws
        vector = self._fam.vector_params
        return {k: (v if k in vector else np.broadcast_to(v, (S,))) for k, v in self.params.items()}

    def draw(self, s: int) -> Response:
        """The point curve of draw ``s``."""
        vector = self._fam.vector_params
        p = {k: (v if k in vector else float(v[s])) for k, v in self.draw_params().items()}
        price = float(np.broadcast_to(self.unit_price, (self.n_draws,))[s])
        lam = None
        if self.carryover is not None:
            lam = float(np.broadcast_to(self.carryover, (self.n_draws,))[s])
        return Response(self.name, self.family, p, price, self.reference_spend, lam, self.kpi_value)

    @property
    def family_object(self) -> SaturationFamily:
        """The registered family (formula, derivative, shape tests, cone form)."""
        return self._fam

    @property
    def is_concave(self) -> bool:
        """Concave in spend for every draw (so the convex solver path applies)."""
        return self._fam.is_concave(**self.params)

    @property
    def has_cone_form(self) -> bool:
        """Whether the convex solver has an exact cone form of this curve (else tangent cuts)."""
        return self._fam.has_cone_form(**self.params)

    def inflection_spend(self) -> np.ndarray:
        """Spend at the inflection point per draw (zeros for concave curves), shape (S,)."""
        if self._fam.inflection_fn is None:
            return np.zeros(self.n_draws)
        infl = self._fam.inflection(**self.draw_params())
        return np.broadcast_to(np.asarray(infl) * self.unit_price, (self.n_draws,)).copy()

    def plot_range(self, multiple: float = 2.0) -> float:
        """Top of a sensible spend axis: ``multiple`` x the reference spend, or, without one,
        the last table point or three times the inflection spend (1 for a flat start)."""
        top = multiple * float(self.reference_spend or 0.0)
        if top <= 0 and self._fam.x_max is not None:
            top = float(self._fam.x_max(**self.params) * np.max(self.unit_price))
        if top <= 0:
            top = 3.0 * float(np.max(self.inflection_spend())) or 1.0
        return max(top, 1e-9)

    # -- evaluation ------------------------------------------------------------------------
    def _eval(self, fn, spend) -> tuple[np.ndarray, np.ndarray]:
        """``fn(spend / price, **params)`` per draw in float64: ``(S, *spend.shape)``."""
        x = np.asarray(spend, dtype=float)
        S = self.n_draws
        lead = (S,) + (1,) * x.ndim
        price = np.broadcast_to(self.unit_price, (S,)).reshape(lead)
        vector = self._fam.vector_params
        p = {
            k: (np.asarray(v, dtype=float) if k in vector else v.reshape(lead))
            for k, v in self.draw_params().items()
        }
        units = x[None, ...] / price
        return np.asarray(fn(units, **p), dtype=float) * np.ones_like(units), price

    def __call__(self, spend) -> np.ndarray:
        """Incremental KPI per period at ``spend``, shape ``(S, *spend.shape)``."""
        y, _ = self._eval(self._fam.fn, spend)
        return y

    def mean(self, spend) -> np.ndarray:
        """Posterior-mean response (the average of the curves, never the curve of the mean)."""
        return self(spend).mean(axis=0)

    def marginal(self, spend) -> np.ndarray:
        """d KPI / d spend at ``spend``, shape ``(S, *spend.shape)``."""
        d, price = self._eval(self._fam.deriv, spend)
        return d / price

    # -- persistence -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        def plain(v):
            v = np.asarray(v)
            return v.tolist() if v.ndim else float(v)

        out: dict[str, Any] = {
            "name": self.name,
            "family": self.family,
            "params": {k: plain(v) for k, v in self.params.items()},
            "unit_price": plain(self.unit_price),
            "kpi_value": float(self.kpi_value),
        }
        if self.reference_spend is not None:
            out["reference_spend"] = float(self.reference_spend)
        if self.carryover is not None:
            out["carryover"] = plain(self.carryover)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Response:
        """Build from a plain mapping (YAML / JSON), with clear errors for unknown keys."""
        if not isinstance(d, Mapping):
            raise SpecError(f"a response must be a mapping with 'name' and 'family' (got {d!r})")
        unknown = sorted(set(d) - set(RESPONSE_KEYS))
        if unknown:
            raise SpecError(
                f"response '{d.get('name', '?')}': unknown key(s) {unknown}; "
                f"allowed: {sorted(RESPONSE_KEYS)}"
            )
        for key in ("name", "family"):
            if key not in d:
                raise SpecError(f"response {dict(d)!r} is missing '{key}'")
        where = f"response '{d['name']}'"
        params = d.get("params") or {}
        if not isinstance(params, Mapping):
            raise SpecError(f"{where} params: expected a mapping (name: value), got {params!r}")
        ref = d.get("reference_spend")
        return cls(
            name=str(d["name"]),
            family=str(d["family"]),
            params={k: numbers(v, f"{where} params.{k}") for k, v in params.items()},
            unit_price=numbers(d.get("unit_price", 1.0), f"{where} unit_price"),
            reference_spend=None if ref is None else number(ref, f"{where} reference_spend"),
            carryover=(
                None
                if d.get("carryover") is None
                else numbers(d["carryover"], f"{where} carryover")
            ),
            kpi_value=number(d.get("kpi_value", 1.0), f"{where} kpi_value"),
        )
