"""The policies of the loop: how each decision period's budget is split, within guard-rails.

Every policy plans one period at a time with the project's certified optimizer
(`mediamix.optimize.solve`) on steady-state response curves (spend per period -> KPI per
period once the carry-over has built up), under the period's guard-rails as channel bounds:

- ``oracle``: the true curves of the world (the benchmark of regret);
- ``greedy``: the posterior mean -- the expected KPI over every posterior draw;
- ``thompson``: one joint posterior draw per decision, planned for as if it were the truth
  (posterior sampling: where the model is unsure, some draws say "more" and get tried);
- ``optimistic``: explores on purpose -- ``K`` posterior draws, each planned for, and the plan
  whose own draw promises the most is taken (optimism in the face of uncertainty; ``K = 1``
  is Thompson);
- ``fixed``: the historical split, scaled to the budget.

Guard-rails (`guard_rails`): per-channel bounds ``[lower, upper]`` and a maximum move per
period: channel c may spend at most ``max_move * max(ref_c, MIN_MOVE_SHARE * budget)`` more or
less than its reference ``ref_c`` (the last period's split scaled to this budget), so a
channel at zero can still start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mediamix.errors import InfeasibleError, SpecError, did_you_mean
from mediamix.optimize import Channel, Problem, Response, solve

POLICIES = ("thompson", "greedy", "optimistic", "fixed", "oracle")
MODEL_POLICIES = ("thompson", "greedy", "optimistic")
MIN_MOVE_SHARE = 0.05
OPTIMISTIC_DRAWS = 3


@dataclass(frozen=True)
class GuardRails:
    """One period's limits: ``lower (C,)``, ``upper (C,)``, the ``reference (C,)`` split and the
    ``budget``."""

    lower: np.ndarray
    upper: np.ndarray
    reference: np.ndarray
    budget: float

    def contains(self, split: np.ndarray, rtol: float = 1e-6) -> bool:
        """Whether ``split`` keeps the bounds and spends the budget (to ``rtol`` of it)."""
        tol = rtol * self.budget
        x = np.asarray(split, dtype=float)
        return bool(
            np.all(x >= self.lower - tol)
            and np.all(x <= self.upper + tol)
            and abs(x.sum() - self.budget) <= 10 * tol
        )


def guard_rails(
    previous: np.ndarray,
    budget: float,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    max_move: float | None = None,
    names: Sequence[str] | None = None,
) -> GuardRails:
    """The period's bounds from the last split, the channel bounds and the maximum move."""
    prev = np.asarray(previous, dtype=float)
    C = len(prev)
    names = list(names or [f"channel {i}" for i in range(C)])
    if not budget > 0:
        raise SpecError(f"budget must be > 0 (got {budget!r})")
    if prev.sum() <= 0:
        raise SpecError("the previous split spends nothing; give a reference split")
    ref = prev * float(budget) / prev.sum()
    lo = np.zeros(C) if lower is None else np.asarray(lower, dtype=float)
    hi = np.full(C, np.inf) if upper is None else np.asarray(upper, dtype=float)
    lo2, hi2 = lo.copy(), hi.copy()
    if max_move is not None:
        if not max_move > 0:
            raise SpecError(f"max_move must be > 0, e.g. 0.2 for +-20% (got {max_move!r})")
        move = float(max_move) * np.maximum(ref, MIN_MOVE_SHARE * float(budget))
        lo2 = np.maximum(lo, ref - move)
        hi2 = np.minimum(hi, ref + move)
        lo2 = np.minimum(lo2, hi)  # a reference above its upper bound: down to the bound
        hi2 = np.maximum(hi2, lo)  # below its lower bound: up to the bound
        lo2 = np.minimum(lo2, hi2)
    lo2 = np.maximum(lo2, 0.0)
    if lo2.sum() > budget * (1 + 1e-9):
        raise InfeasibleError(
            f"the guard-rails ask for at least {lo2.sum():,.0f} in all, above the budget "
            f"{budget:,.0f}; lower the channel bounds ({', '.join(names)}) or raise max_move"
        )
    if hi2.sum() < budget * (1 - 1e-9):
        raise InfeasibleError(
            f"the guard-rails allow at most {hi2.sum():,.0f} in all, below the budget "
            f"{budget:,.0f}; raise the channel bounds or max_move"
        )
    return GuardRails(lo2, hi2, ref, float(budget))


def plan_split(curves: Sequence[Response], rails: GuardRails) -> tuple[np.ndarray, float]:
    """The optimizer's split for ``curves`` within ``rails``: ``(split (C,), its KPI)``.

    The KPI is the plan's expected incremental KPI per period under ``curves`` (the average
    over their draws)."""
    chans = []
    for i, r in enumerate(curves):
        r = replace(r, reference_spend=float(rails.reference[i]))
        up = None if not np.isfinite(rails.upper[i]) else float(rails.upper[i])
        chans.append(Channel(r, float(rails.lower[i]), up))
    plan = solve(Problem(tuple(chans), budget=rails.budget))
    x = np.array([plan.allocation[r.name] for r in curves], dtype=float)
    x = np.clip(x, rails.lower, rails.upper)
    return x, float(plan.kpi)


class Policy:
    """A rule that splits one period's budget (``decide``); ``needs_model``: it reads the
    posterior of the loop's model."""

    name = ""
    needs_model = False
    #: what the last decision drew (the posterior draw it planned for), for the loop's log
    info: dict[str, Any] = {}

    def decide(self, rails: GuardRails, posterior: Any, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


class Fixed(Policy):
    """Keep the historical split (the reference, scaled to the budget)."""

    name = "fixed"

    def decide(self, rails, posterior, rng):
        return np.clip(rails.reference, rails.lower, rails.upper)


class Oracle(Policy):
    """Plan on the true steady-state curves."""

    name = "oracle"

    def __init__(self, curves: Sequence[Response]) -> None:
        self.curves = list(curves)

    def decide(self, rails, posterior, rng):
        return plan_split(self.curves, rails)[0]


class Greedy(Policy):
    """Plan for the posterior mean (the expected KPI over all draws)."""

    name = "greedy"
    needs_model = True

    def decide(self, rails, posterior, rng):
        return plan_split(list(posterior.responses), rails)[0]


class Thompson(Policy):
    """Plan for one joint posterior draw, drawn anew every decision."""

    name = "thompson"
    needs_model = True

    def decide(self, rails, posterior, rng):
        s = int(rng.integers(posterior.n_draws))
        self.info = {"draw": s}
        return plan_split(posterior.draw(s), rails)[0]


class Optimistic(Policy):
    """The best of ``k`` Thompson plans, each scored under its own draw."""

    name = "optimistic"
    needs_model = True

    def __init__(self, k: int = OPTIMISTIC_DRAWS) -> None:
        self.k = int(k)

    def decide(self, rails, posterior, rng):
        best, best_kpi, chosen = None, -np.inf, -1
        tried = rng.choice(posterior.n_draws, size=min(self.k, posterior.n_draws), replace=False)
        for s in tried:
            x, kpi = plan_split(posterior.draw(int(s)), rails)
            if kpi > best_kpi:
                best, best_kpi, chosen = x, kpi, int(s)
        self.info = {"draw": chosen, "draws_tried": [int(s) for s in tried]}
        return best


def make_policy(name: str, true_curves: Sequence[Response] | None = None) -> Policy:
    """The policy of a name (``oracle`` needs the world's true curves)."""
    if name == "oracle":
        if true_curves is None:
            raise SpecError("policy 'oracle' plans on the true curves: only in a simulation")
        return Oracle(true_curves)
    table = {"thompson": Thompson, "greedy": Greedy, "optimistic": Optimistic, "fixed": Fixed}
    if name not in table:
        raise SpecError(
            f"policy must be one of {', '.join(POLICIES)} (got {name!r})."
            + did_you_mean(str(name), POLICIES)
        )
    return table[name]()
