"""Saturation (response) families: spend (or units) -> incremental KPI.

Pure ``jax.numpy`` elementwise functions that broadcast: ``x`` of shape ``(..., T, C)`` or
``(..., C)`` with parameters broadcastable to it (for posterior draws of a per-channel
parameter against ``(T, C)`` media, pass ``p[:, None, :]``). Each family also
has its closed-form derivative (used for marginal returns) and knows whether it is concave on
``x >= 0`` for given parameter values (used by the optimizer to pick a solver path).

This module is the single source of truth for these formulas: the model, the analysis, the
optimizer, the report and the web page all call these functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from mediamix.errors import SpecError, did_you_mean

Array = jnp.ndarray


def _pos(x):
    """Clamp at zero so that fractional powers of tiny negative round-off stay finite."""
    return jnp.maximum(jnp.asarray(x), 0.0)


def log1p(x, a, scale=1.0):
    """``a * log(1 + x / scale)``: concave for a >= 0."""
    return a * jnp.log1p(_pos(x) / scale)


def log1p_deriv(x, a, scale=1.0):
    return a / (scale + _pos(x))


def power(x, a, alpha):
    """``a * x ** alpha``: concave for 0 < alpha <= 1."""
    return a * jnp.power(_pos(x), alpha)


def power_deriv(x, a, alpha):
    x = _pos(x)
    safe = jnp.where(x > 0, x, 1.0)
    d = a * alpha * jnp.power(safe, alpha - 1.0)
    return jnp.where(x > 0, d, jnp.where(alpha < 1, jnp.inf, a * alpha * (alpha == 1)))


def hill(x, beta, k, s):
    """``beta * x^s / (x^s + k^s)``: concave for s <= 1, S-shaped for s > 1."""
    x = _pos(x)
    # Written as 1 / (1 + (k/x)^s) on x > 0 for stability with large s.
    safe = jnp.where(x > 0, x, 1.0)
    frac = 1.0 / (1.0 + jnp.power(k / safe, s))
    return beta * jnp.where(x > 0, frac, 0.0)


def hill_deriv(x, beta, k, s):
    x = _pos(x)
    safe = jnp.where(x > 0, x, 1.0)
    f = 1.0 / (1.0 + jnp.power(k / safe, s))
    d = beta * s * f * (1.0 - f) / safe
    at0 = jnp.where(s < 1, jnp.inf, jnp.where(s == 1, beta / k, 0.0))
    return jnp.where(x > 0, d, at0)


def logistic(x, beta, lam):
    """``beta * (1 - exp(-lam x)) / (1 + exp(-lam x)) = beta * tanh(lam x / 2)``: concave."""
    return beta * jnp.tanh(lam * _pos(x) / 2.0)


def logistic_deriv(x, beta, lam):
    t = jnp.tanh(lam * _pos(x) / 2.0)
    return beta * lam / 2.0 * (1.0 - t**2)


def _sigma(z):
    return 1.0 / (1.0 + jnp.exp(-z))


def sigmoid(x, beta, r, m):
    """``beta * (1/(1 + exp(-r (x - m))) - 1/(1 + exp(r m)))``: zero at x = 0, S-shaped if m > 0."""
    return beta * (_sigma(r * (_pos(x) - m)) - _sigma(-r * m))


def sigmoid_deriv(x, beta, r, m):
    sg = _sigma(r * (_pos(x) - m))
    return beta * r * sg * (1.0 - sg)


def exponential(x, beta, k):
    """``beta * (1 - exp(-k x))``: concave."""
    return beta * (-jnp.expm1(-k * _pos(x)))


def exponential_deriv(x, beta, k):
    return beta * k * jnp.exp(-k * _pos(x))


def michaelis_menten(x, beta, k):
    """``beta * x / (k + x)``: concave (Hill with s = 1)."""
    x = _pos(x)
    return beta * x / (k + x)


def michaelis_menten_deriv(x, beta, k):
    return beta * k / (k + _pos(x)) ** 2


def table(x, xs, ys):
    """Monotone piecewise-linear interpolation of user points ``(xs, ys)``.

    Linear interpolation of monotone points is itself monotone; beyond the last point the
    response stays flat (saturated); below the first point it is interpolated from (0, 0)
    when the first point is not at zero.
    """
    xs, ys = _table_points(xs, ys)
    return jnp.interp(_pos(x), xs, ys)


def table_deriv(x, xs, ys):
    xs, ys = _table_points(xs, ys)
    slopes = jnp.diff(ys) / jnp.diff(xs)
    idx = jnp.clip(jnp.searchsorted(xs, _pos(x), side="right") - 1, 0, slopes.shape[0] - 1)
    inside = _pos(x) < xs[-1]
    return jnp.where(inside, slopes[idx], 0.0)


def _table_points(xs, ys):
    xs = jnp.asarray(xs, dtype=float)
    ys = jnp.asarray(ys, dtype=float)
    if xs.ndim != 1 or xs.shape != ys.shape or xs.shape[0] < 1:
        raise SpecError(
            "table response: 'xs' and 'ys' must be two 1-D lists of the same length "
            f"(got shapes {tuple(xs.shape)} and {tuple(ys.shape)})"
        )
    if float(xs[0]) > 0:
        xs = jnp.concatenate([jnp.zeros(1), xs])
        ys = jnp.concatenate([jnp.zeros(1), ys])
    return xs, ys


def validate_table(xs, ys) -> None:
    """Raise a clear SpecError unless the points are increasing in x and non-decreasing in y."""
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    if xs.ndim != 1 or xs.shape != ys.shape or xs.size < 2:
        raise SpecError("table response needs at least two (x, y) points of equal length")
    bad = np.nonzero(np.diff(xs) <= 0)[0]
    if bad.size:
        i = int(bad[0]) + 1
        raise SpecError(
            f"table response: x values must increase; point {i} has x={xs[i]} after {xs[i - 1]}"
        )
    bad = np.nonzero(np.diff(ys) < 0)[0]
    if bad.size:
        i = int(bad[0]) + 1
        raise SpecError(
            f"table response: y values must not decrease (a response is monotone); point {i} "
            f"has y={ys[i]} after {ys[i - 1]}"
        )
    if xs[0] < 0:
        raise SpecError(f"table response: x values must be >= 0 (first x is {xs[0]})")


def _table_is_concave(xs, ys) -> bool:
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    if xs[0] > 0:
        xs = np.concatenate([[0.0], xs])
        ys = np.concatenate([[0.0], ys])
    slopes = np.diff(ys) / np.diff(xs)
    return bool(np.all(np.diff(slopes) <= 1e-12 * max(1.0, float(np.max(np.abs(slopes))))))


def hill_inflection(k, s):
    """Spend where the Hill curve turns from convex to concave: k ((s-1)/(s+1))^(1/s)."""
    k = np.asarray(k, dtype=float)
    s = np.asarray(s, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = k * np.power(np.clip((s - 1.0) / (s + 1.0), 0.0, None), 1.0 / s)
    return np.where(s > 1, v, 0.0)


@dataclass(frozen=True)
class SaturationFamily:
    """One response family: its formula, derivative, parameter names and shape test."""

    name: str
    params: tuple[str, ...]
    fn: Callable[..., Array]
    deriv: Callable[..., Array]
    concave_test: Callable[..., bool]
    inflection_fn: Callable[..., np.ndarray] | None = None
    defaults: tuple[tuple[str, float], ...] = ()
    amplitude: str = "beta"  # the parameter the response scales with linearly
    x_params: tuple[str, ...] = ()  # parameters measured in units of x
    inv_x_params: tuple[str, ...] = ()  # parameters measured in units of 1 / x

    def __call__(self, x, **params):
        return self.fn(x, **params)

    def is_concave(self, **params) -> bool:
        """True when the response is concave on x >= 0 for these (all) parameter values."""
        return bool(self.concave_test(**params))

    def inflection(self, **params) -> np.ndarray:
        """Spend at the inflection point (0 for concave curves)."""
        if self.inflection_fn is None:
            return np.zeros(np.broadcast(*[np.asarray(v) for v in params.values()]).shape)
        return self.inflection_fn(**params)

    def rescale(self, params: dict, x_scale: float, y_scale: float) -> dict:
        """Parameters of the same curve in scaled units ``x' = x / x_scale``, ``y' = y / y_scale``.

        The result ``p'`` satisfies ``f(x / x_scale; p') = f(x; p) / y_scale``.
        """
        p = dict(params)
        xs, ys = float(x_scale), float(y_scale)
        if self.name == "power":  # a x^alpha = a x_scale^alpha (x / x_scale)^alpha
            p["a"] = p["a"] * xs ** p["alpha"] / ys
            return p
        if self.name == "table":
            p["xs"] = np.asarray(p["xs"], dtype=float) / xs
            p["ys"] = np.asarray(p["ys"], dtype=float) / ys
            return p
        p[self.amplitude] = p[self.amplitude] / ys
        for name in self.x_params:
            p[name] = p[name] / xs
        for name in self.inv_x_params:
            p[name] = p[name] * xs
        return p

    def complete(self, params: dict) -> dict:
        """Fill defaults and check that exactly the family's parameters are given."""
        out = dict(self.defaults)
        out.update(params)
        missing = [p for p in self.params if p not in out]
        extra = [p for p in out if p not in self.params]
        if missing or extra:
            raise SpecError(
                f"response family '{self.name}' takes parameters {list(self.params)}; "
                + (f"missing {missing}" if missing else "")
                + ("; " if missing and extra else "")
                + (f"unknown {extra}" if extra else "")
            )
        return out


def _all(cond) -> bool:
    return bool(np.all(np.asarray(cond)))


SATURATIONS: dict[str, SaturationFamily] = {
    f.name: f
    for f in [
        SaturationFamily(
            "log1p",
            ("a", "scale"),
            log1p,
            log1p_deriv,
            lambda a, scale=1.0: _all(np.asarray(a) >= 0),
            defaults=(("scale", 1.0),),
            amplitude="a",
            x_params=("scale",),
        ),
        SaturationFamily(
            "power",
            ("a", "alpha"),
            power,
            power_deriv,
            lambda a, alpha: _all((np.asarray(alpha) <= 1) & (np.asarray(a) >= 0)),
            amplitude="a",
        ),
        SaturationFamily(
            "hill",
            ("beta", "k", "s"),
            hill,
            hill_deriv,
            lambda beta, k, s: _all(np.asarray(s) <= 1),
            lambda beta, k, s: hill_inflection(k, s),
            x_params=("k",),
        ),
        SaturationFamily(
            "logistic",
            ("beta", "lam"),
            logistic,
            logistic_deriv,
            lambda **_: True,
            inv_x_params=("lam",),
        ),
        SaturationFamily(
            "sigmoid",
            ("beta", "r", "m"),
            sigmoid,
            sigmoid_deriv,
            lambda beta, r, m: _all(np.asarray(m) <= 0),
            lambda beta, r, m: np.maximum(np.asarray(m, dtype=float), 0.0),
            x_params=("m",),
            inv_x_params=("r",),
        ),
        SaturationFamily(
            "exponential",
            ("beta", "k"),
            exponential,
            exponential_deriv,
            lambda **_: True,
            inv_x_params=("k",),
        ),
        SaturationFamily(
            "michaelis_menten",
            ("beta", "k"),
            michaelis_menten,
            michaelis_menten_deriv,
            lambda **_: True,
            x_params=("k",),
        ),
        SaturationFamily(
            "table",
            ("xs", "ys"),
            table,
            table_deriv,
            lambda xs, ys: _table_is_concave(xs, ys),
            amplitude="ys",
        ),
    ]
}


def get_saturation(name: str) -> SaturationFamily:
    """Look a family up by name, with a clear error listing the known names."""
    try:
        return SATURATIONS[name]
    except KeyError:
        raise SpecError(
            f"unknown saturation family '{name}'; known: {', '.join(SATURATIONS)}."
            + did_you_mean(name, SATURATIONS)
        ) from None
