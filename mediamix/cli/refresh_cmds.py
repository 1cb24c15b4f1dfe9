"""CLI command: `mediamix refresh RUN --data NEW --out RUN2` (a fit with the old posterior
as its prior) and `refresh_run`, the same from Python, writing the run folder and drift.json."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from mediamix.cli.model_cmds import _split, checked_progress, sampler_options
from mediamix.errors import SpecError

DRIFT = "drift.json"


@dataclass(frozen=True)
class RefreshOutcome:
    """What a refresh wrote: the folder, the refreshed `FittedModel`, its summary.json, the
    `DriftTable` (drift.json), the data roles used and the data-check warnings."""

    out: Path
    fitted: Any
    summary: dict
    drift: Any
    roles: dict
    data_warnings: tuple[str, ...] = ()


def _recorded_roles(view) -> dict[str, Any]:
    """The column roles of the old run: drift.json's (a refreshed run), else the dataset
    summary in data_checks.json (a run of `mediamix fit`), else the saved model's names."""
    import json

    p = view.path / DRIFT
    if p.is_file():
        try:
            data = json.loads(p.read_text(encoding="utf-8")).get("data") or {}
        except (ValueError, OSError):
            data = {}
        if data.get("kpi"):
            return dict(data)
    ds = (view.checks or {}).get("dataset") or {}
    roles: dict[str, Any] = {}
    if ds.get("kpi"):
        roles["kpi"] = ds["kpi"]
    if ds.get("kpi_value"):
        roles["kpi_value"] = ds["kpi_value"]
    if ds.get("channels"):
        roles["channels"] = [
            {k: v for k, v in c.items() if v is not None} if isinstance(c, dict) else c
            for c in ds["channels"]
        ]
    if "controls" in ds:
        roles["controls"] = list(ds.get("controls") or [])
    if view.data is not None:
        roles.setdefault("channels", list(view.data.channel_names))
        roles.setdefault("controls", list(view.data.control_names))
    return roles


def refresh_run(
    run: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    method: str = "nuts",
    widen: float | None = None,
    sampler_options: dict[str, Any] | None = None,
    seed: int = 0,
    holdout: int = 0,
    level: float = 0.9,
    date: str | None = None,
    kpi: str | None = None,
    channels: list[str] | None = None,
    controls: list[str] | None = None,
    attribution: bool = True,
    cold: bool = False,
    force: bool = False,
    progress: Any = False,
    on_warning=None,
) -> RefreshOutcome:
    """Refresh the run folder ``run`` with the data file ``data`` (its rows plus new periods)
    into the new run folder ``out`` (`mediamix.estimator.refresh.refresh`); writes the run
    files and ``drift.json``. Column roles default to the old run's (``date``: 'date' unless
    recorded); ``cold``: also fit the new data from the default priors and add its ROAS to
    the table. User mistakes raise `mediamix.errors` exceptions naming the fix."""
    from mediamix.analysis.drift import roas_intervals
    from mediamix.data import load_dataset
    from mediamix.data.diagnostics import diagnostics
    from mediamix.estimator import MMM
    from mediamix.estimator.refresh import DEFAULT_WIDEN, check_widen, refresh
    from mediamix.inference import sampler
    from mediamix.jsonable import jsonable
    from mediamix.runs import RunDir
    from mediamix.runs import layout as L
    from mediamix.runs.pipeline import FitOptions, PreparedFit, check_level, check_out, finish_fit

    run, out = Path(run), Path(out)
    widen = check_widen(DEFAULT_WIDEN if widen is None else widen)
    check_level(level)
    if out.resolve() == run.resolve():
        raise SpecError(
            f"--out '{out}' is the old run itself; write the refresh to another folder (the old "
            "run stays as it is, the baseline of the drift table)"
        )
    check_out(out, force)
    fit_with = sampler(method, **(sampler_options or {}))
    view = RunDir(run).read()
    if view.is_geo:
        raise SpecError(
            f"'{run}' is a geo run; refresh takes national runs only for now. Fit the geo "
            "panel with its new periods again: `mediamix fit DATA --geo COL ...`"
        )
    old = view.fitted
    if old is None:
        raise SpecError(
            f"'{run}' holds no saved model (model/), so it has no posterior to refresh; fit it "
            "again with `mediamix fit`"
        )
    roles = _recorded_roles(view)
    given = {"date": date, "kpi": kpi, "channels": channels, "controls": controls}
    roles.update({k: v for k, v in given.items() if v is not None})
    roles.setdefault("date", "date")
    if not roles.get("kpi"):
        raise SpecError(
            f"the old run '{run}' does not record its KPI column; pass --kpi (and --date, "
            "--channels, --controls as for its fit)"
        )
    # the old run's KPI value column values the new rows the same way
    section = {"kpi_value": roles["kpi_value"]} if roles.get("kpi_value") else None
    ds, _ = load_dataset(Path(data), section, date=roles["date"], kpi=roles["kpi"],
                         channels=roles.get("channels"), controls=roles.get("controls") or [])  # fmt: skip
    diag = diagnostics(ds)
    lines = []
    for check in diag.warnings:
        lines.append(f"data check {check.name} {check.subject}: {check.advice}")
        if on_warning is not None:
            on_warning(lines[-1])
    checks = jsonable({"dataset": ds.summary(), **diag.to_dict()})
    new, table = refresh(old, ds, fit_with, widen=widen, seed=seed, holdout=holdout,
                         level=level, attribution=attribution, progress=progress)  # fmt: skip
    if cold:
        cold_fit = MMM(old.spec).fit(ds, fit_with, seed=seed, holdout=holdout, warn=False)
        table = table.with_cold(roas_intervals(cold_fit, level))
    # the pipeline's end of a fit: non-finite results refused, the run folder written whole
    options = FitOptions(method=method, seed=seed, holdout=holdout, level=level,
                         date=roles["date"], kpi=roles["kpi"], channels=ds.channel_names,
                         controls=ds.control_names, **(sampler_options or {}))  # fmt: skip
    prepared = PreparedFit(options, new.spec, ds, new.experiments, checks, tuple(lines))
    summary = finish_fit(prepared, new, out).summary
    record = {**table.to_dict(), "old_run": str(run), "data_file": str(data),
              "data": jsonable(roles)}  # fmt: skip
    L.write_json(out / DRIFT, jsonable(record))
    return RefreshOutcome(out, new, summary, table, roles, tuple(lines))


def drift_verdict(table) -> str:
    """One line: every channel within its interval width, or which moved further."""
    moved = [r for r in table.rows if not r.stable]
    if not moved:
        return (f"stable: every channel's ROAS moved by at most its old interval width (largest "
                f"{table.max_move_rel:.2f} widths)")  # fmt: skip
    names = ", ".join(f"{r.channel} ({r.move_rel:+.2f} widths)" for r in moved)
    return (f"MOVED: {names} moved by more than the old interval width; read the drift table "
            "before reporting the new numbers")  # fmt: skip


@click.command("refresh")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="the old run's rows plus the new periods (CSV/Parquet)")  # fmt: skip
@click.option("--out", required=True, type=click.Path(file_okay=False), help="new run folder")
@click.option("--widen", type=float, default=None,
              help="factor on each posterior spread for the new prior (1 = the posterior as "
              "it was)  [default: 1.5]")  # fmt: skip
@sampler_options
@click.option("--holdout", type=int, default=0, show_default=True,
              help="keep the last N periods out of the fit")  # fmt: skip
@click.option("--level", type=float, default=0.9, show_default=True, help="interval level")
@click.option("--date", default=None, help="date column  [default: the old run's, or 'date']")
@click.option("--kpi", default=None, help="KPI column  [default: the old run's]")
@click.option("--channels", default=None, help="spend columns  [default: the old run's]")
@click.option("--controls", default=None, help="control columns  [default: the old run's]")
@click.option("--no-attribution", is_flag=True,
              help="skip the anchor fit (the old rows with the new priors) that splits each "
              "move between the new periods and the refresh")  # fmt: skip
@click.option("--cold", is_flag=True, help="also fit the new data from the default priors "
              "and show its ROAS beside the refresh's")  # fmt: skip
@click.option("--fail-on-drift", is_flag=True,
              help="exit with status 1 when a channel's ROAS moved by more than its interval "
              "width")  # fmt: skip
@click.option("--force", is_flag=True, help="replace an existing --out run folder")
@click.option("--quiet", is_flag=True, help="no progress bar")
def refresh_cmd(run, data, out, widen, method, chains, draws, warmup, steps, seed, holdout,
                level, date, kpi, channels, controls, no_attribution, cold, fail_on_drift,
                force, quiet, target_accept=None):  # fmt: skip
    """Refit the run RUN on --data (its rows unchanged plus new periods) with RUN's posterior
    as the prior (widened by --widen), its scalers and spec; write the new run --out with
    drift.json: per channel the old and new ROAS, the move in old interval widths and the
    share of the move the new periods explain.

    Exit status: 0 written; 1 with --fail-on-drift when a channel moved by more than its
    interval width (the run is written); 2 a mistake in the input (nothing written).
    """
    from mediamix.cli.model_cmds import (
        interrupted,
        periods_line,
        review_lines,
        review_verdict_line,
        sigterm_as_interrupt,
    )

    given = {"chains": chains, "draws": draws, "warmup": warmup, "steps": steps,
             "target_accept": target_accept}  # fmt: skip
    opts = {k: v for k, v in given.items() if v is not None}
    out = Path(out)
    with sigterm_as_interrupt():
        try:
            res = refresh_run(run, data, out, method=method, widen=widen, sampler_options=opts,
                              seed=seed, holdout=holdout, level=level, date=date, kpi=kpi,
                              channels=_split(channels), controls=_split(controls),
                              attribution=not no_attribution, cold=cold, force=force,
                              progress=checked_progress(quiet),
                              on_warning=lambda x: click.echo(f"warning: {x}", err=True))  # fmt: skip
        except KeyboardInterrupt as exc:
            interrupted(out, exc)
    t = res.drift
    click.echo(periods_line(res.fitted, method, len(res.fitted.channel_names)))
    span = t.info.get("new_periods_dates") or {}
    when = f" ({span['start']}..{span['end']})" if span else ""
    click.echo(f"refresh of {run}: {t.new_periods} new period(s){when}; prior from its "
               f"posterior widened {t.widen:g}x, its scalers and spec")  # fmt: skip
    for line in t.lines():
        click.echo(line)
    if any(r.cold is not None for r in t.rows):
        click.echo("cold refit (default priors): " + ", ".join(
            f"{r.channel} {r.cold.mean:.2f} ({r.cold_move_rel:+.2f} widths)" for r in t.rows))  # fmt: skip
    click.echo("move/width: (new - old ROAS) / old interval width; new weeks: share of the "
               "move the new periods explain (against the old rows refitted with the same "
               "priors)")  # fmt: skip
    for line in review_lines(res.summary.get("review")):
        click.echo(line)
    click.echo(drift_verdict(t))
    click.echo(f"wrote {out / DRIFT}")
    click.echo(review_verdict_line(res.summary.get("review"), res.summary.get("diagnostics")))
    if fail_on_drift and not t.stable:
        raise SystemExit(1)


COMMANDS: list = [refresh_cmd]
