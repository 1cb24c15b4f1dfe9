"""Faults in optimizer problem files and the `optimize` command (the fault catalogue, area
B): every bad input is one clear error (a `SpecError` naming the key path or the limit, an
`InfeasibleError` naming the constraints), exit 2 from the CLI, and never an "optimal" plan
with a negative, infinite or NaN objective."""

import json
import math
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.cli.optimize_cmds import parse_sweep
from mediamix.errors import InfeasibleError, SpecError
from mediamix.optimize import Problem, solve, sweep
from mediamix.optimize.problem import MAX_ADSTOCK_TERMS, MAX_AMOUNT, MAX_PERIODS
from mediamix.optimize.sweep import MAX_SWEEP_POINTS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEPARTMENTS = (EXAMPLES / "optimize_departments.yaml").read_text()

CHANNELS = """
channels:
  - name: search
    response: {type: log1p, a: 20}
  - name: tv
    response: {type: michaelis_menten, beta: 60, k: 50}
  - name: radio
    response: {type: hill, beta: 40, k: 15, s: 1.0}
"""


def departments(**edits: str) -> str:
    """The departments example with ``old=new`` text edits (keys are the old text's id)."""
    text = DEPARTMENTS
    for old, new in edits.values():
        assert old in text, old
        text = text.replace(old, new)
    return text


def error(text: str, kind=SpecError) -> str:
    with pytest.raises(kind) as err:
        solve(Problem.from_yaml(text))
    assert "\n" not in str(err.value)
    return str(err.value)


def run_cli(args: list[str]):
    res = CliRunner().invoke(cli, args)
    assert "Traceback" not in res.output
    if res.exit_code not in (0, 2):  # pragma: no cover (shows the unexpected exception)
        raise AssertionError(f"exit {res.exit_code}: {res.exception!r}\n{res.output}")
    return res


# ---- keys and types ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, message",
    [
        ("budgte: 300" + CHANNELS, "problem: unknown key 'budgte'"),
        ("budget: 300" + CHANNELS.replace("{type: log1p, a: 20}",
                                          "{type: log1p, a: 20}\n    unit_prize: 2"),
         "problem.channels[0]: channel 'search': unknown key(s) unit_prize"),
    ],
)  # fmt: skip
def test_misspelt_keys_name_the_closest(text, message):
    msg = error(text)
    assert msg.startswith(message) and "Did you mean" in msg, msg


@pytest.mark.parametrize(
    "text, message",
    [
        ("budget: lots" + CHANNELS, "problem.budget: expected a number, got 'lots'"),
        ("budget: 300\nkpi_value: abc" + CHANNELS, "problem.kpi_value: expected a number, got 'abc'"),
        ("budget: 300" + CHANNELS.replace("{type: log1p, a: 20}",
                                          "{type: log1p, a: 20}\n    bounds: [ten, 80]"),
         "problem.channels[0].bounds[0]: expected a number, got 'ten'"),
        ("budget: 300" + CHANNELS.replace("beta: 40", "beta: lots"),
         "problem.channels[2].response.beta: expected a number, got 'lots'"),
        ("budget: 300\nperiods: many" + CHANNELS, "problem.periods: expected an integer, got 'many'"),
        ("budget: 300" + CHANNELS + "history: {tv: abc}", "problem.history.tv: expected a list, "
                                                          "got 'abc'"),
    ],
)  # fmt: skip
def test_wrong_types_name_the_key_path(text, message):
    assert error(text) == message


def test_cli_wrong_type_is_one_error_line(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("budget: lots" + CHANNELS)
    res = run_cli(["optimize", str(p)])
    assert res.exit_code == 2
    assert res.output == "error: problem.budget: expected a number, got 'lots'\n"


# ---- sizes ---------------------------------------------------------------------------------
def test_periods_are_bounded_before_anything_is_allocated():
    t0 = time.perf_counter()
    msg = error("budget: 300\nperiods: 100000" + CHANNELS)
    assert time.perf_counter() - t0 < 1.0
    assert msg.startswith(f"'periods' is 100000, above the limit of {MAX_PERIODS} planned periods")
    draws = ", ".join(["0.5"] * 400)
    msg = error("budget: 300\nperiods: 100" + CHANNELS.replace(
        "{type: log1p, a: 20}", f"{{type: log1p, a: 20}}\n    carryover: [{draws}]"))  # fmt: skip
    assert msg.startswith("the flighting plan is too large: 100 periods x 620 periods with the "
                          "carry-over tail x 3 channels x 400 carry-over draw(s)")  # fmt: skip
    assert f"above the limit of {MAX_ADSTOCK_TERMS:,}" in msg


def test_a_channel_name_alias_bomb_is_refused():
    lines = ['a0: &a0 "lol"'] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 8)
    ]
    text = "defs:\n" + "\n".join("  " + x for x in lines)
    text += "\nbudget: 10\nchannels:\n  - name: *a7\n    response: {type: log1p, a: 1}\n"
    t0 = time.perf_counter()
    assert "problem is refused: its aliases (*name) expand to" in error(text)
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.slow
def test_many_concave_channels_solve():
    n = 300
    chans = [
        {
            "name": f"c{i}",
            "response": {"type": "michaelis_menten", "beta": 10 + i % 7, "k": 5 + i % 11},
        }
        for i in range(n)
    ]
    plan = solve(Problem.from_dict({"budget": 10.0 * n, "channels": chans}))
    assert plan.status == "optimal" and plan.method == "convex"
    assert plan.spend_total == pytest.approx(10.0 * n, rel=1e-6)
    # equal curves get equal spend (the marginal returns are equalised)
    assert plan.allocation["c0"] == pytest.approx(plan.allocation["c77"], rel=1e-3)


# ---- budgets, bounds, values ----------------------------------------------------------------
@pytest.mark.parametrize("elastic", [True, False])
def test_a_negative_budget_is_refused_with_or_without_elastic(elastic):
    text = departments(b=("budget: 300 ", "budget: -300 "))
    if not elastic:
        text = text.replace("elastic: {penalty: 1000}", "")
    msg = error(text)
    assert msg.startswith("'budget' must be >= 0 (got -300): it is the money there is to spend")
    assert ("`elastic` lets a plan overrun a budget" in msg) == elastic


def test_a_negative_department_budget_is_an_overspend():
    # a department's budget is what it has left: hard, the problem is infeasible naming it
    text = departments(r=("rent: {budget: 100}", "rent: {budget: -100}"))
    hard = text.replace("elastic: {penalty: 1000}", "")
    assert "department 'rent' budget (-100)" in error(hard, InfeasibleError)
    # elastic: the overrun is reported and its penalty is in the objective
    plan = solve(Problem.from_yaml(text))
    rent = plan.departments["rent"]
    assert rent.budget == -100 and rent.overrun == pytest.approx(rent.spend + 100, abs=1e-4)
    over = sum(d.overrun for d in plan.departments.values())
    assert plan.objective_value == pytest.approx(plan.kpi - 1000 * over, rel=1e-6)


def test_zero_budget_with_a_floor_is_infeasible_naming_both():
    text = "budget: 0" + CHANNELS.replace("{type: log1p, a: 20}",
                                          "{type: log1p, a: 20}\n    bounds: [10, null]")  # fmt: skip
    msg = error(text, InfeasibleError)
    assert "total budget (0)" in msg and "lower bound of channel 'search' (10)" in msg


@pytest.mark.parametrize(
    "value, message",
    [
        (".inf", "'budget' must be a finite number (got inf)"),
        (".nan", "'budget' must be a finite number (got nan)"),
        ("1e300", f"'budget' is 1e+300, above the limit of {MAX_AMOUNT:g}; write money in "
                  "larger units"),
        ("2e15", "'budget' is 2e+15, above the limit"),
    ],
)  # fmt: skip
def test_budgets_must_be_finite_and_below_the_limit(value, message):
    assert error(f"budget: {value}" + CHANNELS).startswith(message)


@pytest.mark.parametrize("objective", ["profit", "kpi"])
@pytest.mark.parametrize("value", [".nan", ".inf"])
def test_kpi_value_must_be_finite(objective, value):
    text = departments(o=("objective: kpi ", f"objective: {objective} "),
                       v=("kpi_value: 1.0", f"kpi_value: {value}"))  # fmt: skip
    msg = error(text)
    assert msg.startswith(f"'kpi_value' must be a finite number (got {value[1:]})"), msg


@pytest.mark.parametrize(
    "bounds, message",
    [
        ("bounds: [90, 20]", "channel 'search': bounds must satisfy 0 <= lower <= upper (got "
                             "[90.0, 20.0])"),
        ("bounds: [-10, 80]", "channel 'search': bounds must satisfy 0 <= lower <= upper (got [-10.0, 80.0])"),
        ("bounds: [1, 2, 3]", "problem.channels[0].bounds: "),
        ("bounds: [.nan, 80]", "channel 'search': bounds must be finite numbers (got [nan, 80.0])"),
        ("bounds: [0, .nan]", "channel 'search': bounds must be finite numbers (got [0.0, nan])"),
        ("bounds: [0, 1e20]", "channel 'search': upper bound is 1e+20, above the limit"),
        ("reference_spend: 100\n    relative_bounds: [0.5, -0.5]",
         "channel 'search': bounds must satisfy 0 <= lower <= upper (got [150.0, 50.0])"),
        ("reference_spend: .nan", "channel 'search': reference_spend must be a finite number"),
        ("shares: {d: .nan}", "channel 'search': shares must be >= 0 and sum to 1 (sum is nan)"),
    ],
)  # fmt: skip
def test_bounds_must_be_ordered_finite_numbers(bounds, message):
    text = "budget: 100\ndepartments: {d: 100}" + CHANNELS.replace(
        "{type: log1p, a: 20}", "{type: log1p, a: 20}\n    " + bounds
    )
    msg = error(text)
    assert msg.startswith(message), msg


def test_an_infinite_upper_bound_is_no_bound():
    text = "budget: 100" + CHANNELS.replace(
        "{type: log1p, a: 20}", "{type: log1p, a: 20}\n    bounds: [0, .inf]"
    )
    p = Problem.from_yaml(text)
    assert p.channels[0].upper is None
    assert solve(p).objective_value == pytest.approx(
        solve(Problem.from_yaml("budget: 100" + CHANNELS)).objective_value
    )


def test_bounds_above_the_budget_are_infeasible_naming_both():
    text = "budget: 150" + CHANNELS.replace(
        "{type: log1p, a: 20}", "{type: log1p, a: 20}\n    bounds: [200, 300]"
    )
    msg = error(text, InfeasibleError)
    assert "total budget (150)" in msg and "lower bound of channel 'search' (200)" in msg


def test_a_group_floor_above_an_elastic_budget_reports_the_overrun():
    text = departments() + "groups: {media: {channels: [tv, social], min: 500}}\n"
    plan = solve(Problem.from_yaml(text))
    d = plan.to_dict()
    assert plan.spend_total == pytest.approx(500, abs=1e-3)
    total = next(c for c in d["constraints"] if c["name"] == "total budget (300)")
    assert total["value"] == pytest.approx(500, abs=1e-3) and total["rhs"] == 300
    rent = d["departments"]["rent"]
    assert rent["overrun"] == pytest.approx(rent["spend"] - 100, abs=1e-3)
    # the objective is the KPI minus the penalty on both overruns: honest, not "free" spend
    over = (plan.spend_total - 300) + sum(v["overrun"] for v in d["departments"].values())
    assert plan.objective_value == pytest.approx(plan.kpi - 1000 * over, rel=1e-5)
    assert math.isfinite(plan.objective_value)


@pytest.mark.parametrize(
    "groups, kind, message",
    [
        ("{media: {channels: [tv, search], min: 200, max: 100}}", InfeasibleError,
         "group 'media' max (100); group 'media' min (200)"),
        ("{media: {channels: [tv, radiooo]}}", SpecError,
         "group 'media' names unknown channel(s) ['radiooo']"),
        ("{media: {channels: [tv], min: .nan}}", SpecError,
         "group 'media' min must be a finite number (got nan)"),
        ("{media: {channels: [tv], max: -5}}", SpecError, "group 'media' max must be >= 0"),
    ],
)  # fmt: skip
def test_group_limits(groups, kind, message):
    assert message in error("budget: 300" + CHANNELS + f"groups: {groups}\n", kind)


@pytest.mark.parametrize(
    "edit, message",
    [
        (("{type: log1p, a: 20}", "null"), "problem.channels[0].response: "),
        (("type: log1p", "type: logp1"), "unknown saturation family 'logp1'"),
        (("s: 1.0", "z: 1.0"), "response family 'hill' takes parameters"),
        (("k: 50", "k: -60"), "parameter 'k' must be > 0"),
        (("{type: log1p, a: 20}", "{type: log1p, a: 20}\n    unit_price: 0"),
         "unit_price must be > 0"),
    ],
)  # fmt: skip
def test_responses_name_the_family_and_parameter(edit, message):
    assert message in error("budget: 300" + CHANNELS.replace(*edit))


@pytest.mark.parametrize(
    "text, message",
    [
        ("budget: 300\ndepartments: {a: 100, b: 200}" + CHANNELS.replace(
            "{type: log1p, a: 20}", "{type: log1p, a: 20}\n    shares: {a: 0.3, b: 0.4}"),
         "channel 'search': shares must be >= 0 and sum to 1 (sum is 0.7)"),
        ("budget: 300\ndepartments: {a: 100}" + CHANNELS.replace(
            "{type: log1p, a: 20}", "{type: log1p, a: 20}\n    shares: {zz: 1}"),
         "channel 'search': shares name unknown department(s) ['zz']"),
        ("budget: 300" + CHANNELS.replace("name: radio", "name: tv"),
         "channel names must be unique; repeated: ['tv']"),
        ("budget: 300\nchannels: []", "problem.channels: "),
    ],
)  # fmt: skip
def test_shares_departments_and_channel_lists(text, message):
    assert error(text).startswith(message)


def test_an_unreachable_kpi_target_is_infeasible_naming_the_reach():
    text = "objective: min_spend\nkpi_target: 100000" + CHANNELS.replace(
        "{type: log1p, a: 20}", "{type: log1p, a: 20}\n    bounds: [0, 100]"
    )
    msg = error(text, InfeasibleError)
    # log1p at 100 + michaelis_menten and hill at most their beta (60 + 40)
    reach = 20 * math.log1p(100) + 60 + 40
    assert msg.startswith(f"the KPI target 100000 is out of reach: the response curves give at "
                          f"most {reach:.4g} in all")  # fmt: skip
    assert "Fix: lower 'kpi_target'" in msg
    ok = solve(Problem.from_yaml(text.replace("kpi_target: 100000", "kpi_target: 150")))
    assert ok.status == "optimal" and ok.kpi == pytest.approx(150, rel=1e-3)
    # the departments example: one clear reason, not the solver's garbled clause
    p = departments(o=("objective: kpi ", "objective: min_spend\nkpi_target: 100000 "))
    msg = error(p.replace("elastic: {penalty: 1000}", ""), InfeasibleError)
    assert msg.startswith("the KPI target 100000 is out of reach: the response curves give at "
                          "most 179.5 in all")  # fmt: skip
    assert "(or the KPI target" not in msg


@pytest.mark.parametrize(
    "extra, message",
    [
        ("alpha: 2", "'alpha' (CVaR level) must be in (0, 1] (got 2.0)"),
        ("gap: 0", "'gap_tol' must be > 0"),
        ("elastic: 1000", "problem.elastic: "),
        ("elastic: {penalty: -5}", "elastic penalty must be a finite number > 0 (got -5.0)"),
        ("elastic: {penalty: .inf}", "elastic penalty must be a finite number > 0 (got inf)"),
        ("kpi_target: .nan\nobjective: min_spend", "'kpi_target' must be a finite number >= 0"),
        ("base: .nan", "'base' must be a finite number > 0"),
        ("history: {tv: [1, .nan]}", "history of channel 'tv', value 1 must be a finite number"),
    ],
)
def test_solver_options_are_checked(extra, message):
    msg = error("budget: 300\n" + extra + CHANNELS)
    assert msg.startswith(message), msg


@pytest.mark.parametrize(
    "points, message",
    [
        ("[1, 2, 3]", "table points must be a list of [spend, kpi] pairs"),
        ("[[0, 0], [50, 10], [0, 20]]", "table response: x values must increase"),
    ],
)
def test_table_points(points, message):
    text = f"budget: 100\nchannels:\n  - name: t\n    response: {{type: table, points: {points}}}\n"
    assert message in error(text)


# ---- the optimize command: sweeps and output paths ---------------------------------------------
def test_a_sweep_is_capped_before_any_budget_is_built():
    t0 = time.perf_counter()
    with pytest.raises(SpecError) as err:
        parse_sweep("1:1000000:1")
    assert str(err.value) == (
        f"--sweep 1:1000000:1 has 1,000,000 budgets, above the limit of {MAX_SWEEP_POINTS} "
        "(each budget is one solve); use a larger step"
    )
    with pytest.raises(SpecError, match=r"has 1e\+300 budgets, above the limit"):
        parse_sweep("0:1e300:1")
    assert time.perf_counter() - t0 < 0.5
    assert len(parse_sweep(f"0:{MAX_SWEEP_POINTS - 1}:1")) == MAX_SWEEP_POINTS
    with pytest.raises(SpecError, match=rf"the sweep has {MAX_SWEEP_POINTS + 1} budgets"):
        sweep(Problem.from_yaml("budget: 100" + CHANNELS), range(MAX_SWEEP_POINTS + 1))


@pytest.mark.parametrize(
    "text, message",
    [
        ("abc", "--sweep must look like FROM:TO:STEP, e.g. 100:500:50 (got 'abc')"),
        ("300:100:50", "--sweep needs STEP > 0 and TO >= FROM (got '300:100:50')"),
        ("0:100:0", "--sweep needs STEP > 0 and TO >= FROM (got '0:100:0')"),
        ("-100:100:50", "--sweep budgets must be >= 0 (got FROM = -100 in '-100:100:50')"),
    ],
)
def test_bad_sweeps_say_the_form(text, message):
    with pytest.raises(SpecError) as err:
        parse_sweep(text)
    assert str(err.value) == message


def test_cli_sweep_cap_exits_2_fast():
    t0 = time.perf_counter()
    res = run_cli(
        ["optimize", str(EXAMPLES / "optimize_departments.yaml"), "--sweep", "1:1000000:1"]
    )
    assert res.exit_code == 2 and f"above the limit of {MAX_SWEEP_POINTS}" in res.output
    assert time.perf_counter() - t0 < 5


def test_cli_output_into_a_missing_folder_exits_2_naming_it(tmp_path):
    missing = tmp_path / "nope" / "p.json"
    for opt in ("-o", "--plot"):
        args = ["optimize", str(EXAMPLES / "optimize_departments.yaml"), opt, str(missing)]
        if opt == "--plot":
            args += ["--sweep", "100:300:100"]
        res = run_cli(args)
        assert res.exit_code == 2, res.output
        name = "--output" if opt == "-o" else "--plot"
        assert res.output.startswith(
            f"error: {name} {missing}: the folder '{missing.parent}' does not exist. Fix: create it"
        ), res.output
    out = tmp_path / "p.json"
    res = run_cli(["optimize", str(EXAMPLES / "optimize_departments.yaml"), "--format", "json",
                   "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0 and json.loads(out.read_text())["status"] == "optimal"


@pytest.mark.parametrize(
    "edit, needle",
    [
        (("budget: 300 ", "budget: -300 "), "'budget' must be >= 0"),
        (("kpi_value: 1.0", "kpi_value: .inf"), "'kpi_value' must be a finite number"),
        (("budget: 300 ", "budget: 1e300 "), "above the limit of 1e+15"),
        (("bounds: [0, null]", "bounds: [.nan, 80]"), "bounds must be finite numbers"),
        (("budget: 300 ", "budget: 300\nperiods: 100000\n"), "above the limit of 520"),
        (("budget: 300 ", "budget: lots "), "problem.budget: expected a number, got 'lots'"),
    ],
)
def test_cli_never_prints_a_garbage_optimum(edit, needle, tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(DEPARTMENTS.replace(*edit))
    res = run_cli(["optimize", str(p), "--format", "json"])
    assert res.exit_code == 2 and res.output.startswith("error: ") and needle in res.output
