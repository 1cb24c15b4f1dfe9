"""CLI commands: model (`mediamix fit`, `mediamix init-config`)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from mediamix.errors import SpecError
from mediamix.schemas import FIT_METHODS


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def expand_events(frame, column: str, controls: list[str]) -> tuple[object, list[str]]:
    """Turn a text events column ("na" or an event name) into 0/1 columns ``event_<name>``."""
    if column not in frame.columns:
        raise SpecError(f"events_column '{column}' is not a column of the data")
    values = frame[column].astype(str).str.strip()
    names = sorted(v for v in values.unique() if v.lower() not in ("na", "nan", "none", ""))
    frame = frame.drop(columns=[column]).copy()
    new = []
    for v in names:
        col = "event_" + re.sub(r"[^0-9A-Za-z]+", "_", v).strip("_").lower()
        frame[col] = (values == v).astype(float).to_numpy()
        new.append(col)
    return frame, controls + new


def load_dataset(data_path: str, data_cfg: dict, date=None, kpi=None, channels=None,
                 controls=None):  # fmt: skip
    """Build the Dataset from a file plus the config's data section and CLI flags.

    Returns ``(dataset, event_columns)``.
    """
    from mediamix.data import Dataset
    from mediamix.data.loaders import read_table

    cfg = dict(data_cfg)
    allowed = {"path", "date", "kpi", "channels", "controls", "events_column", "n_params"}
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise SpecError(
            f"unknown key(s) in the data section: {unknown}; allowed: {sorted(allowed)}"
        )
    for key, val in (("date", date), ("kpi", kpi), ("channels", channels),
                     ("controls", controls)):  # fmt: skip
        if val is not None:
            cfg[key] = val
    for key in ("date", "kpi", "channels"):
        if not cfg.get(key):
            raise SpecError(
                f"no '{key}' column given: pass --{key} or put it in the config's data section"
            )
    frame = read_table(data_path)
    ctrls = list(cfg.get("controls") or [])
    events: list[str] = []
    if cfg.get("events_column"):
        frame, ctrls2 = expand_events(frame, cfg["events_column"], ctrls)
        events = ctrls2[len(ctrls) :]
        ctrls = ctrls2
    ds = Dataset.from_frame(
        frame,
        date=cfg["date"],
        kpi=cfg["kpi"],
        channels=cfg["channels"],
        controls=ctrls,
        n_params=cfg.get("n_params"),
    )
    return ds, events


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
@click.option("--quiet", is_flag=True, help="no progress bar")
def fit_cmd(data, config, out, method, chains, draws, warmup, steps, seed, holdout, level, date,
            kpi, channels, controls, quiet):  # fmt: skip
    """Fit a media mix model to DATA (CSV/Parquet) and write the run folder RUN_DIR.

    Options that do not apply to the method (e.g. --chains with --method svi) are an error.
    """
    import warnings

    from mediamix.estimator import MMM
    from mediamix.inference import sampler
    from mediamix.inference.diagnostics import ConvergenceWarning
    from mediamix.model.spec import ModelSpec, load_config
    from mediamix.runs import RunDir

    if not 0 < level < 1:
        raise SpecError(f"--level must be between 0 and 1, e.g. 0.9 (got {level})")
    given = {"chains": chains, "draws": draws, "warmup": warmup, "steps": steps}
    fit_with = sampler(method, **{k: v for k, v in given.items() if v is not None})
    data_cfg, spec = load_config(config) if config else ({}, ModelSpec())
    ds, events = load_dataset(data, data_cfg, date, kpi, _split(channels), _split(controls))
    if events:
        spec = spec.replace(events=tuple(spec.events) + tuple(events))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fitted = MMM(spec).fit(ds, fit_with, seed=seed, holdout=holdout, progress=not quiet)
    summary = RunDir(out).write(fitted, level=level)
    click.echo(f"fitted {len(ds.channel_names)} channels on {ds.n_periods} periods with "
               f"{method} in {fitted.fit_seconds:.1f} s")  # fmt: skip
    pct = f"{level:.0%}"
    click.echo(f"{'channel':<16}{'ROAS':>9}  {pct + ' interval':<22}{'mROAS':>8}")
    for name, ch in summary["channels"].items():
        r, m = ch["roas"], ch["mroas"]
        fmt = lambda v: "nan" if v is None else f"{v:.2f}"  # noqa: E731
        click.echo(f"{name:<16}{fmt(r['mean']):>9}  [{fmt(r['lower'])}, {fmt(r['upper'])}]"
                   f"{'':<6}{fmt(m['mean']):>8}")  # fmt: skip
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            click.echo(f"warning: {w.message}", err=True)
    click.echo(f"wrote {Path(out) / 'summary.json'}")


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
