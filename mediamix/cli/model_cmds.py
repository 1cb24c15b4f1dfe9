"""CLI commands: model (`mediamix fit`, `mediamix init-config`)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from mediamix.errors import SpecError
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


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM raises KeyboardInterrupt (as Ctrl+C does) while the block runs, so a stopped
    fit cleans up the same way (main thread only). Both are recorded
    (`mediamix.runs.layout.interrupts_recorded`): when library code swallows the exception, the
    fit still stops at its next progress report (`checked_progress`) and no folder is written."""
    from mediamix.runs.layout import interrupts_recorded

    with interrupts_recorded():
        yield


def checked_progress(quiet: bool):
    """The progress callback of a command's fit, passed even with --quiet: it raises a recorded
    Ctrl+C / SIGTERM again (`mediamix.runs.layout.check_interrupt`) after each compiled chunk,
    then prints the sampler's or optimiser's line on stderr unless ``quiet``."""
    from mediamix.inference.nuts import SamplerProgress, stderr_progress
    from mediamix.inference.progress import stderr_report
    from mediamix.runs.layout import check_interrupt

    def report(p) -> None:
        check_interrupt()
        if not quiet:
            (stderr_progress if isinstance(p, SamplerProgress) else stderr_report)(p)

    return report


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


def geo_periods_line(fitted, method: str, n_channels: int) -> str:
    """What a geo fit fitted: channels, geos, the likelihood's periods of each geo."""
    T = int(fitted.data.kpi.shape[-1])
    held = T - fitted.n_train
    w = fitted.window
    extra = [f"{held} held out"] if held else []
    if w.start:
        extra.append(f"the first {w.start} only warm up the adstock")
    more = f" ({'; '.join(extra)})" if extra else ""
    G = len(fitted.geos)
    return (f"fitted {n_channels} channels over {G} geo{'s' if G != 1 else ''} with {method} "
            f"in {fitted.fit_seconds:.1f} s: {w.stop - w.start} of {T} periods of each geo "
            f"fitted{more}")  # fmt: skip


def geo_lines(summary: dict, level: float) -> list[str]:
    """A geo fit's printed summary: the national ROAS table (sums over the geos), organic
    and non-media contributions, optimal frequencies and where the per-geo figures are."""
    n_geos = (summary.get("model") or {}).get("n_geos") or len(summary.get("geos") or {})
    out = [f"national ROAS and mROAS (all {n_geos} geos; per geo: geo_summary.csv):"]
    out += roas_lines(summary, level, indent="  ")
    pct = f"{level:.0%} interval"
    for group, label in (("organic", "organic"), ("non_media", "non-media")):
        for name, block in (summary.get(group) or {}).items():
            c = block.get("contribution") or {}
            out.append(f"{label} {name}: contribution {_num(c.get('mean'))} {_interval(c)} "
                       f"({pct}, KPI over the window; no ROAS)")  # fmt: skip
    for name, f in (summary.get("optimal_frequency") or {}).items():
        out.append(f"optimal frequency {name}: {_num(f.get('mean'))} {_interval(f)} ({pct})")
    return out


def geo_verdict_line(summary: dict) -> str:
    """The last line of a geo fit without a model review: its convergence, by the fit
    diagnostics (R-hat above 1.01 is not converged)."""
    d = summary.get("diagnostics") or {}
    if d.get("converged") is False or (d.get("max_rhat") or 0) > 1.01:
        return "NOT CONVERGED: the fit ran, but do not report these numbers; see the warnings"
    if d.get("max_rhat") is not None:
        ess = d.get("min_ess_bulk")
        return (f"converged: max R-hat {d['max_rhat']:.3f}, min bulk ESS "
                f"{'n/a' if ess is None else f'{ess:.0f}'}, {d.get('divergences') or 0} "
                "divergences")  # fmt: skip
    note = summary.get("intervals_note")
    return f"fit finished ({note})" if note else "fit finished"


def sampler_options(command):
    """The sampler's options (--method, --chains, --draws, --warmup, --steps,
    --target-accept, --seed), one definition for every command that fits (fit, fit-many,
    refresh)."""
    for option in reversed((
        click.option("--method", type=click.Choice(list(FIT_METHODS)), default="nuts",
                     show_default=True),
        click.option("--chains", type=int, default=None, help="NUTS chains  [default: 4]"),
        click.option("--draws", type=int, default=None, help="NUTS/SVI draws  [default: 1000]"),
        click.option("--warmup", type=int, default=None, help="NUTS warmup  [default: 1000]"),
        click.option("--steps", type=int, default=None, help="SVI/MAP steps  [default: 3000]"),
        click.option("--target-accept", "target_accept", type=float, default=None,
                     help="NUTS step-size target in (0, 1); higher (e.g. 0.95) when a fit "
                     "reports divergences  [default: 0.85]"),
        click.option("--seed", type=int, default=0, show_default=True),
    )):  # fmt: skip
        command = option(command)
    return command


def data_options(command):
    """The options of the data and the fit that ``fit`` and ``fit-many`` share (--holdout,
    --level, --date, --kpi, --channels, --controls, --experiments, --time-varying, --quiet),
    one definition for both; with ``fit-many`` each applies to every group's fit."""
    for option in reversed((
        click.option("--holdout", type=int, default=0, show_default=True,
                     help="keep the last N periods (of each group) out of the fit"),
        click.option("--level", type=float, default=0.9, show_default=True,
                     help="interval level"),
        click.option("--date", default=None, help="date column"),
        click.option("--kpi", default=None, help="KPI column"),
        click.option("--channels", default=None, help="spend columns, comma-separated"),
        click.option("--controls", default=None, help="control columns, comma-separated"),
        click.option("--experiments", "experiments_path",
                     type=click.Path(exists=True, dir_okay=False), default=None,
                     help="lift tests (CSV/Parquet: channel, start, end, spend_change, lift, "
                     "lift_se[, measure_end]); fit-many: the same table for every group"),
        click.option("--time-varying", default=None,
                     help="channels whose effect may drift over time, comma-separated (all: "
                     "every channel; baseline: the baseline level); replaces the config's "
                     "time_varying"),
        click.option("--quiet", is_flag=True, help="no progress output"),
    )):  # fmt: skip
        command = option(command)
    return command


@click.command("fit")
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", type=click.Path(exists=True, dir_okay=False), help="model YAML")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="run folder")
@click.option("--force", is_flag=True,
              help="replace an existing run folder (whole, once the new run is complete)")  # fmt: skip
@sampler_options
@data_options
@click.option("--geo", default=None,
              help="geo column of a long table (one row per geo and period): fits the geo "
              "model")  # fmt: skip
@click.option("--population", default=None,
              help="population column of a geo panel (one value per geo)")  # fmt: skip
@click.option("--organic", default=None,
              help="organic activity columns (no spend: contributions, no ROAS), "
              "comma-separated; fits the geo model")  # fmt: skip
@click.option("--non-media", "non_media", default=None,
              help="non-media treatment columns (promotions, price), comma-separated; fits the "
              "geo model")  # fmt: skip
@click.option("--reach-frequency", "reach_frequency", default=None,
              help="reach-and-frequency channels as NAME:REACH:FREQUENCY:SPEND columns, "
              "comma-separated; fits the geo model")  # fmt: skip
def fit_cmd(data, config, out, force, method, chains, draws, warmup, steps, seed, holdout, level,
            date, kpi, channels, controls, experiments_path, quiet, time_varying, geo=None,
            population=None, organic=None, non_media=None, reach_frequency=None,
            target_accept=None):  # fmt: skip
    """Fit a media mix model to DATA (CSV/Parquet) and write the run folder RUN_DIR.

    Options that do not apply to the method (e.g. --chains with --method svi) are an error.
    An existing --out folder is replaced only with --force; the new folder is written aside
    and swapped in when complete, so an error or Ctrl+C leaves the old one as it was.

    A geo panel (--geo COL, --population COL, or the config's data section with geo:) and
    data with organic, non-media or reach-and-frequency columns fit the geo model: the
    national ROAS over all geos is printed, the per-geo figures are in geo_summary.csv.
    """
    out = Path(out)
    roles = dict(geo=geo, population=population, organic=organic, non_media=non_media,
                 reach_frequency=reach_frequency)  # fmt: skip
    with sigterm_as_interrupt():
        try:
            _fit(data, config, out, force, method, chains, draws, warmup, steps, seed, holdout,
                 level, date, kpi, channels, controls, experiments_path, quiet,
                 time_varying, roles, target_accept)  # fmt: skip
        except KeyboardInterrupt as exc:
            interrupted(out, exc)


def fit_options(config, method, chains, draws, warmup, steps, seed, holdout, level, date, kpi,
                channels, controls, experiments_path, force=False, time_varying=None,
                roles=None, target_accept=None):  # fmt: skip
    """The `FitOptions` of the ``fit`` command's values (shared with ``fit-many``);
    ``roles``: the geo model's ``geo``, ``population``, ``organic``, ``non_media`` and
    ``reach_frequency`` values (comma-separated text or None); ``target_accept``: NUTS's."""
    from mediamix.runs.pipeline import FitOptions

    r = dict(roles or {})
    return FitOptions(config=config, method=method, chains=chains, draws=draws, warmup=warmup,
                      steps=steps, seed=seed, holdout=holdout, level=level, date=date, kpi=kpi,
                      channels=_split(channels), controls=_split(controls),
                      experiments=experiments_path, force=force,
                      time_varying=_split(time_varying), geo=r.get("geo") or None,
                      population=r.get("population") or None,
                      organic=_split(r.get("organic")), non_media=_split(r.get("non_media")),
                      reach_frequency=_split(r.get("reach_frequency")),
                      target_accept=target_accept)  # fmt: skip


def _fit(data, config, out, force, method, chains, draws, warmup, steps, seed, holdout, level,
         date, kpi, channels, controls, experiments_path, quiet, time_varying=None,
         roles=None, target_accept=None):  # fmt: skip
    from mediamix.runs.pipeline import fit_run

    options = fit_options(config, method, chains, draws, warmup, steps, seed, holdout, level,
                          date, kpi, channels, controls, experiments_path, force,
                          time_varying, roles, target_accept)  # fmt: skip
    res = fit_run(data, out, options, progress=checked_progress(quiet),
                  on_warning=lambda line: click.echo(f"warning: {line}", err=True))  # fmt: skip
    summary = res.summary
    if res.is_geo:
        click.echo(geo_periods_line(res.fitted, method, res.n_channels))
        for line in geo_lines(summary, level):
            click.echo(line)
        for line in review_lines(summary.get("review")):
            click.echo(line)
        for message in res.convergence_warnings:
            click.echo(f"warning: {message}", err=True)
        click.echo(f"wrote {out / 'summary.json'}")
        if summary.get("review"):
            click.echo(review_verdict_line(summary["review"], summary.get("diagnostics")))
        else:
            click.echo(geo_verdict_line(summary))
        return
    click.echo(periods_line(res.fitted, method, res.n_channels))
    for line in roas_lines(summary, level):
        click.echo(line)
    for x in summary.get("experiments") or []:
        click.echo(experiment_line(x, level))
    for line in review_lines(summary.get("review")):
        click.echo(line)
    for message in res.convergence_warnings:
        click.echo(f"warning: {message}", err=True)
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
