"""CLI command: plan-geo (a certified geo x channel budget plan from a geo run or a file)."""

from __future__ import annotations

from pathlib import Path

import click

from mediamix.errors import SpecError
from mediamix.schemas import SOLVE_METHODS


def parse_assignments(values, option: str, *, pair: bool = False) -> dict[str, object]:
    """``("Geo3=1000", ...)`` -> ``{"Geo3": 1000.0}``; with ``pair``, ``"Geo1=0.1:0.3"`` ->
    ``{"Geo1": (0.1, 0.3)}`` (either side may be empty: ``0.1:`` or ``:0.3``)."""
    out: dict[str, object] = {}
    for text in values or ():
        name, sep, value = str(text).rpartition("=")
        example = "Geo1=0.1:0.3" if pair else "Geo3=1000"
        if not sep or not name.strip() or not value.strip():
            raise SpecError(f"{option} must look like NAME={'LO:HI' if pair else 'VALUE'}, e.g. "
                            f"{option} {example} (got {text!r})")  # fmt: skip
        name = name.strip()
        if name in out:
            raise SpecError(f"{option} {name} is given twice; give each once")
        try:
            if pair:
                lo, colon, hi = value.partition(":")
                if not colon:
                    raise ValueError
                out[name] = (float(lo) if lo.strip() else None, float(hi) if hi.strip() else None)
            else:
                out[name] = float(value)
        except ValueError:
            raise SpecError(
                f"{option} {text}: expected {'LO:HI (numbers, one side may be empty)' if pair else 'a number'} "
                f"after '=', e.g. {option} {example}"
            ) from None
    return out


def read_geo_responses(run_dir: str | Path) -> dict:
    """The per-geo response records of a geo run folder: ``responses.json``'s key
    ``geo_responses`` (``{geo: [Response.to_dict(), ...]}``)."""
    from mediamix.optimize.geo import geo_responses_from_records
    from mediamix.runs import layout as L

    run = Path(run_dir)
    if not run.is_dir():
        raise SpecError(f"--run {run_dir}: no such run folder; fit one with `mediamix fit DATA "
                        f"--geo COLUMN --out {run_dir}`")  # fmt: skip
    path = run / L.RESPONSES
    if not path.is_file():
        raise SpecError(
            f"'{path}' is missing: a geo plan needs the per-geo response curves a geo fit "
            f"writes there. Fix: fit the geo model, `mediamix fit DATA --geo COLUMN --out {run_dir}`"
        )
    got = L.read_json(path)
    if not isinstance(got, dict) or "geo_responses" not in got:
        raise SpecError(
            f"'{path}' holds national response curves only (no 'geo_responses'): the run is "
            f"not a geo fit. Fix: fit the geo panel with `mediamix fit DATA --geo COLUMN --out "
            f"RUN`, or plan this run nationally with `mediamix optimize --run {run_dir}`"
        )
    return geo_responses_from_records(got["geo_responses"], f"{path}: geo_responses")


@click.command("plan-geo")
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False))
@click.option("--run", "run_dir", type=click.Path(file_okay=False),
              help="a geo run folder (its responses.json holds geo_responses)")  # fmt: skip
@click.option("--budget", type=float, default=None,
              help="total budget per period over all geos (default: today's total)")  # fmt: skip
@click.option("--geo-cap", multiple=True, metavar="GEO=MAX",
              help="a geo's total spend per period at most MAX (repeatable)")  # fmt: skip
@click.option("--geo-min", multiple=True, metavar="GEO=MIN",
              help="a geo's total spend per period at least MIN (repeatable)")  # fmt: skip
@click.option("--geo-share", multiple=True, metavar="GEO=LO:HI",
              help="a geo's share of the total spend kept in [LO, HI], e.g. Geo1=0.1:0.3")  # fmt: skip
@click.option("--share-of", type=click.Choice(["spend", "budget"]), default=None,
              help="--geo-share is of the plan's total spend (default) or of the budget")  # fmt: skip
@click.option("--channel-max", multiple=True, metavar="CHANNEL=MAX",
              help="a channel's national total per period at most MAX (repeatable)")  # fmt: skip
@click.option("--channel-min", multiple=True, metavar="CHANNEL=MIN",
              help="a channel's national total per period at least MIN (repeatable)")  # fmt: skip
@click.option("--bound", multiple=True, metavar="GEO/CHANNEL=LO:HI",
              help="one geo's channel kept in [LO, HI] per period (repeatable)")  # fmt: skip
@click.option("--objective", type=click.Choice(["kpi", "profit"]), default=None)
@click.option("--risk", type=click.Choice(["mean", "cvar"]), default=None)
@click.option("--alpha", type=float, default=None, help="CVaR level (with --risk cvar)")
@click.option("--method", type=click.Choice(list(SOLVE_METHODS)), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="write the result here")  # fmt: skip
def plan_geo_cmd(plan_file, run_dir, budget, geo_cap, geo_min, geo_share, share_of, channel_max,
                 channel_min, bound, objective, risk, alpha, method, fmt, output):  # fmt: skip
    """A certified geo x channel plan: mediamix plan-geo --run RUN --budget B [rules]."""
    from mediamix.cli.optimize_cmds import check_output_path
    from mediamix.optimize.geo import geo_problem_from_dict, solve_geo
    from mediamix.yamlio import read_yaml

    if plan_file is None and run_dir is None:
        raise SpecError("give --run RUN_DIR (a geo run) and/or a GEO_PLAN.yaml file")
    check_output_path(output, "--output")
    # the options first: a mistyped rule fails before anything is read or solved
    opt = {
        "caps_max": parse_assignments(geo_cap, "--geo-cap"),
        "caps_min": parse_assignments(geo_min, "--geo-min"),
        "chan_max": parse_assignments(channel_max, "--channel-max"),
        "chan_min": parse_assignments(channel_min, "--channel-min"),
        "share": parse_assignments(geo_share, "--geo-share", pair=True),
        "bounds": parse_assignments(bound, "--bound", pair=True),
    }
    spec: dict = {}
    if plan_file is not None:
        spec = read_yaml(plan_file, "geo plan")
        if not isinstance(spec, dict):
            raise SpecError(f"{plan_file}: a geo plan file is a mapping with a 'geo' section")
    geo = spec.get("geo") or {}
    if not isinstance(geo, dict):
        raise SpecError(f"geo plan.geo: expected a mapping of the geo rules, got {geo!r}")
    geo = dict(geo)
    if run_dir is None and geo.get("run") and not geo.get("responses"):
        run_dir = str((Path(plan_file).parent / str(geo["run"])).resolve())
    responses = read_geo_responses(run_dir) if run_dir is not None else None
    geo.pop("run", None)
    if run_dir is not None:
        geo.pop("responses", None)  # --run replaces the file's curves
    for key, lo_key, hi_key in (("caps", "caps_min", "caps_max"),
                                ("channels", "chan_min", "chan_max")):  # fmt: skip
        pairs = {k: list(_as_pair(v)) for k, v in (geo.get(key) or {}).items()}
        for name, v in opt[hi_key].items():
            pairs.setdefault(name, [None, None])[1] = v
        for name, v in opt[lo_key].items():
            pairs.setdefault(name, [None, None])[0] = v
        if pairs:
            geo[key] = pairs
    for key in ("share", "bounds"):
        merged = {**(geo.get(key) or {}), **{k: list(v) for k, v in opt[key].items()}}
        if merged:
            geo[key] = merged
    if share_of is not None:
        geo["share_of"] = share_of
    spec["geo"] = geo
    for key, value in (("budget", budget), ("objective", objective), ("method", method)):
        if value is not None:
            spec[key] = value
    if risk is not None or alpha is not None:
        old = spec.get("risk")
        old = old if isinstance(old, dict) else ({"type": old} if old else {})
        spec["risk"] = {**old, **({"type": risk} if risk else {}),
                        **({"alpha": alpha} if alpha is not None else {})}  # fmt: skip
    problem = geo_problem_from_dict(spec, responses)
    gp = solve_geo(problem)
    if fmt == "json":
        text = gp.to_json()
    elif fmt == "csv":
        text = gp.spend_long().to_csv(index=False).rstrip("\n")
    else:
        text = gp.table()
    if output:
        try:
            Path(output).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"--output {output}: cannot write the file ({exc.strerror}). Fix: "
                            "check the path and its permissions.") from None  # fmt: skip
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


def _as_pair(value) -> tuple:
    """A file's ``caps`` / ``channels`` value as ``(min, max)``: a number is the maximum."""
    if isinstance(value, dict):
        return (value.get("min"), value.get("max"))
    if isinstance(value, list | tuple) and len(value) == 2:
        return (value[0], value[1])
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (None, value)
    raise SpecError(f"geo plan: expected a number, [min, max] or {{min, max}}, got {value!r}")


COMMANDS: list = [plan_geo_cmd]
