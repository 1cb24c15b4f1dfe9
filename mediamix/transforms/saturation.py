"""Saturation (response) families: spend (or units) -> incremental KPI.

Each family is one :class:`SaturationFamily` object in one registry (:data:`SATURATIONS`,
extended with :func:`register_saturation`). It carries everything the rest of the package
needs to know about the curve:

- ``fn`` and ``deriv``: the formula and its closed-form derivative, elementwise functions
  that broadcast: ``x`` of shape ``(..., T, C)`` or ``(..., C)`` with parameters
  broadcastable to it (for posterior draws of a per-channel parameter against ``(T, C)``
  media, pass ``p[:, None, :]``). They run on numpy arrays (float64) and on JAX arrays or
  tracers alike (see :mod:`mediamix.transforms.arrays`);
- ``concave_test``: whether the curve is concave on ``x >= 0`` for given parameters (the
  optimizer's choice of solver path) and ``inflection_fn`` for S-shaped curves;
- ``priors``: default priors of the shape parameters on scaled media (mean 1 per channel),
  as ``{param: {dist: ..., **dist_params}}`` (the model turns them into ``Prior`` objects);
- ``cone``: the disciplined-convex (cone) form used by the convex solver, or ``None``;
- ``simulate``: how the simulator draws the shape parameters;
- ``description``: the one-line formula and shape shown to users.

This module is the single source of truth for these formulas: the model, the analysis, the
optimizer, the report and the web page all call these functions. Importing it does not
import JAX (nor cvxpy: cone forms import it when they are built).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mediamix.errors import SpecError, did_you_mean
from mediamix.transforms.arrays import asarray, namespace, quiet


def _pos(xp, x):
    """Clamp at zero so that fractional powers of tiny negative round-off stay finite."""
    return xp.maximum(asarray(xp, x), 0.0)


# ---- the formulas --------------------------------------------------------------------------
@quiet
def log1p(x, a, scale=1.0):
    """``a * log(1 + x / scale)``: concave for a >= 0."""
    xp = namespace(x, a, scale)
    return a * xp.log1p(_pos(xp, x) / scale)


@quiet
def log1p_deriv(x, a, scale=1.0):
    """``a / (scale + x)``."""
    xp = namespace(x, a, scale)
    return a / (scale + _pos(xp, x))


@quiet
def power(x, a, alpha):
    """``a * x ** alpha``: concave for 0 < alpha <= 1."""
    xp = namespace(x, a, alpha)
    return a * xp.power(_pos(xp, x), alpha)


@quiet
def power_deriv(x, a, alpha):
    """``a alpha x^(alpha - 1)``; at ``x = 0``: ``inf`` for alpha < 1, ``a`` for alpha = 1."""
    xp = namespace(x, a, alpha)
    x = _pos(xp, x)
    safe = xp.where(x > 0, x, 1.0)
    d = a * alpha * xp.power(safe, alpha - 1.0)
    return xp.where(x > 0, d, xp.where(alpha < 1, xp.inf, a * alpha * (alpha == 1)))


@quiet
def hill(x, beta, k, s):
    """``beta * x^s / (x^s + k^s)``: concave for s <= 1, S-shaped for s > 1."""
    xp = namespace(x, beta, k, s)
    x = _pos(xp, x)
    # Written as 1 / (1 + (k/x)^s) on x > 0 for stability with large s.
    safe = xp.where(x > 0, x, 1.0)
    frac = 1.0 / (1.0 + xp.power(k / safe, s))
    return beta * xp.where(x > 0, frac, 0.0)


@quiet
def hill_deriv(x, beta, k, s):
    """``beta s f (1 - f) / x`` with ``f = x^s / (x^s + k^s)``; at 0: inf, beta / k or 0."""
    xp = namespace(x, beta, k, s)
    x = _pos(xp, x)
    safe = xp.where(x > 0, x, 1.0)
    f = 1.0 / (1.0 + xp.power(k / safe, s))
    d = beta * s * f * (1.0 - f) / safe
    at0 = xp.where(s < 1, xp.inf, xp.where(s == 1, beta / k, 0.0))
    return xp.where(x > 0, d, at0)


@quiet
def logistic(x, beta, lam):
    """``beta * (1 - exp(-lam x)) / (1 + exp(-lam x)) = beta * tanh(lam x / 2)``: concave."""
    xp = namespace(x, beta, lam)
    return beta * xp.tanh(lam * _pos(xp, x) / 2.0)


@quiet
def logistic_deriv(x, beta, lam):
    """``beta lam / 2 * (1 - tanh(lam x / 2)^2)``."""
    xp = namespace(x, beta, lam)
    t = xp.tanh(lam * _pos(xp, x) / 2.0)
    return beta * lam / 2.0 * (1.0 - t**2)


def _sigma(xp, z):
    return 1.0 / (1.0 + xp.exp(-z))


@quiet
def sigmoid(x, beta, r, m):
    """``beta * (1/(1 + exp(-r (x - m))) - 1/(1 + exp(r m)))``: zero at x = 0, S-shaped if m > 0."""
    xp = namespace(x, beta, r, m)
    return beta * (_sigma(xp, r * (_pos(xp, x) - m)) - _sigma(xp, -r * m))


@quiet
def sigmoid_deriv(x, beta, r, m):
    """``beta r g (1 - g)`` with ``g = 1 / (1 + exp(-r (x - m)))``."""
    xp = namespace(x, beta, r, m)
    sg = _sigma(xp, r * (_pos(xp, x) - m))
    return beta * r * sg * (1.0 - sg)


@quiet
def exponential(x, beta, k):
    """``beta * (1 - exp(-k x))``: concave."""
    xp = namespace(x, beta, k)
    return beta * (-xp.expm1(-k * _pos(xp, x)))


@quiet
def exponential_deriv(x, beta, k):
    """``beta k exp(-k x)``."""
    xp = namespace(x, beta, k)
    return beta * k * xp.exp(-k * _pos(xp, x))


@quiet
def michaelis_menten(x, beta, k):
    """``beta * x / (k + x)``: concave (Hill with s = 1)."""
    xp = namespace(x, beta, k)
    x = _pos(xp, x)
    return beta * x / (k + x)


@quiet
def michaelis_menten_deriv(x, beta, k):
    """``beta k / (k + x)^2``."""
    xp = namespace(x, beta, k)
    return beta * k / (k + _pos(xp, x)) ** 2


@quiet
def table(x, xs, ys):
    """Monotone piecewise-linear interpolation of user points ``(xs, ys)``.

    Linear interpolation of monotone points is itself monotone; beyond the last point the
    response stays flat (saturated); below the first point it is interpolated from (0, 0)
    when the first point is not at zero.
    """
    xp = namespace(x, xs, ys)
    xs, ys = _table_points(xp, xs, ys)
    return xp.interp(_pos(xp, x), xs, ys)


@quiet
def table_deriv(x, xs, ys):
    """The slope of the segment that holds ``x`` (0 beyond the last point)."""
    xp = namespace(x, xs, ys)
    xs, ys = _table_points(xp, xs, ys)
    slopes = xp.diff(ys) / xp.diff(xs)
    u = _pos(xp, x)
    idx = xp.clip(xp.searchsorted(xs, u, side="right") - 1, 0, slopes.shape[0] - 1)
    inside = u < xs[-1]
    return xp.where(inside, slopes[idx], 0.0)


def _table_points(xp, xs, ys):
    xs = asarray(xp, xs)
    ys = asarray(xp, ys)
    if xs.ndim != 1 or xs.shape != ys.shape or xs.shape[0] < 1:
        raise SpecError(
            "table response: 'xs' and 'ys' must be two 1-D lists of the same length "
            f"(got shapes {tuple(xs.shape)} and {tuple(ys.shape)})"
        )
    if float(xs[0]) > 0:
        xs = xp.concatenate([xp.zeros(1), xs])
        ys = xp.concatenate([xp.zeros(1), ys])
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


def _table_with_origin(xs, ys) -> tuple[np.ndarray, np.ndarray]:
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    if xs[0] > 0:
        xs = np.concatenate([[0.0], xs])
        ys = np.concatenate([[0.0], ys])
    return xs, ys


def _table_is_concave(xs, ys) -> bool:
    xs, ys = _table_with_origin(xs, ys)
    slopes = np.diff(ys) / np.diff(xs)
    return bool(np.all(np.diff(slopes) <= 1e-12 * max(1.0, float(np.max(np.abs(slopes))))))


def hill_inflection(k, s):
    """Spend where the Hill curve turns from convex to concave: k ((s-1)/(s+1))^(1/s)."""
    k = np.asarray(k, dtype=float)
    s = np.asarray(s, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = k * np.power(np.clip((s - 1.0) / (s + 1.0), 0.0, None), 1.0 / s)
    return np.where(s > 1, v, 0.0)


# ---- cone forms for the convex solver -----------------------------------------------------
@dataclass(frozen=True)
class ConeTerm:
    """One piece of a family's disciplined-convex form over ``E`` curve elements.

    ``expr`` is a concave cvxpy expression of the units ``u`` (shape ``(E,)``, or
    ``(len(rows),)`` when ``rows`` picks a subset of the elements); ``log`` is a concave form
    of ``log(expr)`` when the family has a better one than ``cvxpy.log(expr)`` (used by
    ``combine: multiplicative``); ``constraints`` are extra cvxpy constraints (epigraph
    variables).
    """

    expr: Any
    rows: np.ndarray | None = None
    log: Any = None
    constraints: tuple = ()


def _log1p_cone(u, p):
    import cvxpy as cp

    return [ConeTerm(cp.multiply(p["a"], cp.log1p(cp.multiply(1 / p["scale"], u))))]


def _power_cone(u, p):
    """``a * u^alpha`` (alpha <= 1), one term per distinct alpha; ``log = log a + alpha log u``."""
    import cvxpy as cp

    terms = []
    E = p["alpha"].shape[0]
    for alpha in np.unique(p["alpha"]):
        J = np.nonzero(p["alpha"] == alpha)[0]
        uj = u[J] if J.size < E else u
        a = p["a"][J]
        if alpha == 1:
            e = cp.multiply(a, uj)
        else:
            e = cp.multiply(a, cp.power(uj, float(alpha), approx=False))
        la = np.log(np.maximum(a, 1e-300))
        log = la + float(alpha) * cp.log(uj) if alpha != 0 else la
        terms.append(ConeTerm(e, None if J.size == E else J, log))
    return terms


def _exponential_cone(u, p):
    import cvxpy as cp

    return [ConeTerm(p["beta"] - cp.multiply(p["beta"], cp.exp(cp.multiply(-p["k"], u))))]


def _michaelis_menten_cone(u, p):
    """``beta - beta k / (k + u)``."""
    import cvxpy as cp

    return [ConeTerm(p["beta"] - cp.multiply(p["beta"] * p["k"], cp.inv_pos(p["k"] + u)))]


def _hill_cone(u, p):
    """Hill with ``s = 1`` is Michaelis-Menten (other slopes have none, see ``cone_test``)."""
    return _michaelis_menten_cone(u, {"beta": p["beta"], "k": p["k"]})


def _table_cone(u, p):
    """A concave table is the minimum of its segments' lines (exact): an epigraph variable."""
    import cvxpy as cp

    xs, ys = _table_with_origin(p["xs"], p["ys"])
    v = cp.Variable(u.shape[0])
    slopes = np.diff(ys) / np.diff(xs)
    cons = [v <= ys[k] + slopes[k] * (u - xs[k]) for k in range(slopes.size)]
    cons.append(v <= ys[-1])
    return [ConeTerm(v, constraints=tuple(cons))]


# ---- the family object ----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SaturationFamily:
    """One response family: formula, derivative, shape, priors, cone form and simulator.

    ``params`` lists the parameter names in call order; ``defaults`` fills optional ones.
    ``amplitude`` is the parameter the response scales with linearly (``f(x; c p) = c f(x; p)``
    in it); ``x_params`` are measured in units of x and ``inv_x_params`` in units of 1 / x
    (used by :meth:`rescale`); ``positive`` must be > 0; ``vector_params`` are lists of
    points rather than one value per posterior draw (the ``table``).
    """

    name: str
    params: tuple[str, ...]
    fn: Callable[..., Any]
    deriv: Callable[..., Any]
    concave_test: Callable[..., bool] | None = None
    inflection_fn: Callable[..., np.ndarray] | None = None
    defaults: tuple[tuple[str, float], ...] = ()
    amplitude: str = "beta"
    x_params: tuple[str, ...] = ()
    inv_x_params: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
    vector_params: tuple[str, ...] = ()
    priors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cone: Callable[[Any, dict], list[ConeTerm]] | None = None
    cone_test: Callable[..., bool] | None = None
    simulate: Callable[[np.random.Generator, np.ndarray, np.ndarray], dict] | None = None
    rescale_fn: Callable[[dict, float, float], dict] | None = None
    check: Callable[..., None] | None = None
    x_max: Callable[..., float] | None = None
    description: str = ""

    def __call__(self, x, **params):
        return self.fn(x, **params)

    def is_concave(self, **params) -> bool:
        """True when the response is concave on x >= 0 for these (all) parameter values.

        A family without a concavity test counts as not concave (the global solver path,
        which is correct for any curve, is used).
        """
        if self.concave_test is None:
            return False
        return bool(self.concave_test(**params))

    def inflection(self, **params) -> np.ndarray:
        """Spend at the inflection point (0 for concave curves)."""
        if self.inflection_fn is None:
            draws = [np.asarray(v) for k, v in params.items() if k not in self.vector_params]
            return np.zeros(np.broadcast(*draws).shape if draws else ())
        return self.inflection_fn(**params)

    def has_cone_form(self, **params) -> bool:
        """Whether the convex solver has an exact cone form for these parameters (``cone``
        exists and ``cone_test``, when given, holds; e.g. ``hill`` only for ``s = 1``)."""
        if self.cone is None:
            return False
        return self.cone_test is None or bool(self.cone_test(**params))

    def cone_form(self, u, params: dict) -> list[ConeTerm] | None:
        """The cvxpy form of the curve at units ``u`` (shape ``(E,)``) with parameters flattened
        to one value per element (vector parameters as they are); ``None`` when there is none
        (the solver then uses tangent cuts)."""
        if not self.has_cone_form(**params):
            return None
        return self.cone(u, params)

    def rescale(self, params: dict, x_scale: float, y_scale: float) -> dict:
        """Parameters of the same curve in scaled units ``x' = x / x_scale``, ``y' = y / y_scale``.

        The result ``p'`` satisfies ``f(x / x_scale; p') = f(x; p) / y_scale``.
        """
        if self.rescale_fn is not None:
            return self.rescale_fn(dict(params), float(x_scale), float(y_scale))
        p = dict(params)
        xs, ys = float(x_scale), float(y_scale)
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

    def validate(self, params: Mapping[str, np.ndarray]) -> None:
        """Value checks of complete parameters: positivity, then the family's own check."""
        for key in self.positive:
            if key in params and np.any(np.asarray(params[key]) <= 0):
                raise SpecError(
                    f"parameter '{key}' must be > 0 (got min {float(np.min(params[key]))})"
                )
        if self.check is not None:
            self.check(**params)


def _all(cond) -> bool:
    return bool(np.all(np.asarray(cond)))


def _gamma(concentration: float, rate: float) -> dict[str, Any]:
    return {"dist": "gamma", "concentration": concentration, "rate": rate}


def _beta(c1: float, c0: float) -> dict[str, Any]:
    return {"dist": "beta", "concentration1": c1, "concentration0": c0}


def _rescale_power(p: dict, xs: float, ys: float) -> dict:
    """``a x^alpha = a x_scale^alpha (x / x_scale)^alpha``."""
    p["a"] = p["a"] * xs ** p["alpha"] / ys
    return p


def _rescale_table(p: dict, xs: float, ys: float) -> dict:
    p["xs"] = np.asarray(p["xs"], dtype=float) / xs
    p["ys"] = np.asarray(p["ys"], dtype=float) / ys
    return p


# Shape parameters drawn by the simulator relative to ``m``, the typical adstocked spend per
# channel, with ``u ~ U(0.5, 1.5)`` per channel drawn by the caller (same stream for all).
def _sim_hill(rng, m, u):
    return {"k": m * u, "s": rng.uniform(0.8, 2.5, len(m))}


def _sim_logistic(rng, m, u):
    return {"lam": 1.2 * u / m}


def _sim_sigmoid(rng, m, u):
    n = len(m)
    return {"r": rng.uniform(2.0, 5.0, n) / m, "m": m * rng.uniform(0.3, 1.0, n)}


def _sim_exponential(rng, m, u):
    return {"k": 1.2 * u / m}


def _sim_michaelis_menten(rng, m, u):
    return {"k": m * u}


def _sim_log1p(rng, m, u):
    return {"scale": m * rng.uniform(0.2, 1.0, len(m))}


def _sim_power(rng, m, u):
    return {"alpha": rng.uniform(0.3, 0.8, len(m))}


SATURATIONS: dict[str, SaturationFamily] = {}


def register_saturation(family: SaturationFamily, *, replace: bool = False) -> SaturationFamily:
    """Add a family to the registry so that every part of the package can use it by name.

    The family's ``fn`` / ``deriv`` should work on numpy arrays (the optimizer evaluates in
    float64 numpy) and, to be used in the model, on JAX arrays too (pick the namespace with
    :func:`mediamix.transforms.arrays.namespace`). Returns the family.
    """
    if not isinstance(family, SaturationFamily):
        raise TypeError(f"register_saturation expects a SaturationFamily (got {family!r})")
    if family.name in SATURATIONS and not replace:
        raise SpecError(
            f"saturation family '{family.name}' is already registered; pass replace=True "
            "to replace it"
        )
    names = set(family.params)
    bad = [p for p in (family.amplitude, *dict(family.defaults), *family.priors) if p not in names]
    bad += [p for p in (*family.x_params, *family.inv_x_params, *family.positive) if p not in names]
    if bad:
        raise SpecError(
            f"saturation family '{family.name}': {sorted(set(bad))} are not among its "
            f"parameters {list(family.params)}"
        )
    SATURATIONS[family.name] = family
    return family


for _family in [
    SaturationFamily(
        "log1p",
        ("a", "scale"),
        log1p,
        log1p_deriv,
        lambda a, scale=1.0: _all(np.asarray(a) >= 0),
        defaults=(("scale", 1.0),),
        amplitude="a",
        x_params=("scale",),
        positive=("scale",),
        priors={"scale": _gamma(2.0, 2.0)},
        cone=_log1p_cone,
        simulate=_sim_log1p,
        description="a * log(1 + x / scale): concave",
    ),
    SaturationFamily(
        "power",
        ("a", "alpha"),
        power,
        power_deriv,
        lambda a, alpha: _all((np.asarray(alpha) <= 1) & (np.asarray(a) >= 0)),
        amplitude="a",
        priors={"alpha": _beta(2.0, 2.0)},
        cone=_power_cone,
        simulate=_sim_power,
        rescale_fn=_rescale_power,
        description="a * x^alpha: concave for alpha <= 1",
    ),
    SaturationFamily(
        "hill",
        ("beta", "k", "s"),
        hill,
        hill_deriv,
        lambda beta, k, s: _all(np.asarray(s) <= 1),
        lambda beta, k, s: hill_inflection(k, s),
        x_params=("k",),
        positive=("k",),
        priors={"k": _gamma(4.0, 4.0), "s": _gamma(6.0, 4.0)},
        cone=_hill_cone,
        cone_test=lambda beta, k, s: _all(np.asarray(s) == 1),
        simulate=_sim_hill,
        description="beta * x^s / (x^s + k^s): concave for s <= 1, S-shaped for s > 1",
    ),
    SaturationFamily(
        "logistic",
        ("beta", "lam"),
        logistic,
        logistic_deriv,
        lambda **_: True,
        inv_x_params=("lam",),
        positive=("lam",),
        priors={"lam": _gamma(3.0, 2.0)},
        simulate=_sim_logistic,
        description="beta * (1 - exp(-lam x)) / (1 + exp(-lam x)): concave",
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
        positive=("r",),
        priors={"r": _gamma(3.0, 1.0), "m": _gamma(2.0, 2.0)},
        simulate=_sim_sigmoid,
        description="beta * (1/(1 + exp(-r (x - m))) - 1/(1 + exp(r m))): S-shaped for m > 0",
    ),
    SaturationFamily(
        "exponential",
        ("beta", "k"),
        exponential,
        exponential_deriv,
        lambda **_: True,
        inv_x_params=("k",),
        positive=("k",),
        priors={"k": _gamma(2.0, 1.0)},
        cone=_exponential_cone,
        simulate=_sim_exponential,
        description="beta * (1 - exp(-k x)): concave",
    ),
    SaturationFamily(
        "michaelis_menten",
        ("beta", "k"),
        michaelis_menten,
        michaelis_menten_deriv,
        lambda **_: True,
        x_params=("k",),
        positive=("k",),
        priors={"k": _gamma(2.0, 2.0)},
        cone=_michaelis_menten_cone,
        simulate=_sim_michaelis_menten,
        description="beta * x / (k + x): concave (hill with s = 1)",
    ),
    SaturationFamily(
        "table",
        ("xs", "ys"),
        table,
        table_deriv,
        lambda xs, ys: _table_is_concave(xs, ys),
        amplitude="ys",
        vector_params=("xs", "ys"),
        cone=_table_cone,
        rescale_fn=_rescale_table,
        check=validate_table,
        x_max=lambda xs, ys: float(np.max(xs)),
        description="monotone interpolation of given (x, y) points: as the data",
    ),
]:
    register_saturation(_family)
del _family


def get_saturation(name: str) -> SaturationFamily:
    """Look a family up by name, with a clear error listing the known names."""
    try:
        return SATURATIONS[name]
    except KeyError:
        raise SpecError(
            f"unknown saturation family '{name}'; known: {', '.join(SATURATIONS)}."
            + did_you_mean(name, SATURATIONS)
        ) from None
