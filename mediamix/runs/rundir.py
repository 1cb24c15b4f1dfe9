"""`RunDir`: write a complete run folder, read one lazily, migrate older ones.

Every writer (``mediamix fit``, ``mediamix demo``, the web planner's fits, fleets of fits)
calls :meth:`RunDir.write`, so every run folder holds the same files
(:mod:`mediamix.runs.layout`); a fit of the geo model (`mediamix.estimator.geo.GeoFitted`)
is written by :meth:`RunDir.write_geo`, the same way (staged, ``meta.json`` last, with
``"model": "geo"``). Reading needs no JAX until the model itself is asked for; a geo run's
:attr:`RunView.fitted` is its `GeoFitted`, its :attr:`RunView.responses` the national curves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from mediamix import __version__
from mediamix.errors import MediamixError, SpecError
from mediamix.jsonable import jsonable
from mediamix.runs import layout as L


def fitted_responses(fitted) -> list[dict[str, Any]]:
    """A fitted model's response curves as JSON mappings, today's mean spend as the reference
    (what the planner and ``mediamix optimize --run`` optimise)."""
    from dataclasses import replace

    current = fitted.current_spend()
    out = []
    for r in fitted.responses():
        if r.reference_spend is None and r.name in current:
            r = replace(r, reference_spend=float(current[r.name]))
        out.append(jsonable(r.to_dict()))
    return out


def geo_responses(fitted) -> dict[str, list[dict[str, Any]]]:
    """A geo fit's per-geo response curves as JSON mappings, ``{geo: [Response, ...]}``
    (`GeoFitted.responses`: spend per period -> KPI per period, each geo's current spend
    as the reference)."""
    return {str(geo): [jsonable(r.to_dict()) for r in curves]
            for geo, curves in fitted.responses().items()}  # fmt: skip


def saved_data(model_dir: Path) -> SimpleNamespace:
    """The data a saved model was fitted on (original units), read without JAX; for a geo
    model its national totals (KPI and spend summed over the geos, ``spend (T, C + R)`` of
    the paid then reach-and-frequency channels)."""
    arr, meta = L.read_model_data(model_dir)
    d = meta.get("data") or {}
    spend = np.asarray(arr["spend"], dtype=float)
    if meta.get("kind") == "geo":
        d = {"channel_names": [*d.get("channel_names", ()), *d.get("rf_names", ())],
             "control_names": ()}  # fmt: skip
        arr = {k: arr[k] for k in ("dates", "kpi", "spend")}
    return SimpleNamespace(
        dates=np.asarray(arr["dates"]).astype("datetime64[ns]"),
        kpi=np.asarray(arr["kpi"], dtype=float),
        spend=spend,
        media=np.asarray(arr.get("media", spend), dtype=float),
        controls=np.asarray(arr.get("controls", np.zeros((len(spend), 0))), dtype=float),
        channel_names=tuple(
            d.get("channel_names") or [f"channel_{i}" for i in range(spend.shape[1])]
        ),
        control_names=tuple(d.get("control_names") or ()),
        n_train=int(meta.get("n_train", len(spend))),
    )


class RunDir:
    """One run folder. ``RunDir(path).write(fitted, plan=None, checks=None)`` writes it whole;
    ``RunDir(path).read()`` gives a lazy :class:`RunView`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- writing -------------------------------------------------------------------------
    def write(self, fitted, plan=None, checks: dict | None = None, level: float = 0.9,
              keep: tuple[str, ...] = ()) -> dict:  # fmt: skip
        """Write every file of the layout from a `FittedModel` (and a `Plan`, data checks);
        returns the content of summary.json. All files appear at once (staged, then swapped in
        for the folder, :class:`mediamix.runs.layout.Staging`): the new run replaces the old
        one whole, so no ``plan.json``, ``validation.json`` or ``test_design.json`` of the old
        run survives unless named in ``keep``; files the layout does not know are kept."""
        from mediamix.analysis import adstock_curves, fit_table, response_curves

        summary = jsonable(fitted.to_json(level))
        if checks is None:
            from mediamix.data.diagnostics import checks_from_arrays

            checks = checks_from_arrays(fitted.data)
        with L.Staging(self.path, keep=keep) as tmp:
            L.write_json(tmp / L.SUMMARY, summary)
            fitted.save(tmp / L.MODEL_DIR)
            fitted.summary(level).to_csv(tmp / L.SUMMARY_CSV)
            fitted.contributions(level).to_csv(tmp / L.CONTRIBUTIONS, index=False)
            fit_table(fitted, level).to_csv(tmp / L.FIT, index=False)
            response_curves(fitted, level=level).to_csv(tmp / L.RESPONSE_CURVES, index=False)
            adstock_curves(fitted, level=level).to_csv(tmp / L.ADSTOCK_CURVES, index=False)
            L.write_json(tmp / L.RESPONSES, fitted_responses(fitted))
            L.write_json(tmp / L.CHECKS, jsonable(checks))
            if plan is not None:
                L.write_json(tmp / L.PLAN, jsonable(_plan_dict(plan)))
            self._write_meta(tmp, method=fitted.method, level=level)
        return summary

    def write_geo(self, fitted, checks: dict | None = None, level: float = 0.9,
                  keep: tuple[str, ...] = (), summary: dict | None = None) -> dict:  # fmt: skip
        """Write the run folder of a geo fit (`mediamix.estimator.geo.GeoFitted`); returns the
        content of summary.json. Staged like `write` (all files appear at once, the old run
        replaced whole):

        - ``summary.json``: `mediamix.analysis.geo.to_json` (``summary``, when given, is that
          dict already computed), ``summary.csv``: its national rows (one per channel);
        - ``model/``: `GeoFitted.save` (its ``meta.json`` has ``"kind": "geo"``);
        - ``contributions.csv`` (geo, channel, role, mean, lower, upper, share),
          ``geo_summary.csv`` (geo, channel, role, spend, contribution / ROAS / mROAS /
          cost per KPI ``_mean``, ``_lower``, ``_upper``), ``response_curves.csv`` (geo,
          channel, spend, mean, lower, upper, current), ``fit.csv`` (the national KPI and the
          predictive band of the sum over the geos);
        - ``responses.json``: ``{"responses": [...], "geo_responses": {geo: [...]}}``, the
          national curves (`mediamix.analysis.geo.national_responses`, today's geo split)
          that the national planner reads, and each geo's own;
        - ``data_checks.json``, ``meta.json`` (``"model": "geo"``, the number of geos).
        """
        from mediamix.analysis import geo as ga

        summary = jsonable(summary if summary is not None else ga.to_json(fitted, level))
        if checks is None:
            checks = _geo_checks(fitted)
        table = ga.summary(fitted, level)
        with L.Staging(self.path, keep=keep) as tmp:
            L.write_json(tmp / L.SUMMARY, summary)
            fitted.save(tmp / L.MODEL_DIR)
            national = table[table["geo"] == ga.NATIONAL].drop(columns="geo")
            national.set_index("channel").to_csv(tmp / L.SUMMARY_CSV)
            table.to_csv(tmp / L.GEO_SUMMARY, index=False)
            ga.contributions(fitted, level).to_csv(tmp / L.CONTRIBUTIONS, index=False)
            ga.response_curves(fitted, level=level).to_csv(tmp / L.RESPONSE_CURVES, index=False)
            _geo_fit_table(fitted, level).to_csv(tmp / L.FIT, index=False)
            L.write_json(tmp / L.RESPONSES, {
                "responses": [jsonable(r.to_dict()) for r in ga.national_responses(fitted)],
                "geo_responses": geo_responses(fitted),
            })  # fmt: skip
            L.write_json(tmp / L.CHECKS, jsonable(checks))
            self._write_meta(tmp, method=fitted.method, level=level, model="geo",
                             geos=len(fitted.geos))  # fmt: skip
        return summary

    def write_plan(self, plan) -> Path:
        """Add (or replace) ``plan.json`` in an existing run."""
        if not self.path.is_dir():
            raise SpecError(f"run directory '{self.path}' does not exist; write the run first")
        self.read()  # an unfinished or damaged folder gets no plan
        path = self.path / L.PLAN
        L.write_json(path, jsonable(_plan_dict(plan)))
        self._update_files()
        return path

    def _write_meta(self, folder: Path, **extra: Any) -> None:
        files = sorted(p.name for p in folder.iterdir() if p.name not in (L.META, L.PARTIAL))
        meta = {
            "format_version": L.FORMAT_VERSION,
            "kind": "mediamix-run",
            "mediamix": __version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": files,
            **extra,
        }
        L.write_json(folder / L.META, meta)

    def _update_files(self) -> None:
        meta_path = self.path / L.META
        if L.run_format(self.path) < 2:
            return
        meta = L.read_json(meta_path)
        owned = set(L.RUN_FILES) - {L.META}
        meta["files"] = sorted(p.name for p in self.path.iterdir() if p.name in owned)
        L.write_json(meta_path, meta)

    # -- reading -------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.is_dir()

    @property
    def format_version(self) -> int:
        return L.run_format(self.path)

    def read(self) -> RunView:
        """A lazy view of the folder (errors name the folder and the fix). Refused: a missing
        folder, a file, an unfinished write (the ``.mediamix-partial`` marker) and a damaged
        run ``meta.json``; a folder without ``meta.json`` is read as format 1."""
        if not self.path.exists():
            aside = L.parked(self.path)
            if aside:
                raise SpecError(
                    f"run directory '{self.path}' is missing, but '{aside[-1]}' holds the run "
                    "folder it replaced (the replacement was cut short). Fix: rename it back "
                    f"(mv '{aside[-1]}' '{self.path}') or fit again"
                )
            raise SpecError(
                f"run directory '{self.path}' does not exist. Fix: run `mediamix fit DATA --out "
                f"{self.path}` first, or give the folder it wrote"
            )
        if not self.path.is_dir():
            raise SpecError(
                f"'{self.path}' is a file; give the run folder `mediamix fit --out` wrote"
            )
        if (self.path / L.PARTIAL).exists():
            raise SpecError(
                f"'{self.path}' is an unfinished run folder: its write was interrupted before "
                f"it was complete (the marker '{L.PARTIAL}' is still there). Fix: fit again "
                "(`mediamix fit DATA --out RUN_DIR --force`) and delete this folder"
            )
        L.run_format(self.path)  # a damaged meta.json is an error naming it
        return RunView(self.path)

    def migrate(self) -> int:
        """Bring a format-1 folder up to the current format in place (the model moves into
        ``model/``, missing tables and files are written); returns the version it had."""
        old = self.format_version
        if old >= L.FORMAT_VERSION:
            return old
        view = self.read()
        fitted = view.fitted
        if fitted is None:
            raise SpecError(
                f"'{self.path}' holds no saved model, so it cannot be migrated; fit it again"
            )
        # the model files of a format-1 folder at its root are replaced by model/; the plan and
        # the validation results stay with the run
        self.write(fitted, checks=view.checks, level=view.level,
                   keep=(L.PLAN, L.VALIDATION, L.TEST_DESIGN, L.REPORT))  # fmt: skip
        self._update_files()
        return old


def _plan_dict(plan) -> dict:
    return plan if isinstance(plan, dict) else plan.to_dict()


def _geo_checks(fitted) -> dict:
    """The data checks of a geo fit's national totals (when no checks are given)."""
    from mediamix.data.diagnostics import checks_from_arrays

    d = fitted.data
    return checks_from_arrays(SimpleNamespace(
        channel_names=list(fitted.media_names), control_names=list(d.control_names),
        media=np.concatenate([np.asarray(d.media).sum(0),
                              (np.asarray(d.reach) * np.asarray(d.frequency)).sum(0)], axis=-1),
        spend=np.asarray(fitted.media_spend()).sum(0), controls=np.asarray(d.controls).mean(0),
    ))  # fmt: skip


def _geo_fit_table(fitted, level: float) -> pd.DataFrame:
    """``fit.csv`` of a geo fit: per date the national KPI (the sum over the geos), the mean
    and the band of the predictive sum over the geos, and whether the period was fitted."""
    from mediamix.analysis.geo import interval

    pred = np.asarray(fitted.predictive(seed=0), dtype=float).sum(axis=1)  # (S, T)
    mean, lo, hi = interval(pred, level)
    kpi = np.asarray(fitted.data.kpi, dtype=float).sum(axis=0)
    T = len(kpi)
    return pd.DataFrame({
        "date": pd.DatetimeIndex(np.asarray(fitted.data.dates)).strftime("%Y-%m-%d"),
        "actual": kpi, "mean": mean, "lower": lo, "upper": hi,
        "train": np.arange(T) < int(fitted.n_train),
    })  # fmt: skip


class RunView:
    """What a run folder holds; every attribute is read (or recomputed) on first use.

    ``summary``, ``plan``, ``checks``, ``meta`` (dicts or None), ``table(name)`` (DataFrames
    named in ``layout.TABLES`` or None), ``responses`` (list of Response mappings), ``fitted``
    (the `FittedModel`, loaded on first use; None without a saved model), ``model_dir``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @cached_property
    def format_version(self) -> int:
        return L.run_format(self.path)

    @cached_property
    def meta(self) -> dict | None:
        p = self.path / L.META
        return L.read_json(p) if p.is_file() and self.format_version >= 2 else None

    def _json(self, name: str):
        p = self.path / name
        return L.read_json(p) if p.is_file() else None

    @cached_property
    def summary(self) -> dict | None:
        return self._json(L.SUMMARY)

    @cached_property
    def plan(self) -> dict | None:
        return self._json(L.PLAN)

    @cached_property
    def checks(self) -> dict | None:
        got = self._json(L.CHECKS)
        return got if isinstance(got, dict) and ("checks" in got or "correlation" in got) else None

    @property
    def level(self) -> float:
        return float((self.summary or {}).get("level") or 0.9)

    def table(self, name: str) -> pd.DataFrame | None:
        """A CSV table of the run by name (``contributions``, ``fit``, ...), or None."""
        if name not in L.TABLES:
            raise SpecError(f"unknown run table '{name}'; tables: {', '.join(L.TABLES)}")
        p = self.path / L.TABLES[name]
        if not p.is_file():
            return None
        df = pd.read_csv(p)
        if "date" in df.columns:
            df["date"] = pd.to_datetime(df["date"])
        return df

    @cached_property
    def model_dir(self) -> Path | None:
        return L.find_model_dir(self.path)

    @cached_property
    def data(self) -> SimpleNamespace | None:
        """The fitted data (original units), without JAX; None without a saved model."""
        return saved_data(self.model_dir) if self.model_dir is not None else None

    @property
    def is_geo(self) -> bool:
        """The run holds a fit of the geo model (its saved model's ``kind`` is ``geo``)."""
        if (self.meta or {}).get("model") == "geo":
            return True
        return self.model_dir is not None and self._model_kind == "geo"

    @cached_property
    def _model_kind(self) -> str | None:
        try:
            return L.read_model_meta(self.model_dir).get("kind")
        except (MediamixError, OSError, ValueError):
            return None

    @cached_property
    def fitted(self):
        """The saved model (imports JAX): a `FittedModel`, or a `GeoFitted` when the saved
        model's ``kind`` is ``geo``; None when the run has no saved model."""
        if self.model_dir is None:
            return None
        if self._model_kind == "geo":
            from mediamix.estimator.geo import GeoFitted

            return GeoFitted.load(self.model_dir)
        from mediamix.estimator import FittedModel

        return FittedModel.load(self.model_dir)

    @cached_property
    def geo_responses(self) -> dict[str, list[dict[str, Any]]] | None:
        """A geo run's per-geo response curves (``responses.json``'s ``geo_responses``,
        ``{geo: [Response mapping, ...]}``); None for a national run."""
        got = self._json(L.RESPONSES)
        if isinstance(got, dict) and isinstance(got.get("geo_responses"), dict):
            return got["geo_responses"]
        return None

    @cached_property
    def responses(self) -> list[dict[str, Any]]:
        """Response curves: ``responses.json`` (a geo run's: its national ``responses``), or
        computed from the saved model."""
        got = self._json(L.RESPONSES)
        if isinstance(got, dict) and "responses" in got:
            got = got["responses"]
        if got is not None:
            if not isinstance(got, list) or not got:
                raise SpecError(
                    f"'{self.path / L.RESPONSES}' must hold a non-empty list of response curves"
                )
            return got
        if self.fitted is None:
            raise SpecError(
                f"{str(self.path / L.RESPONSES)!r} is missing and {str(self.path)!r} holds no "
                "saved model (posterior.nc): the planner needs the fitted response curves"
            )
        if self._model_kind == "geo":
            from mediamix.analysis.geo import national_responses

            return [jsonable(r.to_dict()) for r in national_responses(self.fitted)]
        return fitted_responses(self.fitted)

    def current_spend(self, data=None) -> dict[str, float] | None:
        """Mean spend per period per channel over the fitted window (from ``data``, the saved
        data, or the summary)."""
        if data is None and self.model_dir is not None:
            try:
                data = self.data
            except (MediamixError, OSError, KeyError, ValueError):  # damaged: use the summary
                data = None
        if data is not None:  # over the likelihood window the summary records (after warm-up)
            start = int(((self.summary or {}).get("window") or {}).get("first_period") or 0)
            spend = data.spend[start : data.n_train].mean(0)
            return {c: float(v) for c, v in zip(data.channel_names, spend)}
        cur = {
            n: c.get("current_spend_per_period")
            for n, c in ((self.summary or {}).get("channels") or {}).items()
            if c.get("current_spend_per_period") is not None
        }
        return {k: float(v) for k, v in cur.items()} or None
