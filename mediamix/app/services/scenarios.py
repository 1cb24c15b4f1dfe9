"""Saved scenarios: side by side, and exported as a CSV table or a problem YAML file."""

from __future__ import annotations

import csv
import io
from typing import Any

from mediamix.app.services.planning import PLAN_COLUMNS, plan_rows, summarised_problem
from mediamix.app.store import Scenario


def compare_scenarios(scenarios: list[Scenario]) -> dict[str, Any]:
    """Saved scenarios side by side: totals per scenario and spend per channel."""
    channels: list[str] = []
    for s in scenarios:
        for ch in s.problem.get("channels") or []:
            if isinstance(ch, dict) and ch.get("name") not in channels:
                channels.append(ch.get("name"))
    cols = []
    for s in scenarios:
        plan = s.plan or {}
        cols.append(
            {
                "id": s.id,
                "name": s.name,
                "run_id": s.run_id,
                "budget": s.problem.get("budget"),
                "objective": s.problem.get("objective"),
                "kpi": plan.get("kpi"),
                "spend_total": plan.get("spend_total"),
                "status": plan.get("status"),
            }
        )
    allocation = {
        name: [((s.plan or {}).get("allocation") or {}).get(name) for s in scenarios]
        for name in channels
    }
    return {"scenarios": cols, "channels": channels, "allocation": allocation}


#: first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (it starts with = + - @, a tab or a
    line break) gets a leading apostrophe, so it shows as the text it is; numbers stay."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def scenario_csv(scenario: Scenario) -> str:
    """The plan of a scenario as a CSV table, one row per channel (`PLAN_COLUMNS`); text
    cells are made spreadsheet-safe (`spreadsheet_safe`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(PLAN_COLUMNS)
    for row in plan_rows(scenario.problem, scenario.plan):
        writer.writerow(
            [spreadsheet_safe(row[c]) if row[c] is not None else "" for c in PLAN_COLUMNS]
        )
    return buf.getvalue()


def scenario_yaml(scenario: Scenario, exact: bool = False) -> str:
    """The problem of a scenario as a YAML file that `mediamix optimize` reads as it is.

    By default a readable file: each curve given per posterior draw is summarised by its
    parameters' means over the draws (a header comment names those channels and how to get
    the exact file); ``exact=True``: the stored problem with every draw, which solves to the
    plan that was saved."""
    import yaml

    name = str(scenario.name).replace("\n", " ")
    text = f"# scenario {name!r}: mediamix optimize scenario-{scenario.id}.yaml\n"
    problem = scenario.problem
    if not exact:
        problem, summarised = summarised_problem(problem)
        if summarised:
            listed = ", ".join(f"{c} ({n} draws)" for c, n in summarised.items())
            text += (
                f"# readable copy: the curves of {listed} are given by their parameters' means\n"
                "# over the posterior draws, so plans and intervals from this file can differ a\n"
                f"# little from the saved plan. The exact problem, every draw:\n"
                f"#   GET /api/scenarios/{scenario.id}/export.yaml?exact=true\n"
            )
    return text + yaml.safe_dump(problem, sort_keys=False)
