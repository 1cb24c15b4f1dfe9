"""The closed loop: allocate, observe, refit -- on a simulated world.

``simulate(env, "thompson", seed=1)``:

1. the history: ``env.history`` periods on the ``initial`` split, each channel jittered by
   ``+-history_jitter`` per period; the world returns their KPI (with noise);
2. the model (`LoopModel`, the mediamix MMM) is fitted on the history;
3. each decision period t: the guard-rails are set from the last split; the policy splits the
   budget; the world returns the KPI (with noise); every ``refit_every`` periods the model is
   refitted on everything observed so far (warm-started).

Regret in period t is the oracle plan's expected KPI minus the policy's (noise-free, each
on its own spend path, carry-over included); the total regret is their sum.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mediamix.errors import SpecError
from mediamix.loop import world
from mediamix.loop.env import Environment
from mediamix.loop.policies import guard_rails, make_policy
from mediamix.loop.refit import LoopEngine, LoopModel, RefitSettings

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LoopResult:
    """One loop's record. Arrays are per decision period (``P``) and channel (``C``)."""

    policy: str
    seed: int
    names: tuple[str, ...]
    allocations: np.ndarray  # (P, C)
    expected_kpi: np.ndarray  # (P,) the policy's, noise-free
    oracle_by_period: np.ndarray  # (P,) the oracle plan's, noise-free
    observed_kpi: np.ndarray  # (P,) what the world returned
    method: str | None = None
    refit_every: int | None = None
    refit_seconds: tuple[float, ...] = ()
    seconds: float = 0.0
    max_move: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def regret_by_period(self) -> np.ndarray:
        return self.oracle_by_period - self.expected_kpi

    @property
    def total_kpi(self) -> float:
        return float(self.expected_kpi.sum())

    @property
    def oracle_kpi(self) -> float:
        return float(self.oracle_by_period.sum())

    @property
    def regret(self) -> float:
        return float(self.regret_by_period.sum())

    @property
    def seconds_per_period(self) -> float:
        return self.seconds / max(len(self.expected_kpi), 1)

    def to_dict(self) -> dict[str, Any]:
        from mediamix.jsonable import jsonable

        return jsonable(
            {
                "policy": self.policy,
                "seed": self.seed,
                "total_kpi": self.total_kpi,
                "oracle_kpi": self.oracle_kpi,
                "regret": self.regret,
                "regret_by_period": self.regret_by_period.tolist(),
                "allocations": [dict(zip(self.names, map(float, a))) for a in self.allocations],
                "observed_kpi": self.observed_kpi.tolist(),
                "method": self.method,
                "refit_every": self.refit_every,
                "max_move": self.max_move,
                "refits": len(self.refit_seconds),
                "refit_seconds": list(self.refit_seconds),
                "seconds": self.seconds,
                "seconds_per_period": self.seconds_per_period,
                **self.info,
            }
        )


def true_curves(env: Environment):
    """The world's steady-state curves (what the oracle plans on)."""
    return [c.steady_curve() for c in env.channels]


def oracle_path(env: Environment, max_move: float | None = None) -> np.ndarray:
    """The oracle's splits ``(P, C)``: the same for every seed (it never looks at data)."""
    policy = make_policy("oracle", true_curves(env))
    lo, hi = env.bounds()
    prev = env.initial
    out = np.zeros((env.periods, env.n))
    for t in range(env.periods):
        rails = guard_rails(prev, env.budget, lo, hi, _move(env, max_move), env.names)
        out[t] = prev = policy.decide(rails, None, None)
    return out


def _move(env: Environment, max_move: float | None) -> float | None:
    return env.max_move if max_move is None else max_move


def period_kpi(env: Environment, history: np.ndarray, splits: np.ndarray) -> np.ndarray:
    """Expected KPI of the decision periods ``(P,)`` after ``history``, noise-free."""
    path = np.concatenate([history, splits], axis=0)
    return world.expected_kpi(env, path)[len(history) :]


def simulate(
    env: Environment,
    policy: str = "thompson",
    seed: int = 1,
    *,
    refit_every: int = 4,
    method: str = "svi",
    settings: RefitSettings | None = None,
    max_move: float | None = None,
    engine: LoopEngine | None = None,
    oracle: np.ndarray | None = None,
    progress: Progress | None = None,
) -> LoopResult:
    """Run one closed loop (see the module docstring); ``engine`` (a `LoopEngine` of this
    world) and ``oracle`` (`oracle_path`) can be shared by many loops."""
    if isinstance(refit_every, bool) or not isinstance(refit_every, int) or refit_every < 1:
        raise SpecError(f"refit_every must be a positive integer (got {refit_every!r})")
    t_start = time.perf_counter()
    pol = make_policy(policy, true_curves(env))
    move = _move(env, max_move)
    history = world.history_spend(env, seed)
    eps = world.noise(env, seed)
    H = env.history
    hist_kpi = world.expected_kpi(env, history) + eps[:H]
    rng = world.policy_rng(seed)
    lo, hi = env.bounds()
    if oracle is None:
        oracle = oracle_path(env, move)
    model = None
    posterior = None
    refit_seconds: list[float] = []
    if pol.needs_model:
        if engine is None:
            settings = settings or RefitSettings(method=method)
            if settings.method != method:
                settings = RefitSettings(**{**asdict(settings), "method": method})
            engine = LoopEngine(env.names, env.initial, H, env.periods, settings,
                                max_lag=env.max_lag)  # fmt: skip
        elif engine.length != H + env.periods or engine.names != env.names:
            raise SpecError("the loop engine was made for another world (names or length)")
        settings = engine.settings
        model = LoopModel(engine, history, hist_kpi, seed=seed)
        posterior = model.refit()
        refit_seconds.append(posterior.seconds)
    splits = np.zeros((env.periods, env.n))
    observed = np.zeros(env.periods)
    prev = env.initial
    for t in range(env.periods):
        if model is not None and t > 0 and t % refit_every == 0:
            posterior = model.refit()
            refit_seconds.append(posterior.seconds)
        rails = guard_rails(prev, env.budget, lo, hi, move, env.names)
        x = pol.decide(rails, posterior, rng)
        splits[t] = prev = x
        # the KPI of period t depends on the path so far (carry-over), never on later spend
        y_t = world.expected_kpi(env, np.concatenate([history, splits[: t + 1]]))[-1]
        observed[t] = y_t + eps[H + t]
        if model is not None:
            model.observe(x, observed[t])
        if progress is not None:
            progress(t + 1, env.periods)
    expected = period_kpi(env, history, splits)
    oracle_kpi = period_kpi(env, history, oracle)
    return LoopResult(
        policy=policy,
        seed=int(seed),
        names=tuple(env.names),
        allocations=splits,
        expected_kpi=expected,
        oracle_by_period=oracle_kpi,
        observed_kpi=observed,
        method=settings.method if model is not None else None,
        refit_every=refit_every if model is not None else None,
        refit_seconds=tuple(refit_seconds),
        seconds=time.perf_counter() - t_start,
        max_move=move,
    )
