"""The single-fit pipeline: from a data file (or table) and the fit's options to a run folder.

``fit_run(data, out, options)`` does what ``mediamix fit`` does, without printing: load the
config, load and validate the data, check the model against it (the rows rule on the model's
own terms, before any compilation), read the experiments, run the data checks, fit, refuse
non-finite results, and write the complete run folder through `RunDir.write`. The command
line, fleets of fits and refreshes all call it, so a run folder and an error message are the
same whoever asked for the fit.

Data for the geo model (a ``geo`` column, a ``population``, or the roles ``organic``,
``non_media``, ``reach_frequency``: from the options or the config's data section) take the
geo branch through the same three steps: `prepare_fit` reads the `Panel`
(`mediamix.data.panel.load_panel`; national data with roles is a one-geo panel) and checks
the geo model against it, `fit_run` fits `mediamix.estimator.geo.GeoMMM`, and `finish_fit`
refuses non-finite results and writes the folder through `RunDir.write_geo`. Options the geo
model does not take (lift tests, time-varying effects) are refused before anything is read.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediamix.errors import ConvergenceError, SpecError


def _names(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Column names from a comma-separated string or a sequence (``None`` stays ``None``:
    the config's; an empty string or sequence clears them)."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class FitOptions:
    """Every option of ``mediamix fit`` (``None``: the config's value or the sampler's default).

    ``channels`` / ``controls``: column names (a comma-separated string is split); an empty
    tuple of controls clears the config's. ``experiments``: a lift-test table (it wins over
    the config's ``experiments:`` entry). ``force``: replace an existing run folder.
    """

    config: str | Path | None = None
    method: str = "nuts"
    chains: int | None = None
    draws: int | None = None
    warmup: int | None = None
    steps: int | None = None
    seed: int = 0
    holdout: int = 0
    level: float = 0.9
    date: str | None = None
    kpi: str | None = None
    channels: tuple[str, ...] | None = None
    controls: tuple[str, ...] | None = None
    experiments: str | Path | None = None
    force: bool = False
    # channels whose effect drifts over time (the spec's time_varying; None: the config's)
    time_varying: tuple[str, ...] | None = None
    # the geo model's data roles (None: the config's): the geo and population columns, the
    # organic and non-media columns, reach-and-frequency channels as NAME:REACH:FREQ:SPEND
    geo: str | None = None
    population: str | None = None
    organic: tuple[str, ...] | None = None
    non_media: tuple[str, ...] | None = None
    reach_frequency: tuple[str, ...] | None = None
    # NUTS's step-size adaptation target (None: the sampler's default)
    target_accept: float | None = None

    def __post_init__(self) -> None:
        names = ("channels", "controls", "time_varying", "organic", "non_media",
                 "reach_frequency")  # fmt: skip
        for name in names:
            object.__setattr__(self, name, _names(getattr(self, name)))

    def panel_roles(self) -> dict[str, Any]:
        """The geo model's data roles given (for `mediamix.data.panel.load_panel`)."""
        out = {"geo": self.geo, "population": self.population,
               "organic": self.organic, "non_media": self.non_media,
               "reach_frequency": self.reach_frequency}  # fmt: skip
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items()
                if v is not None}  # fmt: skip

    def sampler_options(self) -> dict[str, float]:
        """The sampler settings given (the others keep the sampler's defaults)."""
        given = {"chains": self.chains, "draws": self.draws, "warmup": self.warmup,
                 "steps": self.steps, "target_accept": self.target_accept}  # fmt: skip
        return {k: v for k, v in given.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """Plain values (paths as text), e.g. to recognise a fit already done."""
        out: dict[str, Any] = {}
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            out[k] = str(v) if isinstance(v, Path) else (list(v) if isinstance(v, tuple) else v)
        return out


@dataclass(frozen=True)
class FitOutcome:
    """What a fit wrote: the run folder ``out``, the `FittedModel`, the content of
    summary.json, the data checks written beside it, the data-check warnings (one line each,
    also passed to ``on_warning`` as they arise) and the convergence warnings of the fit."""

    out: Path
    fitted: Any
    summary: dict
    checks: dict
    method: str
    data_warnings: tuple[str, ...] = ()
    convergence_warnings: tuple[str, ...] = field(default=())

    @property
    def n_channels(self) -> int:
        """The channels with spend (a geo fit's paid and reach-and-frequency channels)."""
        names = getattr(self.fitted, "media_names", None)
        return len(names if names is not None else self.fitted.data.channel_names)

    @property
    def is_geo(self) -> bool:
        """A fit of the geo model."""
        return getattr(self.fitted, "geos", None) is not None


def check_out(out: Path, force: bool) -> None:
    """An existing ``out`` folder with files is replaced only with ``force``, and only when it
    is a run folder (so ``force`` never wipes a folder of other files)."""
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


def load_data(data: Any, section: Any, options: FitOptions):
    """``(Dataset, event_columns)`` from a data file (CSV / Parquet) or a DataFrame, with the
    config's ``data:`` section and the options' column roles on top
    (`mediamix.data.load_dataset`; a DataFrame replaces the section's path or SQL)."""
    import pandas as pd

    from mediamix.data import Dataset, load_dataset

    roles = {"date": options.date, "kpi": options.kpi,
             "channels": None if options.channels is None else list(options.channels),
             "controls": None if options.controls is None else list(options.controls)}  # fmt: skip
    if not isinstance(data, pd.DataFrame):
        return load_dataset(data, section, **roles)
    from dataclasses import replace

    from mediamix.data.config import DataConfig, expand_events

    cfg = DataConfig.parse(section, "data").override(None, **roles)
    replace(cfg, path="<table>", sql=None).require("data")  # every role given
    frame, ctrls, events = data, list(cfg.controls), []
    if cfg.events_column:
        frame, ctrls = expand_events(frame, cfg.events_column, ctrls, where="data.events_column")
        events = ctrls[len(cfg.controls) :]
    ds = Dataset.from_frame(frame, date=cfg.date, kpi=cfg.kpi, channels=list(cfg.channels),
                            controls=ctrls, geo=cfg.geo, n_params=cfg.n_params,
                            kpi_value=cfg.kpi_value,
                            date_format=cfg.date_format,
                            decimal=cfg.decimal or frame.attrs.get("decimal"))  # fmt: skip
    return ds, events


@dataclass(frozen=True)
class PreparedFit:
    """Everything a fit needs once its inputs are checked: the model ``spec`` (with the
    data's events), the `Dataset`, the experiments, the data checks to write beside the run
    and their warning lines."""

    options: FitOptions
    spec: Any
    dataset: Any
    experiments: Any
    checks: dict
    data_warnings: tuple[str, ...] = ()
    geo: bool = False  # the geo model: ``dataset`` is a `Panel`


def check_level(level: float) -> None:
    if not (math.isfinite(level) and 0 < level < 1):
        raise SpecError(f"--level must be between 0 and 1, e.g. 0.9 (got {level})")


def prepare_fit(
    data: Any, options: FitOptions, *, on_warning: Callable[[str], None] | None = None
) -> PreparedFit:
    """The checks of a fit before any compilation: the config, the data, the model against
    the data (the rows rule on the model's own terms), the experiments and the data checks
    (each warning line passed to ``on_warning`` as it arises)."""
    from mediamix.data.diagnostics import diagnostics
    from mediamix.data.experiments import read_experiments
    from mediamix.jsonable import jsonable
    from mediamix.model.spec import ModelSpec, config_experiments, count_parameters, load_config

    o = options
    data_cfg, spec = load_config(o.config) if o.config else ({}, ModelSpec())
    if is_geo_fit(data_cfg, o):
        return prepare_geo_fit(data, o, data_cfg, spec, on_warning=on_warning)
    ds, events = load_data(data, data_cfg, o)
    if events:
        spec = spec.replace(events=tuple(spec.events) + tuple(events))
    if o.time_varying is not None:
        spec = spec.replace(time_varying=tuple(o.time_varying))
    spec.validate_for(ds.channel_names, ds.control_names, ds.freq, n_periods=ds.n_periods)
    # the experiments option wins over the config's experiments: entry
    source = o.experiments or (config_experiments(o.config) if o.config else None)
    exps = read_experiments(source, ds)
    # as `mediamix check` with the same config: the history-length check counts the model
    n_params = (count_parameters(spec, ds.channel_names, ds.control_names, ds.freq)
                if o.config else None)  # fmt: skip
    diag = diagnostics(ds, n_params)
    lines = []
    for check in diag.warnings:
        lines.append(f"data check {check.name} {check.subject}: {check.advice}")
        if on_warning is not None:
            on_warning(lines[-1])
    checks = jsonable({"dataset": ds.summary(), **diag.to_dict()})
    return PreparedFit(o, spec, ds, exps, checks, tuple(lines))


def is_geo_fit(data_section: Any, options: FitOptions) -> bool:
    """The data go to the geo model: the config's data section or the options name a geo or
    population column, or an organic, non-media or reach-and-frequency role."""
    from mediamix.data.config import DataConfig

    return DataConfig.parse(data_section, "data").override(None, **options.panel_roles()).is_panel


def _refuse_for_geo(options: FitOptions) -> None:
    """The options of a fit that the geo model does not take: one message each, with the fix."""
    from mediamix.model.spec import config_experiments

    o = options
    if o.time_varying:
        raise SpecError(
            f"--time-varying: the geo model has no time-varying effects (got "
            f"{', '.join(o.time_varying)}). Fix: leave --time-varying out; or fit the national "
            "roll-up with them (`mediamix check DATA --geo COL --write national.csv`, then "
            "`mediamix fit national.csv --time-varying ...`)"
        )
    source = o.experiments or (config_experiments(o.config) if o.config else None)
    if source is not None:
        key = "--experiments" if o.experiments else "experiments"
        what = "--experiments" if o.experiments else "the config's experiments: entry"
        raise SpecError(
            f"{key}: the geo model does not take lift tests yet. Fix: fit the panel without "
            f"{what}; or calibrate the national model with them (`mediamix check DATA --geo "
            "COL --write national.csv`, then `mediamix fit national.csv --experiments ...`)"
        )


def prepare_geo_fit(
    data: Any,
    options: FitOptions,
    data_section: Any,
    spec: Any,
    *,
    on_warning: Callable[[str], None] | None = None,
) -> PreparedFit:
    """`prepare_fit` for the geo model: refuse the options it does not take, read the
    `Panel`, check the geo model against it (its settings, the rows rule, the hold-out; no
    compilation), and run the data checks of the panel and of its national roll-up."""
    import pandas as pd

    from mediamix.data.diagnostics import Diagnostics, diagnostics, panel_checks
    from mediamix.data.panel import load_panel
    from mediamix.estimator.geo import GeoMMM
    from mediamix.jsonable import jsonable
    from mediamix.model.spec import count_parameters

    o = options
    _refuse_for_geo(o)
    roles = {"date": o.date, "kpi": o.kpi,
             "channels": None if o.channels is None else list(o.channels),
             "controls": None if o.controls is None else list(o.controls),
             **o.panel_roles()}  # fmt: skip
    roles = {k: v for k, v in roles.items() if v is not None}
    if isinstance(data, pd.DataFrame):
        panel, events = load_panel(None, data_section, frame=data, **roles)
    else:
        panel, events = load_panel(data, data_section, **roles)
    if events:
        spec = spec.replace(events=tuple(spec.events) + tuple(events))
    GeoMMM(spec).prepare(panel, o.holdout)  # the model's settings against the panel
    national = panel.national()
    n_params = (count_parameters(spec, national.channel_names, national.control_names,
                                 national.freq) if o.config else None)  # fmt: skip
    nat = diagnostics(national, n_params)
    diag = Diagnostics(checks=panel_checks(panel) + nat.checks, channel_names=nat.channel_names,
                       correlation=nat.correlation, notes=tuple(panel.notes))  # fmt: skip
    lines = [f"data check {c.name} {c.subject}: {c.advice}" for c in diag.warnings]
    # a reach-and-frequency channel a geo never spends on (the checks name the paid ones)
    lines += [w for w in panel.warnings
              if any(f"on channel '{r}'" in w for r in panel.rf_names)]  # fmt: skip
    if on_warning is not None:
        for line in lines:
            on_warning(line)
    checks = jsonable({"panel": panel.summary(), "dataset": national.summary(), **diag.to_dict()})
    return PreparedFit(o, spec, panel, None, checks, tuple(lines), geo=True)


def geo_non_finite_error(summary: dict, out: Path) -> ConvergenceError | None:
    """An error when a geo fit's national figures are not finite numbers (its expected KPI,
    baseline or a channel's contribution): such a fit is never written."""
    bad = []
    kpi = summary.get("kpi") or {}
    for key in ("expected", "baseline"):
        if not _finite((kpi.get(key) or {}).get("mean")):
            bad.append(f"the {key} KPI")
    for group in ("channels", "organic", "non_media"):
        for name, block in (summary.get(group) or {}).items():
            if not _finite((block.get("contribution") or {}).get("mean")):
                bad.append(f"the contribution of '{name}'")
    if not bad:
        return None
    return ConvergenceError(
        f"the fit's results are not finite numbers ({', '.join(bad[:3])}"
        f"{' and more' if len(bad) > 3 else ''}). Nothing was written; {out} was left as it "
        "was. Fix: check the data for huge or constant values (`mediamix check DATA --geo "
        "...`), then fit again (more steps, or method nuts)"
    )


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def finish_fit(prepared: PreparedFit, fitted: Any, out: str | Path,
               convergence_warnings: tuple[str, ...] = ()) -> FitOutcome:  # fmt: skip
    """Refuse non-finite results, then write the run folder ``out`` (`RunDir.write`); a
    Ctrl+C / SIGTERM recorded during the fit (`mediamix.runs.layout.check_interrupt`) stops it
    here, with nothing written."""
    from mediamix.jsonable import jsonable
    from mediamix.runs import RunDir
    from mediamix.runs.layout import check_interrupt

    check_interrupt()
    out = Path(out)
    if prepared.geo:
        return _finish_geo(prepared, fitted, out, convergence_warnings)
    error = non_finite_error(jsonable(fitted.review.to_dict()), out)
    if error is not None:
        raise error
    summary = RunDir(out).write(fitted, checks=prepared.checks, level=prepared.options.level)
    return FitOutcome(out=out, fitted=fitted, summary=summary, checks=prepared.checks,
                      method=prepared.options.method, data_warnings=prepared.data_warnings,
                      convergence_warnings=tuple(convergence_warnings))  # fmt: skip


def _finish_geo(prepared: PreparedFit, fitted: Any, out: Path,
                convergence_warnings: tuple[str, ...]) -> FitOutcome:  # fmt: skip
    """`finish_fit` of a geo fit: its summary, refused when not finite, then
    `RunDir.write_geo`."""
    from mediamix.jsonable import jsonable
    from mediamix.runs import RunDir

    level = prepared.options.level
    summary = fitted.to_json(level)
    error = geo_non_finite_error(summary, out)
    if error is None and getattr(fitted, "review", None) is not None:
        error = non_finite_error(jsonable(fitted.review.to_dict()), out)
    if error is not None:
        raise error
    summary = RunDir(out).write_geo(fitted, checks=prepared.checks, level=level,
                                    summary=summary)  # fmt: skip
    return FitOutcome(out=out, fitted=fitted, summary=summary, checks=prepared.checks,
                      method=prepared.options.method, data_warnings=prepared.data_warnings,
                      convergence_warnings=tuple(convergence_warnings))  # fmt: skip


def fit_run(
    data: Any,
    out: str | Path,
    options: FitOptions,
    *,
    progress: bool | Callable[[Any], None] = False,
    on_warning: Callable[[str], None] | None = None,
) -> FitOutcome:
    """Fit one model and write its run folder ``out``; what ``mediamix fit`` does.

    ``data``: a CSV / Parquet file or a DataFrame (one market's rows, or a geo panel's
    long table with the geo options or config keys: then the geo model). ``progress``: as
    `MMM.fit` (False, True for stderr lines, or a callback). ``on_warning``: called with each
    data-check warning line (``"data check <name> <subject>: <advice>"``) before the fit.
    User mistakes raise `mediamix.errors` exceptions with the same one-line messages as the
    command line; nothing is written unless the fit succeeds with finite results.
    (`prepare_fit`, then `MMM.fit`, then `finish_fit`.)
    """
    from mediamix.estimator import MMM
    from mediamix.inference import sampler
    from mediamix.inference.diagnostics import ConvergenceWarning

    out = Path(out)
    o = options
    check_level(o.level)
    check_out(out, o.force)
    fit_with = sampler(o.method, **o.sampler_options())
    prep = prepare_fit(data, o, on_warning=on_warning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        if prep.geo:
            from mediamix.estimator.geo import GeoMMM

            fitted = GeoMMM(prep.spec).fit(prep.dataset, fit_with, seed=o.seed,
                                           holdout=o.holdout, progress=progress)  # fmt: skip
        else:
            fitted = MMM(prep.spec).fit(prep.dataset, fit_with, seed=o.seed, holdout=o.holdout,
                                        progress=progress, experiments=prep.experiments)  # fmt: skip
    conv = tuple(str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning))
    return finish_fit(prep, fitted, out, conv)
