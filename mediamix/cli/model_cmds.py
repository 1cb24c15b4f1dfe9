"""CLI commands: model (`mediamix fit`, `mediamix init-config`)."""

from __future__ import annotations

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


def review_verdict_line(review: dict | None) -> str:
    """The last line of a fit: plain about a review that failed or a fit that did not
    converge."""
    if not review:
        return "model review: not available"
    n = review.get("counts") or {}
    names = sorted({c["name"] for c in review.get("checks") or [] if c["verdict"] == "fail"})
    not_conv = "" if review.get("converged", True) else "; the fit did not converge"
    if review.get("verdict") == "fail":
        return (
            f"REVIEW FAILED ({n.get('fail', 0)} failing: {', '.join(names)}{not_conv}): the fit "
            "ran, but these numbers are not fit to report; see the advice above"
        )
    if not review.get("converged", True):
        return "NOT CONVERGED: the fit ran, but do not report these numbers; see the advice above"
    if review.get("verdict") == "review":
        return f"review: {n.get('review', 0)} check(s) to read before using these numbers (above)"
    return "review passed"


@click.command("fit")
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", type=click.Path(exists=True, dir_okay=False), help="model YAML")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="run folder")
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
def fit_cmd(data, config, out, method, chains, draws, warmup, steps, seed, holdout, level, date,
            kpi, channels, controls, experiments_path, quiet):  # fmt: skip
    """Fit a media mix model to DATA (CSV/Parquet) and write the run folder RUN_DIR.

    Options that do not apply to the method (e.g. --chains with --method svi) are an error.
    """
    import warnings

    from mediamix.data import load_dataset
    from mediamix.data.experiments import read_experiments
    from mediamix.estimator import MMM
    from mediamix.inference import sampler
    from mediamix.inference.diagnostics import ConvergenceWarning
    from mediamix.model.spec import ModelSpec, config_experiments, load_config
    from mediamix.runs import RunDir

    if not 0 < level < 1:
        raise SpecError(f"--level must be between 0 and 1, e.g. 0.9 (got {level})")
    given = {"chains": chains, "draws": draws, "warmup": warmup, "steps": steps}
    fit_with = sampler(method, **{k: v for k, v in given.items() if v is not None})
    data_cfg, spec = load_config(config) if config else ({}, ModelSpec())
    ds, events = load_dataset(data, data_cfg, date=date, kpi=kpi, channels=_split(channels),
                              controls=_split(controls))  # fmt: skip
    if events:
        spec = spec.replace(events=tuple(spec.events) + tuple(events))
    # --experiments wins over the config's experiments: entry
    source = experiments_path or (config_experiments(config) if config else None)
    exps = read_experiments(source, ds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fitted = MMM(spec).fit(ds, fit_with, seed=seed, holdout=holdout, progress=not quiet,
                               experiments=exps)  # fmt: skip
    summary = RunDir(out).write(fitted, level=level)
    click.echo(f"fitted {len(ds.channel_names)} channels on {ds.n_periods} periods with "
               f"{method} in {fitted.fit_seconds:.1f} s")  # fmt: skip
    for line in roas_lines(summary, level):
        click.echo(line)
    for x in summary.get("experiments") or []:
        click.echo(experiment_line(x, level))
    for line in review_lines(summary.get("review")):
        click.echo(line)
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            click.echo(f"warning: {w.message}", err=True)
    click.echo(f"wrote {Path(out) / 'summary.json'}")
    click.echo(review_verdict_line(summary.get("review")))


@click.command("init-config")
@click.argument("path", default="model.yaml", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="overwrite an existing file")
def init_config_cmd(path, force):
    """Write a commented model YAML with the defaults to PATH (default model.yaml)."""
    from mediamix.model.spec import init_config_text

    p = Path(path)
    if p.exists() and not force:
        raise SpecError(f"'{p}' exists; pass --force to overwrite it")
    p.write_text(init_config_text())
    click.echo(f"wrote {p}")


COMMANDS: list = [fit_cmd, init_config_cmd]
