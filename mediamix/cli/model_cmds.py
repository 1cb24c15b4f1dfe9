"""CLI commands: model (`mediamix fit`, `mediamix init-config`)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from pathlib import Path

import click

from mediamix.errors import ConvergenceError, SpecError
from mediamix.schemas import FIT_METHODS


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def experiment_line(x: dict, level: float) -> str:
    """One line per experiment: the measured lift, the model's, and whether they agree."""
    m = x["model_lift"]
    fmt = lambda v: "nan" if v is None else f"{v:,.0f}"  # noqa: E731
    verdict = {True: "agrees", False: "DISAGREES", None: "no interval"}[x["agrees"]]
    return (f"experiment {x['channel']} {x['start']}..{x['measure_end']}: measured lift "
            f"{fmt(x['lift'])} ± {fmt(x['lift_se'])}, model {fmt(m['mean'])} "
            f"[{fmt(m['lower'])}, {fmt(m['upper'])}] ({level:.0%}): {verdict}")  # fmt: skip


def _num(v) -> str:
    return "nan" if v is None else f"{v:.2f}"


def _interval(t: dict) -> str:
    return f"[{_num(t.get('lower'))}, {_num(t.get('upper'))}]"


def roas_lines(summary: dict, level: float, indent: str = "", truth: dict | None = None):
    """The ROAS table: each channel's ROAS and marginal ROAS, each with its interval
    (``truth``: the true ROAS per channel, a column when given)."""
    pct = f"{level:.0%} interval"
    head = f"{'channel':<16}{'ROAS':>8}  {pct:<18}{'mROAS':>8}  {pct:<18}"
    if truth is not None:
        head += f"{'true ROAS':>10}"
    out = [indent + head.rstrip()]
    for name, ch in summary["channels"].items():
        r, m = ch["roas"], ch["mroas"]
        line = (f"{name:<16}{_num(r['mean']):>8}  {_interval(r):<18}{_num(m['mean']):>8}  "
                f"{_interval(m):<18}")  # fmt: skip
        if truth is not None:
            line += f"{truth[name]:>10.2f}"
        out.append(indent + line.rstrip())
    return out


def review_lines(review: dict | None, indent: str = "") -> list[str]:
    """The model review: its verdict, then each check that did not pass with its advice."""
    if not review:
        return []
    n = review.get("counts") or {}
    out = [
        f"{indent}model review: {str(review.get('label', review.get('verdict'))).upper()} "
        f"({n.get('fail', 0)} fail, {n.get('review', 0)} to review, {n.get('pass', 0)} pass)"
    ]
    rank = {"fail": 0, "review": 1}
    bad = [c for c in review.get("checks") or [] if c.get("verdict") != "pass"]
    for c in sorted(bad, key=lambda c: rank.get(c.get("verdict"), 2)):
        subject = f" {c['subject']}" if c.get("subject") else ""
        out.append(f"{indent}  {c['verdict']:<6} {c['name']}{subject}: {c.get('advice', '')}")
    return out


def review_verdict_line(review: dict | None, diagnostics: dict | None = None) -> str:
    """The last line of a fit: plain about a review that failed or a fit that did not
    converge (by the review, or by the fit diagnostics' loss check for SVI / MAP)."""
    if not review:
        return "model review: not available"
    n = review.get("counts") or {}
    names = sorted({c["name"] for c in review.get("checks") or [] if c["verdict"] == "fail"})
    converged = review.get("converged", True) and (diagnostics or {}).get("converged", True)
    not_conv = "" if converged else "; the fit did not converge"
    if review.get("verdict") == "fail":
        return (
            f"REVIEW FAILED ({n.get('fail', 0)} failing: {', '.join(names)}{not_conv}): the fit "
            "ran, but these numbers are not fit to report; see the advice above"
        )
    if not converged:
        return "NOT CONVERGED: the fit ran, but do not report these numbers; see the advice above"
    if review.get("verdict") == "review":
        return f"review: {n.get('review', 0)} check(s) to read before using these numbers (above)"
    return "review passed"


def check_out(out: Path, force: bool) -> None:
    """``fit --out``: an existing folder with files is replaced only with ``--force``, and only
    when it is a run folder (so ``--force`` never wipes a folder of other files)."""
    from mediamix.runs import layout as L

    if not out.is_dir() or not any(out.iterdir()):
        return
    if not force:
        raise SpecError(
            f"'{out}' already exists and holds files; pass --force to replace it with the new "
            "run (the old folder stays as it is until the new one is complete), or choose "
            "another --out"
        )
    names = {e.name for e in out.iterdir()}
    if not names & {L.META, L.SUMMARY, L.MODEL_DIR, L.POSTERIOR}:
        raise SpecError(
            f"'{out}' is not a run folder (no meta.json, summary.json or model/), so --force "
            "does not replace it; choose another --out"
        )


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM raises KeyboardInterrupt (as Ctrl+C does) while the block runs, so a stopped
    fit cleans up the same way (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def _raise(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def interrupted(out: Path, exc: BaseException) -> None:
    """The one line of a fit stopped by Ctrl+C / SIGTERM, then exit status 130."""
    from mediamix.runs.layout import InterruptedAfterWrite

    if isinstance(exc, InterruptedAfterWrite):
        click.echo(f"interrupted; {out} holds the complete new run", err=True)
    else:
        click.echo(f"interrupted; {out} was left as it was", err=True)
    sys.exit(130)


def periods_line(fitted, method: str, n_channels: int) -> str:
    """What was fitted: the likelihood's periods, the held-out ones and the warm-up."""
    T = len(fitted.data.kpi)
    held = T - fitted.n_train
    w = fitted.window
    n_fit = w.stop - w.start
    extra = [f"{held} held out"] if held else []
    if w.start:
        extra.append(f"the first {w.start} only warm up the adstock")
    more = f" ({'; '.join(extra)})" if extra else ""
    return (f"fitted {n_channels} channels with {method} in {fitted.fit_seconds:.1f} s: "
            f"{n_fit} of {T} periods fitted{more}")  # fmt: skip


def non_finite_error(review: dict | None, out: Path) -> ConvergenceError | None:
    """An error when the fit's results are not finite numbers (the review's ``finite`` check
    failed): such a fit is never written."""
    bad = [c for c in (review or {}).get("checks") or []
           if c.get("name") == "finite" and c.get("verdict") == "fail"]  # fmt: skip
    if not bad:
        return None
    return ConvergenceError(
        f"the fit's results are not finite numbers: {bad[0].get('advice', '').strip()} Nothing "
        f"was written; {out} was left as it was. Fix: check the data for huge or constant "
        "values (`mediamix check`) and the settings for a non-finite kpi_value, then fit "
        "again (more steps, or method nuts)"
    )


@click.command("fit")
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", type=click.Path(exists=True, dir_okay=False), help="model YAML")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="run folder")
@click.option("--force", is_flag=True,
              help="replace an existing run folder (whole, once the new run is complete)")  # fmt: skip
@click.option("--method", type=click.Choice(list(FIT_METHODS)), default="nuts",
              show_default=True)  # fmt: skip
@click.option("--chains", type=int, default=None, help="NUTS chains  [default: 4]")
@click.option("--draws", type=int, default=None, help="NUTS/SVI draws  [default: 1000]")
@click.option("--warmup", type=int, default=None, help="NUTS warmup  [default: 1000]")
@click.option("--steps", type=int, default=None, help="SVI/MAP steps  [default: 3000]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--holdout", type=int, default=0, show_default=True,
              help="keep the last N periods out of the fit")  # fmt: skip
@click.option("--level", type=float, default=0.9, show_default=True, help="interval level")
@click.option("--date", default=None, help="date column")
@click.option("--kpi", default=None, help="KPI column")
@click.option("--channels", default=None, help="spend columns, comma-separated")
@click.option("--controls", default=None, help="control columns, comma-separated")
@click.option("--experiments", "experiments_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="lift tests (CSV/Parquet: channel, start, end, spend_change, "
              "lift, lift_se[, measure_end])")  # fmt: skip
@click.option("--quiet", is_flag=True, help="no progress bar")
def fit_cmd(data, config, out, force, method, chains, draws, warmup, steps, seed, holdout, level,
            date, kpi, channels, controls, experiments_path, quiet):  # fmt: skip
    """Fit a media mix model to DATA (CSV/Parquet) and write the run folder RUN_DIR.

    Options that do not apply to the method (e.g. --chains with --method svi) are an error.
    An existing --out folder is replaced only with --force; the new folder is written aside
    and swapped in when complete, so an error or Ctrl+C leaves the old one as it was.
    """
    out = Path(out)
    with sigterm_as_interrupt():
        try:
            _fit(data, config, out, force, method, chains, draws, warmup, steps, seed, holdout,
                 level, date, kpi, channels, controls, experiments_path, quiet)  # fmt: skip
        except KeyboardInterrupt as exc:
            interrupted(out, exc)


def _fit(data, config, out, force, method, chains, draws, warmup, steps, seed, holdout, level,
         date, kpi, channels, controls, experiments_path, quiet):  # fmt: skip
    import math
    import warnings

    from mediamix.data import load_dataset
    from mediamix.data.diagnostics import diagnostics
    from mediamix.data.experiments import read_experiments
    from mediamix.estimator import MMM
    from mediamix.inference import sampler
    from mediamix.inference.diagnostics import ConvergenceWarning
    from mediamix.jsonable import jsonable
    from mediamix.model.spec import ModelSpec, config_experiments, load_config
    from mediamix.runs import RunDir

    if not (math.isfinite(level) and 0 < level < 1):
        raise SpecError(f"--level must be between 0 and 1, e.g. 0.9 (got {level})")
    check_out(out, force)
    given = {"chains": chains, "draws": draws, "warmup": warmup, "steps": steps}
    fit_with = sampler(method, **{k: v for k, v in given.items() if v is not None})
    data_cfg, spec = load_config(config) if config else ({}, ModelSpec())
    ds, events = load_dataset(data, data_cfg, date=date, kpi=kpi, channels=_split(channels),
                              controls=_split(controls))  # fmt: skip
    if events:
        spec = spec.replace(events=tuple(spec.events) + tuple(events))
    # the rows-per-parameter rule on the model's own terms, before any compilation
    spec.validate_for(ds.channel_names, ds.control_names, ds.freq, n_periods=ds.n_periods)
    # --experiments wins over the config's experiments: entry
    source = experiments_path or (config_experiments(config) if config else None)
    exps = read_experiments(source, ds)
    # as `mediamix check` (with the same config): its warnings belong in the fit's output
    from mediamix.cli.data_cmds import spec_parameter_count

    diag = diagnostics(ds, spec_parameter_count(spec, ds) if config else None)
    for check in diag.warnings:
        click.echo(f"warning: data check {check.name} {check.subject}: {check.advice}", err=True)
    checks = jsonable({"dataset": ds.summary(), **diag.to_dict()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fitted = MMM(spec).fit(ds, fit_with, seed=seed, holdout=holdout, progress=not quiet,
                               experiments=exps)  # fmt: skip
    error = non_finite_error(jsonable(fitted.review.to_dict()), out)
    if error is not None:
        raise error
    summary = RunDir(out).write(fitted, checks=checks, level=level)
    click.echo(periods_line(fitted, method, len(ds.channel_names)))
    for line in roas_lines(summary, level):
        click.echo(line)
    for x in summary.get("experiments") or []:
        click.echo(experiment_line(x, level))
    for line in review_lines(summary.get("review")):
        click.echo(line)
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            click.echo(f"warning: {w.message}", err=True)
    click.echo(f"wrote {out / 'summary.json'}")
    click.echo(review_verdict_line(summary.get("review"), summary.get("diagnostics")))


@click.command("init-config")
@click.argument("path", default="model.yaml", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="overwrite an existing file")
def init_config_cmd(path, force):
    """Write a commented model YAML with the defaults to PATH (default model.yaml)."""
    from mediamix.model.spec import init_config_text

    p = Path(path)
    if p.exists() and not force:
        raise SpecError(f"'{p}' exists; pass --force to overwrite it")
    if not p.parent.is_dir():
        raise SpecError(
            f"folder '{p.parent}' does not exist; create it first (mkdir -p {p.parent}) or give "
            "another path"
        )
    try:
        p.write_text(init_config_text(), encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot write '{p}': {exc.strerror}; give another path") from None
    click.echo(f"wrote {p}")


COMMANDS: list = [fit_cmd, init_config_cmd]
