"""The geo estimator: ``GeoMMM(spec).fit(panel, "nuts" | sampler) -> GeoFitted``.

The hierarchical model of `mediamix.model.geo` fitted by the same samplers as the national
model (`mediamix.inference`: NUTS, SVI, MAP; their ``run(model, design, structure, ...)``
unchanged). `GeoFitted` holds the posterior (ArviZ, dims ``geo``, ``channel``, ...), the
spec, the data, the scalers and the diagnostics; every number it gives is in original KPI
units (never per capita). The analysis (`mediamix.analysis.geo`) reads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from mediamix.errors import SpecError
from mediamix.estimator.fitted import FittedModel, _saved_review, flat_posterior, site_draws
from mediamix.inference import diagnostics as dg
from mediamix.inference import sampler as make_sampler
from mediamix.jsonable import jsonable
from mediamix.model import geo as gm
from mediamix.model.geo_data import GeoData, GeoScalers
from mediamix.model.priors import coefficient_name
from mediamix.model.spec import ModelSpec
from mediamix.runs import layout

#: draws evaluated at once by the analysis functions (bounds the memory of big panels)
DRAW_CHUNK = 200
#: points of the frequency grid of `GeoFitted.optimal_frequency`
FREQUENCY_GRID = 400


def as_geo_data(data: Any) -> GeoData:
    """A `GeoData` from a `GeoData`, a `mediamix.data.panel.Panel` or a national `Dataset`
    (one geo)."""
    if isinstance(data, GeoData):
        return data
    if hasattr(data, "geos") and np.ndim(getattr(data, "kpi", None)) == 2:
        return GeoData.from_panel(data)
    if hasattr(data, "kpi_values"):
        from mediamix.data.panel import Panel

        return GeoData.from_panel(Panel.from_dataset(data))
    raise SpecError(
        f"the geo model fits a Panel, a GeoData or a Dataset; got {type(data).__name__}. "
        "Fix: load the table with mediamix.data.panel.load_panel or build "
        "GeoData.from_arrays(...)"
    )


class GeoMMM:
    """``GeoMMM(spec).fit(panel, NUTS(chains=4, draws=1000))`` -> `GeoFitted`.

    ``spec``: a `ModelSpec`, a mapping of settings or None (defaults); ``settings`` override
    single settings (``geo_pooling="none"``, ``geo_transforms="per_geo"``, ...)."""

    def __init__(self, spec: ModelSpec | dict | None = None, **settings: Any) -> None:
        if spec is None:
            spec = ModelSpec(**settings)
        elif isinstance(spec, dict):
            spec = ModelSpec.from_dict({**spec, **settings})
        elif settings:
            spec = spec.replace(**settings)
        gm.check_geo_spec(spec)
        self.spec = spec

    def prepare(self, data: Any, holdout: int = 0):
        """``(data, scalers, structure, design, n_train)`` for a panel and a hold-out."""
        gd = as_geo_data(data)
        T = gd.n_periods
        if isinstance(holdout, bool) or not isinstance(holdout, int) or not 0 <= holdout <= T - 10:
            raise SpecError(
                f"holdout must be an integer between 0 and {max(T - 10, 0)} (periods kept out of "
                f"the fit, at the end); got {holdout!r}"
            )
        n_train = T - holdout
        scalers = GeoScalers.fit(gd, n_train, self.spec.events)
        structure = gm.build_geo_structure(self.spec, gd, scalers, n_train)
        design = gm.build_geo_design(gd, scalers, structure, n_train)
        return gd, scalers, structure, design, n_train

    def fit(
        self,
        data: Any,
        method: Any = "nuts",
        *,
        seed: int = 0,
        holdout: int = 0,
        progress: bool | Callable[[Any], None] = False,
        warn: bool = True,
        experiments: Any = None,
        **options: Any,
    ) -> GeoFitted:
        """Fit and return a `GeoFitted` (diagnostics computed, warnings issued).

        ``method`` and ``options`` as `mediamix.estimator.MMM.fit` (``"nuts"``: chains,
        draws, warmup, target_accept, max_tree_depth, dense_mass; ``"svi"``: steps, draws,
        learning_rate, guide; ``"map"``: steps, learning_rate). ``holdout``: the last periods
        of every geo kept out of the likelihood."""
        if experiments is not None:
            raise SpecError(
                "experiments: the geo model does not take lift tests yet. Fix: fit without "
                "experiments, or calibrate the national model (MMM.fit(..., experiments=...))"
            )
        chosen = make_sampler(method, **options)
        gd, scalers, structure, design, n_train = self.prepare(data, holdout)
        t0 = time.perf_counter()
        res = chosen.run(gm.model, design, structure, seed=seed, progress=progress)
        secs = time.perf_counter() - t0
        return GeoFitted.from_result(
            res, self.spec, gd, scalers, n_train, chosen.name, secs, warn=warn
        )


def _to_idata(res, structure: gm.GeoStructure, data: GeoData):
    import arviz as az

    dims, coords = structure.dims()
    post = {k: np.asarray(v) for k, v in res.samples.items() if k in dims}
    coords = {**coords, "time": np.asarray(data.dates)}
    return az.from_dict(
        posterior=post,
        sample_stats=res.sample_stats or None,
        observed_data={"kpi": np.asarray(data.kpi)},
        coords=coords,
        dims={**{k: v for k, v in dims.items() if k in post}, "kpi": ["geo", "time"]},
    )


class GeoFitted:
    """A fitted geo model; every method returns numbers in original KPI units.

    Shapes: draws ``S`` lead, then geo ``G``, time ``T``, channel; ``media`` channels are
    paid then reach-and-frequency (`media_names`)."""

    def __init__(
        self,
        spec: ModelSpec,
        data: GeoData,
        scalers: GeoScalers,
        n_train: int,
        method: str,
        fit_seconds: float,
        idata: Any,
        info: dict[str, Any] | None = None,
        diagnostics: dg.FitDiagnostics | None = None,
        review: Any = None,
    ) -> None:
        self.spec = spec
        self.data = data
        self.scalers = scalers
        self.n_train = int(n_train)
        self.method = method
        self.fit_seconds = float(fit_seconds)
        self.idata = idata
        self.info = dict(info or {})
        self.diagnostics = diagnostics
        self._review = review  # the model review (`review`), computed after the fit
        self.structure = gm.build_geo_structure(spec, data, scalers, self.n_train)
        self.design = gm.build_geo_design(data, scalers, self.structure, self.n_train)

    @classmethod
    def from_result(cls, res, spec, data, scalers, n_train, method, fit_seconds, warn=True):
        structure = gm.build_geo_structure(spec, data, scalers, n_train)
        idata = _to_idata(res, structure, data)
        fitted = cls(spec, data, scalers, n_train, method, fit_seconds, idata, res.info)
        fitted.diagnostics = fitted.compute_diagnostics()
        fitted._review = fitted.compute_review()
        if warn:
            dg.emit(list(fitted.diagnostics.warnings))
        return fitted

    def compute_review(self, level: float = 0.9):
        """The model review of the national roll-up and of each geo's fit
        (:func:`mediamix.analysis.geo_review.review`)."""
        from mediamix.analysis.geo_review import review

        return review(self, level)

    @property
    def review(self):
        """The `Review` computed after the fit (computed on first use for a model saved
        without one)."""
        if self._review is None:
            self._review = self.compute_review()
        return self._review

    # -- names and sizes ----------------------------------------------------------------------
    @property
    def geos(self) -> list[str]:
        return list(self.data.geos)

    @property
    def channel_names(self) -> list[str]:
        """The paid channels."""
        return list(self.data.channel_names)

    @property
    def rf_names(self) -> list[str]:
        return list(self.data.rf_names)

    @property
    def organic_names(self) -> list[str]:
        return list(self.data.organic_names)

    @property
    def non_media_names(self) -> list[str]:
        return list(self.data.non_media_names)

    @property
    def media_names(self) -> list[str]:
        """The channels with spend: paid, then reach and frequency."""
        return list(self.data.media_names)

    @property
    def window(self) -> slice:
        """The likelihood window (after the adstock warm-up, before the hold-out)."""
        return gm.likelihood_window(self.structure, self.n_train)

    @cached_property
    def params(self) -> dict:
        """Posterior draws of the sites the maths reads, chains and draws flattened (S, ...)."""
        return gm.posterior_params(flat_posterior(self.idata), self.structure)

    # other draws of the sites the maths reads (e.g. the prior's), as for a national fit
    with_params = FittedModel.with_params

    @property
    def n_draws(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    def draws(self, name: str) -> np.ndarray:
        """Draws of one posterior site, (S, ...)."""
        return site_draws(self.idata, name)

    # -- draws in original units -------------------------------------------------------------
    @cached_property
    def _components_fn(self):
        return gm.batched(gm.components, self.structure)

    def design_for(self, media=None, rf_spend=None, non_media=None) -> dict:
        """The model-unit arrays, with other paid activity ``media (G, T, C)``, ``rf_spend
        (G, T, R)`` or ``non_media (G, T, N)`` in original units."""
        if media is None and rf_spend is None and non_media is None:
            return self.design
        for name, value, ref in (("media", media, self.data.media),
                                 ("rf_spend", rf_spend, self.data.rf_spend),
                                 ("non_media", non_media, self.data.non_media)):  # fmt: skip
            if value is not None and np.shape(value) != ref.shape:
                raise SpecError(
                    f"{name} must have shape {ref.shape} (geos x periods x channels); got "
                    f"{np.shape(value)}"
                )
            if value is not None and name != "non_media" and np.any(np.asarray(value) < 0):
                raise SpecError(f"{name}: spend and activity must be >= 0")
        return gm.build_geo_design(self.data, self.scalers, self.structure, self.n_train,
                                   media, rf_spend, non_media)  # fmt: skip

    def components(self, media=None, rf_spend=None, non_media=None) -> dict[str, np.ndarray]:
        """Model-unit component draws: baseline (S, G, T), media (S, G, T, C + R), organic
        (S, G, T, O), non_media (S, G, T, N), mu (S, G, T)."""
        import jax

        design = self.design_for(media, rf_spend, non_media)
        S = self.n_draws
        parts = []
        for a in range(0, S, DRAW_CHUNK):
            p = jax.tree.map(lambda v, a=a: v[a : a + DRAW_CHUNK], self.params)
            parts.append({k: np.asarray(v) for k, v in self._components_fn(p, design).items()})
        return {k: np.concatenate([q[k] for q in parts]) for k in parts[0]}

    def _units(self) -> np.ndarray:
        """Model units -> KPI per geo: ``kpi_scale x population_g``, (G,)."""
        return self.scalers.kpi_scale * self.data.population

    def contribution_draws(self, media=None, rf_spend=None, non_media=None, comps=None) -> dict:
        """Draws in KPI units: ``media (S, G, T, C + R)`` (paid then rf), ``organic (S, G, T,
        O)``, ``non_media (S, G, T, N)`` (against the treatment at 0), ``baseline (S, G,
        T)``. The arguments replace the observed paid activity (``media``, as ``data.media``:
        spend / cost per unit), rf spend (reach scaled at the observed frequency) and
        non-media treatments (original units, the data's shapes)."""
        c = comps if comps is not None else self.components(media, rf_spend, non_media)
        u = self._units()
        out = {}
        for k in ("media", "organic", "non_media"):
            out[k] = c[k].astype(np.float64) * u[None, :, None, None]
        out["baseline"] = c["baseline"].astype(np.float64) * u[None, :, None]
        return out

    def expected_kpi(self, media=None, rf_spend=None, non_media=None, comps=None) -> np.ndarray:
        """Draws of the expected KPI per geo and period, (S, G, T)."""
        c = comps if comps is not None else self.components(media, rf_spend, non_media)
        return c["mu"].astype(np.float64) * self._units()[None, :, None]

    def predictive(self, seed: int = 0, media=None, rf_spend=None, non_media=None) -> np.ndarray:
        """Posterior predictive draws of the KPI (with noise), (S, G, T)."""
        mu = self.components(media, rf_spend, non_media)["mu"].astype(np.float64)
        rng = np.random.default_rng(seed)
        sigma = np.asarray(self.params["sigma"], dtype=np.float64)[:, None, None]
        if self.structure.likelihood == "student_t":
            nu = np.asarray(self.params["nu"], dtype=np.float64)[:, None, None]
            eps = rng.standard_t(np.broadcast_to(nu, mu.shape)) * sigma
        else:
            eps = rng.standard_normal(mu.shape) * sigma
        return (mu + eps) * self._units()[None, :, None]

    def media_spend(self) -> np.ndarray:
        """Spend of `media_names` (paid then rf), (G, T, C + R)."""
        return self.data.media_spend

    def media_for_spend(self, spend: np.ndarray) -> np.ndarray:
        """Paid activity (G, T, C) that a paid spend plan (G, T, C) buys at each geo's cost
        per unit (the ``media`` argument of the draws)."""
        return np.asarray(spend, dtype=float) / self.data.cost_per_unit[:, None, :]

    def adstock_weights(self) -> np.ndarray:
        """Lag weights per draw of the transform channels (paid, rf, organic): (S, A, L), or
        (S, G, A, L) with per-geo decay."""
        import jax

        fn = jax.jit(jax.vmap(lambda p: gm.adstock_weights(p, self.structure)))
        return np.asarray(fn(self.params))

    # -- reach and frequency, and the seam to the optimizer -----------------------------------
    def _frequency_grid(self, r: int) -> np.ndarray:
        top = float(np.max(self.data.frequency[..., r], initial=0.0))
        return np.linspace(1.0, max(1.5 * top, 2.0), FREQUENCY_GRID)

    def optimal_frequency_draws(self) -> np.ndarray:
        """Per draw and rf channel the frequency that maximises the return per impression
        ``Hill(f) / f`` (fixed budget: reach x f impressions) on a grid from 1 to 1.5x the
        highest observed frequency, (S, R)."""
        from mediamix.transforms.saturation import get_saturation

        hill = get_saturation(gm.RF_FAMILY)
        k = np.asarray(self.params.get("rf_hill_k", np.zeros((self.n_draws, 0))), float)
        s = np.asarray(self.params.get("rf_hill_s", np.zeros((self.n_draws, 0))), float)
        out = np.zeros((self.n_draws, len(self.rf_names)))
        for r in range(len(self.rf_names)):
            f = self._frequency_grid(r)
            kw = {"k": k[:, r, None], "s": s[:, r, None], coefficient_name(gm.RF_FAMILY): 1.0}
            per = hill.fn(f[None, :], **kw) / f[None, :]
            out[:, r] = f[np.argmax(per, axis=1)]
        return out

    def optimal_frequency(self, level: float = 0.9):
        """`pandas.DataFrame` (channel, mean, lower, upper) of the optimal frequency per rf
        channel (`optimal_frequency_draws`), central ``level`` interval."""
        import pandas as pd

        f = self.optimal_frequency_draws()
        lo, hi = (np.quantile(f, [(1 - level) / 2, (1 + level) / 2], axis=0) if f.size
                  else (np.zeros(0), np.zeros(0)))  # fmt: skip
        return pd.DataFrame({"channel": self.rf_names, "mean": f.mean(0) if f.size else [],
                             "lower": lo, "upper": hi})  # fmt: skip

    def _param(self, g: gm.GeoGroup, q: str, geo: int, pos: int) -> np.ndarray:
        if q in g.geo_params:
            return np.asarray(self.params[g.site(q) + "_geo"][:, geo, pos], float)
        return np.asarray(self.params[g.site(q)][:, pos], float)

    def responses(self) -> dict[str, list]:
        """Per geo, one `Response` per media channel (paid then rf): spend per period ->
        KPI per period at steady state (the adstock's gain), posterior draws. An rf
        channel's is linear (family ``power``, alpha 1) at its optimal frequency: spend buys
        reach ``spend / (cost per impression x f*)``."""
        from mediamix.optimize.response import Response
        from mediamix.transforms.adstock import steady_state_gain
        from mediamix.transforms.saturation import get_saturation

        st = self.structure
        p = self.params
        w = self.adstock_weights()
        gain = np.asarray(steady_state_gain(w), dtype=float)  # (S, A) or (S, G, A)
        if gain.ndim == 2:
            gain = np.broadcast_to(gain[:, None, :], (gain.shape[0], st.n_geos, gain.shape[1]))
        k = self.scalers.kpi_scale
        ms = self.scalers.media_scale
        rs = self.scalers.reach_scale
        cpu = self.data.cost_per_unit
        cpi = self.data.cost_per_impression
        win = self.window
        beta = np.asarray(p["beta"], float) if st.n_media else None
        C = st.n_paid
        sat_of = {i: (g, g.idx.index(i)) for g in st.sat_groups for i in g.idx}
        lam_of = {i: (g, g.idx.index(i)) for g in st.ad_groups if g.family == "geometric"
                  for i in g.idx}  # fmt: skip
        fstar = self.optimal_frequency_draws() if st.n_rf else None
        hill = get_saturation(gm.RF_FAMILY)
        out: dict[str, list] = {}
        for gi, geo in enumerate(self.geos):
            pop = float(self.data.population[gi])
            rows = []
            for j, name in enumerate(self.media_names):
                lam = None
                if j in lam_of:
                    ga, pos = lam_of[j]
                    lam = np.clip(self._param(ga, "lam", gi, pos), 0.0, 0.999)
                spend = self.data.media_spend[gi, win, j]
                ref = float(spend.mean())
                if j < C:
                    g, pos = sat_of[j]
                    params = {q: self._param(g, q, gi, pos) for q in g.params}
                    params[coefficient_name(g.family)] = beta[:, gi, j] * k * pop
                    rows.append(Response(name=name, family=g.family, params=params,
                                         unit_price=ms[j] * cpu[gi, j] * pop / gain[:, gi, j],
                                         reference_spend=ref, carryover=lam,
                                         kpi_value=self.spec.kpi_value))  # fmt: skip
                    continue
                r = j - C
                f = fstar[:, r]
                kw = {"k": np.asarray(p["rf_hill_k"][:, r], float),
                      "s": np.asarray(p["rf_hill_s"][:, r], float),
                      coefficient_name(gm.RF_FAMILY): 1.0}  # fmt: skip
                h = hill.fn(f, **kw)
                slope = beta[:, gi, j] * k * gain[:, gi, j] * h / (cpi[gi, r] * f * rs[r])
                rows.append(Response(name=name, family="power",
                                     params={"a": np.maximum(slope, 0.0), "alpha": 1.0},
                                     unit_price=1.0, reference_spend=ref, carryover=lam,
                                     kpi_value=self.spec.kpi_value))  # fmt: skip
            out[geo] = rows
        return out

    # -- diagnostics ----------------------------------------------------------------------------
    def compute_diagnostics(self, level: float = 0.9) -> dg.FitDiagnostics:
        d: dict[str, Any] = {}
        if self.method == "nuts":
            names = list(self.idata.posterior.data_vars)
            d.update(dg.sampler_diagnostics(self.idata, names))
            if d.get("min_ess_bulk") is not None and self.fit_seconds > 0:
                d["ess_per_second"] = d["min_ess_bulk"] / self.fit_seconds
        y = self.data.kpi
        n = self.n_train
        w = self.window
        comps = self.components()
        if self.n_draws > 1:
            pred = self.predictive(seed=0)
            d["ppc_coverage"] = dg.coverage(
                y[:, w].reshape(-1), pred[:, :, w].reshape(pred.shape[0], -1), level
            )
        d["ppc_level"] = level
        ey = self.expected_kpi(comps=comps).mean(0)
        d["in_sample_mape"] = dg.mape(y[:, w].reshape(-1), ey[:, w].reshape(-1))
        d["in_sample_r2"] = dg.r2(y[:, w].reshape(-1), ey[:, w].reshape(-1))
        if n < y.shape[1]:
            d["holdout_periods"] = int(y.shape[1] - n)
            d["holdout_mape"] = dg.mape(y[:, n:].reshape(-1), ey[:, n:].reshape(-1))
            d["holdout_r2"] = dg.r2(y[:, n:].reshape(-1), ey[:, n:].reshape(-1))
        d.update(dg.loss_convergence(self.method, self.info))
        msgs = dg.advice(dg.with_settings(d, self.info), self.method, self.n_draws)
        return dg.FitDiagnostics(method=self.method, warnings=tuple(msgs), **d)

    # -- analysis shortcuts (mediamix.analysis.geo) ------------------------------------------
    def summary(self, level: float = 0.9):
        from mediamix.analysis import geo

        return geo.summary(self, level)

    def to_json(self, level: float = 0.9) -> dict[str, Any]:
        from mediamix.analysis import geo

        return geo.to_json(self, level)

    def contributions(self, level: float = 0.9):
        from mediamix.analysis import geo

        return geo.contributions(self, level)

    def what_if(self, spend=None, non_media=None, level: float = 0.9, **kw):
        from mediamix.analysis import geo

        return geo.what_if(self, spend, non_media, level=level, **kw)

    def roas_draws(self, by: str = "national") -> np.ndarray:
        from mediamix.analysis import geo

        return geo.roas_draws(self, by)

    def mroas_draws(self, step: float = 0.01, by: str = "national") -> np.ndarray:
        from mediamix.analysis import geo

        return geo.mroas_draws(self, step, by)

    def response_curves(self, level: float = 0.9):
        from mediamix.analysis import geo

        return geo.response_curves(self, level=level)

    def national_responses(self) -> list:
        """One `table` Response per media channel, national spend -> national KPI per period
        (`mediamix.analysis.geo.national_responses`)."""
        from mediamix.analysis import geo

        return geo.national_responses(self)

    def __repr__(self) -> str:
        return (
            f"GeoFitted(method={self.method}, geos={len(self.geos)}, draws={self.n_draws}, "
            f"media={self.media_names}, organic={self.organic_names}, "
            f"non_media={self.non_media_names}, fit_seconds={self.fit_seconds:.1f})"
        )

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the saved-model folder (`mediamix.runs.layout`; ``meta.json`` has
        ``"kind": "geo"``); returns its path."""
        meta = {
            "kind": "geo",
            "method": self.method,
            "fit_seconds": self.fit_seconds,
            "n_train": self.n_train,
            "data": self.data.meta(),
            "info": jsonable(self.info),
            "diagnostics": self.diagnostics.to_dict() if self.diagnostics else None,
            "review": jsonable(self._review.to_dict()) if self._review is not None else None,
        }
        return layout.write_model(Path(path), self.idata, self.spec.to_yaml(),
                                  self.scalers.to_dict(), self.data.to_arrays(), meta)  # fmt: skip

    @classmethod
    def load(cls, path: str | Path) -> GeoFitted:
        """A saved geo model with the same numbers bit for bit; a damaged or national folder
        is a `SpecError` naming the file and the fix."""
        files = layout.read_model(Path(path))
        p = files.path
        meta = files.meta
        if meta.get("kind") != "geo":
            raise SpecError(
                f"'{p}' holds a national model, not a geo model. Fix: load it with "
                "mediamix.estimator.FittedModel.load"
            )
        try:
            data = GeoData.from_saved(files.arrays, meta["data"])
        except (KeyError, TypeError, ValueError) as exc:
            raise layout.damaged(p / layout.DATA, f"not the geo model's arrays: {exc!r}") from None
        try:
            spec = ModelSpec.from_yaml(files.spec_text)
        except Exception as exc:  # YAML syntax, wrong types, unknown settings
            raise layout.damaged(p / layout.SPEC, f"not a valid model spec: {exc}") from None
        try:
            scalers = GeoScalers.from_dict(files.scalers)
        except (KeyError, TypeError, ValueError) as exc:
            raise layout.damaged(p / layout.SCALERS, f"not the geo scalers: {exc!r}") from None
        try:
            d = meta.get("diagnostics")
            diag = dg.FitDiagnostics.from_dict(d) if d else None
            review = _saved_review(meta)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise layout.damaged(p / layout.META, f"unreadable diagnostics: {exc!r}") from None
        return cls(spec, data, scalers, meta["n_train"], meta.get("method", "nuts"),
                   meta.get("fit_seconds", 0.0), files.idata(), meta.get("info"), diag,
                   review=review)  # fmt: skip
