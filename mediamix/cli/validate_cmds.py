"""CLI commands: `mediamix validate` (the validation battery) and `mediamix design-test`
(the experiment designer)."""

from __future__ import annotations

import json
import sys

import click

from mediamix.errors import SpecError


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_alternative(text: str) -> dict:
    """``"saturation=logistic,trend=none"`` -> ``{"saturation": "logistic", "trend": "none"}``
    (values read as YAML scalars: numbers and true/false become numbers and booleans)."""
    import yaml

    out = {}
    for part in _split(text) or []:
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise SpecError(
                f"--alt {text!r}: expected KEY=VALUE[,KEY=VALUE], e.g. --alt saturation=logistic"
            )
        try:
            out[key.strip()] = yaml.safe_load(value.strip())
        except yaml.YAMLError:
            out[key.strip()] = value.strip()
    if not out:
        raise SpecError("--alt: expected KEY=VALUE[,KEY=VALUE], e.g. --alt saturation=logistic")
    return out


def _numbers(text: str, option: str) -> list[float]:
    out = []
    for v in _split(text) or []:
        try:
            out.append(float(v))
        except ValueError:
            raise SpecError(f"{option}: {v!r} is not a number (give e.g. {option} 2,4,8)") from None
    if not out:
        raise SpecError(f"{option}: give at least one number, e.g. {option} 2,4,8")
    return out


@click.command("validate")
@click.argument("run_dir", type=click.Path())
@click.option("--folds", default=4, show_default=True, type=click.IntRange(min=1),
              help="cross-validation folds (refits)")  # fmt: skip
@click.option("--horizon", default=8, show_default=True, type=click.IntRange(min=1),
              help="periods each fold forecasts (and the comparison's hold-out)")  # fmt: skip
@click.option("--method", type=click.Choice(["svi", "nuts"]), default="svi", show_default=True,
              help="sampler of the refits (svi: 2000 steps; nuts: 2 chains x 300 draws)")  # fmt: skip
@click.option("--placebo-method", type=click.Choice(["svi", "nuts"]), default="nuts",
              show_default=True, help="sampler of the placebo refit")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--tests", default=None,
              help="comma-separated subset of: cross_validation, placebo, perturbation, "
              "refresh, comparison  [default: all]")  # fmt: skip
@click.option("--alt", "alts", multiple=True,
              help="an alternative spec for the comparison, KEY=VALUE[,KEY=VALUE] (repeat the "
              "option for more)  [default: another saturation family and another trend]")  # fmt: skip
@click.option("--noise", default=0.05, show_default=True, type=float,
              help="the perturbation's noise on spend (a share)")  # fmt: skip
@click.option("--refresh", "refresh_periods", default=8, show_default=True,
              type=click.IntRange(min=1), help="periods the refresh test leaves out")  # fmt: skip
@click.option("--level", default=None, type=float, help="interval level  [default: the run's]")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@click.option("--strict", is_flag=True, help="exit with status 1 when a test fails")
@click.option("--quiet", is_flag=True, help="no progress lines or bars")
def validate_cmd(run_dir, folds, horizon, method, placebo_method, seed, tests, alts, noise,
                 refresh_periods, level, fmt, strict, quiet):  # fmt: skip
    """Refit RUN_DIR's model on its own data and test it: rolling-origin cross-validation,
    a placebo channel, noise on spend, refresh stability and a comparison with alternative
    specs by ELPD (LOO). Prints the table and writes RUN_DIR/validation.json.

    Example: mediamix validate runs/demo --folds 4 --horizon 8
    """
    from mediamix.validation import validate

    alternatives = [parse_alternative(a) for a in alts] if alts else None
    result = validate(
        run_dir, folds=folds, horizon=horizon, method=method, seed=seed, level=level,
        tests=_split(tests), placebo_method=placebo_method, noise=noise,
        refresh_periods=refresh_periods, alternatives=alternatives,
        progress=(lambda line: None) if quiet else True, write=True,
    )  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(result.table())
        click.echo(f"wrote {result.run_dir}/validation.json")
    if strict and result.verdict == "fail":
        sys.exit(1)


@click.command("design-test")
@click.argument("run_dir", type=click.Path())
@click.option("--budget", required=True, type=float,
              help="the most money a test may put at risk (extra spend, or KPI value lost)")  # fmt: skip
@click.option("--channels", default=None, help="channels to consider, comma-separated  "
              "[default: every channel with spend]")  # fmt: skip
@click.option("--weeks", default="2,4,8", show_default=True, help="test durations in weeks")
@click.option("--changes", default="-1,0.5,1", show_default=True,
              help="spend changes per test period, as shares of the channel's mean spend "
              "(-1: pause, 0.5: +50%)")  # fmt: skip
@click.option("--repeats", default=200, show_default=True, type=click.IntRange(min=10),
              help="simulated outcomes per design")  # fmt: skip
@click.option("--se-scale", default=1.0, show_default=True, type=float,
              help="multiplies the measurement error (below 1 for geo tests)")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--top", default=15, show_default=True, type=click.IntRange(min=1),
              help="designs to print")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
def design_test_cmd(run_dir, budget, channels, weeks, changes, repeats, se_scale, seed, top,
                    fmt):  # fmt: skip
    """Which channel to test next, with what spend change and for how many weeks: each
    candidate is simulated under RUN_DIR's posterior and ranked by how much it is expected
    to narrow that channel's ROAS interval per unit of budget at risk. Prints the ranking and
    writes RUN_DIR/test_design.json.

    Example: mediamix design-test runs/demo --budget 50000 --weeks 2,4,8
    """
    from mediamix.validation import design_test

    result = design_test(
        run_dir, budget, channels=_split(channels), weeks=_numbers(weeks, "--weeks"),
        changes=_numbers(changes, "--changes"), repeats=repeats, se_scale=se_scale, seed=seed,
        write=True,
    )  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(result.table(top))
        click.echo(f"wrote {result.run_dir}/test_design.json")


COMMANDS: list = [validate_cmd, design_test_cmd]
