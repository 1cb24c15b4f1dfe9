"""mediamix.optimize: budget allocation with a certified optimum and an explanation.

``solve(Problem) -> Plan``. Concave curves go to a convex program (cvxpy + Clarabel);
S-shaped ones to a global branch and bound over concave envelopes. See the README.
"""

from mediamix.optimize.explain import sweep
from mediamix.optimize.plan import Plan
from mediamix.optimize.problem import Channel, Group, Problem
from mediamix.optimize.response import Response
from mediamix.optimize.solver import solve

__all__ = ["Channel", "Group", "Plan", "Problem", "Response", "solve", "sweep"]
