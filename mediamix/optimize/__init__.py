"""mediamix.optimize: budget allocation with a certified optimum and an explanation.

``solve(Problem) -> Plan`` in four steps (select -> solve -> certify -> explain). Concave
curves go to a convex program (cvxpy + Clarabel); S-shaped ones to a global branch and bound
over concave envelopes. ``sweep`` gives the efficient frontier. Needs neither JAX nor the
model: curves are :class:`Response` objects evaluated in float64 numpy. See the README.
"""

from mediamix.optimize.plan import Plan
from mediamix.optimize.problem import Channel, Group, Problem
from mediamix.optimize.response import Response
from mediamix.optimize.solver import solve
from mediamix.optimize.sweep import sweep

__all__ = ["Channel", "Group", "Plan", "Problem", "Response", "solve", "sweep"]
