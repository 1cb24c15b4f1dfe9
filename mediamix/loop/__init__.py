"""The learning loop: allocate, observe, refit -- explore while earning.

``Environment.from_yaml(path)`` reads a simulated world (`mediamix.loop.env`);
``simulate(env, policy, seed)`` runs the closed loop on it (`mediamix.loop.runner`) and
returns a `LoopResult` (regret against the oracle plan per period); ``next_split(run_dir,
budget)`` plans a real run's next period and records it (`mediamix.loop.live`). Policies:
`mediamix.loop.policies`; the model inside the loop: `mediamix.loop.refit`.
"""

from mediamix.loop.env import Environment
from mediamix.loop.policies import POLICIES, GuardRails, guard_rails
from mediamix.loop.refit import LoopEngine, RefitSettings
from mediamix.loop.runner import LoopResult, oracle_path, simulate

__all__ = [
    "POLICIES",
    "Environment",
    "GuardRails",
    "LoopEngine",
    "LoopResult",
    "RefitSettings",
    "guard_rails",
    "oracle_path",
    "simulate",
]
