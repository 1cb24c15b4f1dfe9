"""mediamix.fleet: one model per group (market, brand, ...), fitted on one machine or on Ray.

``fit_many(data, out, by=["market"], engine="local" | "ray" | "sequential", ...)`` writes
one run folder per group plus ``fleet.csv`` (one row per group: status ok | failed |
not_converged, message, fit seconds, convergence, review) and ``fleet_roas.csv`` (every
group's ROAS with intervals); see :mod:`mediamix.fleet.runner`. The engines are in
:mod:`mediamix.fleet.engines`; Ray is imported only by the Ray engine (the ``fleet`` extra).
The comparison page is ``mediamix.report.fleet.write_fleet_report(out)``.
"""

from __future__ import annotations

from mediamix.fleet.groups import Group, make_groups, safe_name, unique_names
from mediamix.fleet.runner import FleetResult, FleetStatus, fit_many

__all__ = ["FleetResult", "FleetStatus", "Group", "fit_many", "make_groups", "safe_name",
           "unique_names"]  # fmt: skip
