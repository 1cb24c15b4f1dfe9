"""CLI command: plan (a certified forward plan for the weeks after a fitted run's data)."""

from __future__ import annotations

from pathlib import Path

import click

from mediamix.errors import SpecError


def parse_dark(text: str | None) -> dict[str, list[str]]:
    """``"tv:2026-12-21,tv:2026-12-28,search:2027-01-04"`` -> ``{channel: [dates]}``."""
    out: dict[str, list[str]] = {}
    if not text:
        return out
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        ch, sep, when = part.partition(":")
        if not sep or not ch.strip() or not when.strip():
            raise SpecError(
                f"--dark must look like CHANNEL:DATE[,CHANNEL:DATE...], e.g. tv:2026-12-21 "
                f"(got {part!r})"
            )
        out.setdefault(ch.strip(), []).append(when.strip())
    return out


def check_options(horizon: int, max_change, discount: float, min_flight) -> None:
    """The numeric options, each error naming the option and the fix (before any loading)."""
    if not 1 <= horizon <= 520:
        raise SpecError(f"--horizon must be a number of periods in 1..520 (got {horizon})")
    if max_change is not None and not max_change >= 0:
        raise SpecError(
            f"--max-change is the largest relative change from one week to the next, a number "
            f">= 0 such as 0.2 for +-20% (got {max_change:g})"
        )
    if not 0 <= discount < 1:
        raise SpecError(
            f"--discount is a rate per period in [0, 1), e.g. 0.001 per week (got {discount:g})"
        )
    if min_flight is not None and not 1 <= min_flight <= horizon:
        raise SpecError(f"--min-flight must be in 1..{horizon} weeks (got {min_flight})")


@click.command("plan")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False),
              help="a fitted model's run directory")  # fmt: skip
@click.option("--horizon", type=int, default=13, show_default=True, help="periods to plan")
@click.option("--budget", type=float, default=None,
              help="total budget over the horizon (default: today's spend per period x horizon)")  # fmt: skip
@click.option("--future", type=click.Path(dir_okay=False), default=None,
              help="known future controls: a CSV with columns date, <control>...")  # fmt: skip
@click.option("--max-change", type=float, default=None,
              help="largest change of a channel's spend from one week to the next, e.g. 0.2")  # fmt: skip
@click.option("--min-flight", type=int, default=None,
              help="a channel that is on stays on for at least this many weeks")  # fmt: skip
@click.option("--min-flight-spend", type=float, default=None,
              help="the weekly spend that counts as on for --min-flight")  # fmt: skip
@click.option("--discount", type=float, default=0.0, show_default=True,
              help="discount rate per period (NPV weight (1 + r)^-t)")  # fmt: skip
@click.option("--carry-out/--no-carry-out", default=True, show_default=True,
              help="count the carry-over after the horizon")  # fmt: skip
@click.option("--dark", default=None, help="forced-zero weeks: tv:2026-12-21,search:2027-01-04")
@click.option("--draws", type=int, default=100, show_default=True,
              help="posterior draws the planner uses")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="write the plan as JSON here")  # fmt: skip
@click.option("--figure", type=click.Path(dir_okay=False), default=None,
              help="write the weekly figure and table as HTML here")  # fmt: skip
def plan_cmd(run_dir, horizon, budget, future, max_change, min_flight, min_flight_spend,
             discount, carry_out, dark, draws, fmt, out, figure):  # fmt: skip
    """Plan the weeks ahead: mediamix plan --run RUN --horizon 13 --budget B."""
    import json

    from mediamix.analysis.forecast import forward_plan
    from mediamix.cli.optimize_cmds import _load_fitted, check_output_path

    check_output_path(out, "--out")
    check_output_path(figure, "--figure")
    dark_map = parse_dark(dark)
    check_options(horizon, max_change, discount, min_flight)
    if budget is not None and not budget >= 0:
        raise SpecError(f"--budget must be a number >= 0 (got {budget:g})")
    if future is not None and not Path(future).is_file():
        raise SpecError(
            f"--future {future}: no such file; give a CSV with columns date, <control>..."
        )
    fitted = _load_fitted(run_dir)
    fp = forward_plan(
        fitted,
        horizon,
        budget,
        future=future,
        dark=dark_map,
        max_change=max_change,
        min_flight=min_flight,
        min_flight_spend=min_flight_spend,
        discount=discount,
        carry_out=carry_out,
        draws=draws,
    )
    data = fp.to_dict()
    if out:
        try:
            Path(out).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"--out {out}: cannot write the file ({exc.strerror})") from None
        click.echo(f"wrote {out}", err=True)
    if figure:
        from mediamix.report.horizon import write_horizon_html

        write_horizon_html(data, figure)
        click.echo(f"wrote {figure}", err=True)
    click.echo(json.dumps(data, indent=2) if fmt == "json" else fp.table())


COMMANDS: list = [plan_cmd]
