"""Value distributions named by a short text spec, e.g. ``beta:2:5`` or ``lognormal:0:0.5``.

The spec names a distribution on [0, inf) (or a sub-interval such as [0, 1]) and returns a
frozen ``scipy.stats`` distribution. The same spec is used by the CLI, the campaign simulator
and the tests, so ``uniform:0:2`` means the same thing everywhere.

| spec | distribution | parameters (defaults) |
| --- | --- | --- |
| ``uniform[:lo:hi]`` | uniform on [lo, hi] | lo = 0, hi = 1 |
| ``beta:a:b[:scale]`` | scale * Beta(a, b) on [0, scale] | scale = 1 |
| ``lognormal:mu:sigma`` | exp(N(mu, sigma^2)) | mu = 0, sigma = 1 |
| ``exponential[:rate]`` | Exponential with mean 1 / rate | rate = 1 |
| ``gamma:shape[:scale]`` | Gamma(shape, scale) | scale = 1 |
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mediamix.errors import SpecError

_FORMS = {
    "uniform": "uniform[:lo:hi]",
    "beta": "beta:a:b[:scale]",
    "lognormal": "lognormal:mu:sigma",
    "exponential": "exponential[:rate]",
    "gamma": "gamma:shape[:scale]",
}


@dataclass(frozen=True)
class ValueDistribution:
    """A parsed spec: its name, numeric parameters and the frozen scipy distribution."""

    spec: str
    name: str
    params: tuple[float, ...]
    dist: object  # scipy.stats frozen distribution

    @property
    def lower(self) -> float:
        """Lower end of the support."""
        return float(self.dist.support()[0])

    @property
    def upper(self) -> float:
        """Upper end of the support (inf for unbounded)."""
        return float(self.dist.support()[1])

    @property
    def is_uniform(self) -> bool:
        return self.name == "uniform"

    def cdf(self, x):
        return self.dist.cdf(x)

    def ppf(self, q):
        return self.dist.ppf(q)

    def sample(self, size, rng):
        """Draw values with an explicit ``numpy.random.Generator``."""
        return self.dist.rvs(size=size, random_state=rng)


def _numbers(spec: str, name: str, raw: list[str]) -> list[float]:
    out = []
    for i, text in enumerate(raw):
        try:
            value = float(text)
        except ValueError:
            raise SpecError(
                f"distribution spec {spec!r}: parameter {i + 1} of {name!r} is {text!r}, "
                f"not a number; write it as {_FORMS[name]}"
            ) from None
        if not math.isfinite(value):
            raise SpecError(
                f"distribution spec {spec!r}: parameter {i + 1} of {name!r} must be finite, "
                f"got {text!r}"
            )
        out.append(value)
    return out


def parse_distribution(spec: str) -> ValueDistribution:
    """Parse ``NAME[:P1[:P2...]]`` into a :class:`ValueDistribution`; raise SpecError if bad."""
    from scipy import stats

    if not isinstance(spec, str) or not spec.strip():
        raise SpecError("distribution spec is empty; use one of " + ", ".join(_FORMS.values()))
    parts = [p.strip() for p in spec.strip().split(":")]
    name = parts[0].lower()
    if name not in _FORMS:
        raise SpecError(
            f"distribution spec {spec!r}: unknown distribution {parts[0]!r}; "
            "use one of " + ", ".join(_FORMS.values())
        )
    p = _numbers(spec, name, parts[1:])

    def arity(lo: int, hi: int) -> None:
        if not lo <= len(p) <= hi:
            want = f"{lo}" if lo == hi else f"{lo} to {hi}"
            raise SpecError(
                f"distribution spec {spec!r}: {name!r} takes {want} parameters, got {len(p)}; "
                f"write it as {_FORMS[name]}"
            )

    def positive(i: int, label: str) -> None:
        if p[i] <= 0:
            raise SpecError(
                f"distribution spec {spec!r}: {label} of {name!r} must be > 0, got {p[i]:g}"
            )

    if name == "uniform":
        if len(p) == 1:
            raise SpecError(
                f"distribution spec {spec!r}: 'uniform' takes 0 or 2 parameters (lo and hi); "
                "write it as uniform:0:2"
            )
        arity(0, 2)
        lo, hi = (p[0], p[1]) if p else (0.0, 1.0)
        if lo < 0:
            raise SpecError(
                f"distribution spec {spec!r}: values must be >= 0, so lo must be >= 0, got {lo:g}"
            )
        if hi <= lo:
            raise SpecError(
                f"distribution spec {spec!r}: hi ({hi:g}) must be greater than lo ({lo:g})"
            )
        dist = stats.uniform(loc=lo, scale=hi - lo)
        params = (lo, hi)
    elif name == "beta":
        arity(2, 3)
        positive(0, "a")
        positive(1, "b")
        scale = p[2] if len(p) == 3 else 1.0
        if len(p) == 3:
            positive(2, "scale")
        dist = stats.beta(p[0], p[1], scale=scale)
        params = (p[0], p[1], scale)
    elif name == "lognormal":
        arity(0, 2)
        if len(p) == 1:
            raise SpecError(
                f"distribution spec {spec!r}: 'lognormal' takes mu and sigma; "
                "write it as lognormal:0:0.5"
            )
        mu, sigma = (p[0], p[1]) if p else (0.0, 1.0)
        if sigma <= 0:
            raise SpecError(
                f"distribution spec {spec!r}: sigma of 'lognormal' must be > 0, got {sigma:g}"
            )
        dist = stats.lognorm(s=sigma, scale=math.exp(mu))
        params = (mu, sigma)
    elif name == "exponential":
        arity(0, 1)
        rate = p[0] if p else 1.0
        if p:
            positive(0, "rate")
        dist = stats.expon(scale=1.0 / rate)
        params = (rate,)
    else:  # gamma
        arity(1, 2)
        positive(0, "shape")
        scale = p[1] if len(p) == 2 else 1.0
        if len(p) == 2:
            positive(1, "scale")
        dist = stats.gamma(p[0], scale=scale)
        params = (p[0], scale)
    return ValueDistribution(spec=spec, name=name, params=params, dist=dist)
