"""The true world of an `Environment`: the expected KPI of a spend path and noisy draws of it.

Expected KPI in period t of a spend path ``x (T, C)``::

    E[y_t] = baseline + sum_c f_c(A_c,t),    A_c,t = sum_l w_c,l x_c,t-l

with ``f_c`` the channel's true response and ``w_c`` its adstock weights. Before the path
starts every channel ran at its ``initial`` spend (the carry-over is in steady state when the
history begins). Observed KPI: ``y_t = E[y_t] + noise_sd * eps_t``.

The random streams of one seed are separate (history split, KPI noise, the policy's own draws),
so every policy run with one seed sees the same history and the same noise.
"""

from __future__ import annotations

import numpy as np

from mediamix.loop.env import Environment
from mediamix.transforms.adstock import apply_weights

HISTORY_STREAM, NOISE_STREAM, POLICY_STREAM = 0, 1, 2


def weights(env: Environment) -> np.ndarray:
    """The adstock weights of every channel, zero-padded to the longest lag: ``(C, L)``."""
    L = env.max_lag
    w = np.zeros((env.n, L))
    for i, c in enumerate(env.channels):
        w[i, : len(c.weights)] = c.weights
    return w


def adstocked(env: Environment, spend: np.ndarray) -> np.ndarray:
    """Adstocked spend ``(T, C)`` of a path ``spend (T, C)`` that follows the initial split."""
    x = np.asarray(spend, dtype=float)
    w = weights(env)
    pre = np.broadcast_to(env.initial, (w.shape[1] - 1, env.n))
    full = np.concatenate([pre, x], axis=0)
    return apply_weights(full, w)[w.shape[1] - 1 :]


def media_kpi(env: Environment, spend: np.ndarray) -> np.ndarray:
    """Each channel's expected incremental KPI per period, ``(T, C)``."""
    a = adstocked(env, spend)
    return np.stack([c.curve(a[:, i])[0] for i, c in enumerate(env.channels)], axis=1)


def expected_kpi(env: Environment, spend: np.ndarray) -> np.ndarray:
    """Noise-free expected KPI per period of a spend path, ``(T,)``."""
    return env.baseline + media_kpi(env, spend).sum(axis=1)


def steady_kpi(env: Environment, split: np.ndarray) -> float:
    """Expected KPI per period once a constant split has run long enough (no carry-in)."""
    split = np.asarray(split, dtype=float)
    return env.baseline + float(
        sum(c.steady_curve()(np.array([split[i]]))[0, 0] for i, c in enumerate(env.channels))
    )


def history_spend(env: Environment, seed: int) -> np.ndarray:
    """The history's spend ``(history, C)``: ``initial`` times ``U(1 - j, 1 + j)`` per period
    and channel (``j`` = ``history_jitter``)."""
    rng = np.random.default_rng([int(seed), HISTORY_STREAM])
    j = env.history_jitter
    return env.initial * rng.uniform(1 - j, 1 + j, size=(env.history, env.n))


def noise(env: Environment, seed: int) -> np.ndarray:
    """The KPI noise of every period, history then decisions: ``(history + periods,)``."""
    rng = np.random.default_rng([int(seed), NOISE_STREAM])
    return env.noise_sd * rng.standard_normal(env.history + env.periods)


def policy_rng(seed: int) -> np.random.Generator:
    """The policy's own random stream (posterior draws) for ``seed``."""
    return np.random.default_rng([int(seed), POLICY_STREAM])
