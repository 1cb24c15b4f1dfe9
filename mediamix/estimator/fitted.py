"""FittedModel: the posterior (ArviZ InferenceData) + the spec + the data + the scalers.

Everything users read off a fit is computed from the posterior draws with the model's pure
functions (:func:`mediamix.model.maths.components`), so a saved and re-loaded model gives the
same numbers bit for bit. ``save(path)`` writes the saved-model folder whose layout
:mod:`mediamix.runs.layout` owns (posterior, spec, scalers, data, meta with a format version).
"""

from __future__ import annotations

import copy
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from mediamix.data.experiments import Experiment
from mediamix.errors import SpecError
from mediamix.inference import diagnostics as dg
from mediamix.jsonable import jsonable
from mediamix.model.data import ModelData, ModelScalers
from mediamix.model.design import build_design, likelihood_window
from mediamix.model.maths import adstock_weights, batched, components, posterior_params
from mediamix.model.spec import ModelSpec
from mediamix.model.structure import Structure, build_structure
from mediamix.runs import layout


def _to_idata(res, structure: Structure, data: ModelData):
    import arviz as az

    dims, coords = structure.dims()
    post = {k: v for k, v in res.samples.items() if k in dims or np.ndim(v) == 2}
    dims = {k: v for k, v in dims.items() if k in post}
    return az.from_dict(
        posterior=post,
        sample_stats=res.sample_stats or None,
        observed_data={"kpi": np.asarray(data.kpi)},
        coords=coords,
        dims=dims,
    )


def flat_posterior(idata) -> dict[str, np.ndarray]:
    """Every posterior site's draws with chains and draws flattened to one axis, (S, ...)."""
    post = idata.posterior
    return {k: post[k].values.reshape((-1,) + post[k].values.shape[2:]) for k in post.data_vars}


def site_draws(idata, name: str) -> np.ndarray:
    """Draws of one posterior site, (S, ...); an unknown site is a `SpecError` naming them."""
    post = idata.posterior
    if name not in post:
        raise SpecError(f"no posterior site '{name}'; sites: {', '.join(post.data_vars)}")
    v = post[name].values
    return v.reshape((-1,) + v.shape[2:])


class FittedModel:
    """A fitted media mix model; analysis methods return numbers in original units."""

    def __init__(
        self,
        spec: ModelSpec,
        data: ModelData,
        scalers: ModelScalers,
        n_train: int,
        method: str,
        fit_seconds: float,
        idata: Any,
        info: dict[str, Any] | None = None,
        diagnostics: dg.FitDiagnostics | None = None,
        experiments: tuple[Experiment, ...] = (),
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
        #: the experiments (lift tests) the fit was calibrated with
        self.experiments = tuple(experiments)
        self.structure = build_structure(spec, data, scalers, self.n_train)
        self.design = build_design(data, scalers, self.structure, self.n_train)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_result(cls, res, spec, data, scalers, n_train, method, fit_seconds, warn=True,
                    experiments=()):  # fmt: skip
        structure = build_structure(spec, data, scalers, n_train)
        idata = _to_idata(res, structure, data)
        fitted = cls(spec, data, scalers, n_train, method, fit_seconds, idata, res.info,
                     experiments=experiments)  # fmt: skip
        fitted.diagnostics = fitted.compute_diagnostics()
        fitted._review = fitted.compute_review()
        if warn:
            dg.emit(list(fitted.diagnostics.warnings))
        return fitted

    # -- draws ----------------------------------------------------------------------------
    @property
    def channel_names(self) -> list[str]:
        return list(self.data.channel_names)

    @cached_property
    def params(self) -> dict:
        """Posterior draws per site, chains and draws flattened to one axis (S, ...)."""
        return posterior_params(flat_posterior(self.idata), self.structure)

    @property
    def window(self) -> slice:
        """The likelihood window: the periods the likelihood and the window metrics (ROAS,
        contributions, mROAS, in-sample fit) use -- the training periods after the adstock
        warm-up (``spec.adstock_warmup``), a slice of the T periods."""
        return likelihood_window(self.structure, self.n_train)

    @property
    def n_draws(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    def draws(self, name: str) -> np.ndarray:
        """Draws of one posterior site, shape (S, ...)."""
        return site_draws(self.idata, name)

    @cached_property
    def _components_fn(self):
        return batched(components, self.structure)

    @cached_property
    def _weights_fn(self):
        import jax

        return jax.jit(jax.vmap(lambda p: adstock_weights(p, self.structure)))

    def design_for(self, media: np.ndarray | None = None) -> dict:
        """The model-unit arrays, optionally with other media (T, C) in original units."""
        if media is None:
            return self.design
        media = np.asarray(media, dtype=float)
        if media.shape != self.data.media.shape:
            raise SpecError(
                f"media plan must have shape {self.data.media.shape} (periods x channels); "
                f"got {media.shape}"
            )
        return build_design(self.data, self.scalers, self.structure, self.n_train, media=media)

    def components(self, media: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Draws of the model-unit components: baseline (S, T), media (S, T, C), mu (S, T)."""
        out = self._components_fn(self.params, self.design_for(media))
        return {k: np.asarray(v) for k, v in out.items()}

    def expected_kpi(self, media: np.ndarray | None = None, comps=None) -> np.ndarray:
        """Draws of the expected KPI per period in original units, (S, T).

        Additive: ``mu * kpi_scale``; multiplicative: ``exp(mu + sigma^2 / 2) * kpi_scale``.
        """
        c = comps if comps is not None else self.components(media)
        k = self.scalers.kpi_scale
        if self.structure.additive:
            return c["mu"].astype(np.float64) * k
        sigma = np.asarray(self.params["sigma"], dtype=np.float64)[:, None]
        return np.exp(c["mu"].astype(np.float64) + sigma**2 / 2) * k

    def contribution_draws(self, media: np.ndarray | None = None, comps=None) -> np.ndarray:
        """Draws of each channel's contribution per period in KPI units, (S, T, C).

        Additive: ``beta_c Sat_c(Adstock_c(x_c)) * kpi_scale``, against zero spend.
        Multiplicative: the expected KPI minus the expected KPI with the channel's term at its
        reference, ``E[y] (1 - exp(-(media_c - ref_c)))``; the reference
        (:attr:`contribution_reference`) is zero spend when ``log_offset > 0`` (the term
        ``beta log(x + offset)`` is zero at x = 0) and otherwise the channel's minimum
        adstocked media over the likelihood window (``log x`` has no value at zero spend), so
        contributions and ROAS are never measured against average spend.
        """
        c = comps if comps is not None else self.components(media)
        k = self.scalers.kpi_scale
        m = c["media"].astype(np.float64)
        if self.structure.additive:
            return m * k
        ey = self.expected_kpi(comps=c)
        ref = self._media_reference(c if media is None else None)
        return ey[..., None] * (1 - np.exp(-(m - ref[:, None, :])))

    @property
    def contribution_reference(self) -> str:
        """What contributions and ROAS are measured against: ``zero spend``, or for the
        multiplicative form with ``log_offset = 0`` ``minimum spend`` (each channel's lowest
        adstocked media in the likelihood window)."""
        if self.structure.additive or self.structure.log_offset > 0:
            return "zero spend"
        return "minimum spend"

    def _media_reference(self, comps=None) -> np.ndarray:
        """Per draw and channel, the multiplicative media term at the reference, (S, C);
        ``comps``: the components of the observed media (computed when not given)."""
        if self.contribution_reference == "zero spend":
            return np.zeros((self.n_draws, len(self.channel_names)))
        c = comps if comps is not None else self.components()
        m = c["media"].astype(np.float64)[:, self.window]
        beta = np.asarray(self.params["beta"], dtype=np.float64)
        # beta * log(x) at the window's smallest x: its minimum over time when beta >= 0
        return np.where(beta >= 0, m.min(1), m.max(1))

    def predictive(self, seed: int = 0, media: np.ndarray | None = None) -> np.ndarray:
        """Posterior predictive draws of the KPI (with noise), original units, (S, T)."""
        c = self.components(media)
        mu = c["mu"].astype(np.float64)
        rng = np.random.default_rng(seed)
        sigma = np.asarray(self.params["sigma"], dtype=np.float64)[:, None]
        lik = self.spec.likelihood
        if lik == "student_t":
            nu = np.asarray(self.params["nu"], dtype=np.float64)[:, None]
            eps = rng.standard_t(np.broadcast_to(nu, mu.shape)) * sigma
        else:
            eps = rng.standard_normal(mu.shape) * sigma
        z = mu + eps
        k = self.scalers.kpi_scale
        return (np.exp(z) if lik == "lognormal" else z) * k

    def adstock_weights(self) -> np.ndarray:
        """Draws of the lag weights per channel, (S, C, L)."""
        return np.asarray(self._weights_fn(self.params))

    def with_params(self, params: dict) -> FittedModel:
        """The same model with other draws of the sites the maths needs (e.g. draws from the
        prior, :func:`mediamix.analysis.prior_check.prior_params`); every derived draw
        (components, contributions, ROAS) follows them, while ``idata`` and the review stay
        those of the fit."""
        other = copy.copy(self)
        other.__dict__["params"] = dict(params)
        return other

    # -- diagnostics ----------------------------------------------------------------------
    def compute_diagnostics(self, level: float = 0.9) -> dg.FitDiagnostics:
        d: dict[str, Any] = {}
        if self.method == "nuts":
            names = [v for v in self.idata.posterior.data_vars]
            d.update(dg.sampler_diagnostics(self.idata, names))
            if d.get("min_ess_bulk") is not None and self.fit_seconds > 0:
                d["ess_per_second"] = d["min_ess_bulk"] / self.fit_seconds
        y = self.data.kpi
        n = self.n_train
        w = self.window
        if self.n_draws > 1:
            pred = self.predictive(seed=0)
            d["ppc_coverage"] = dg.coverage(y[w], pred[:, w], level)
        d["ppc_level"] = level
        ey = self.expected_kpi().mean(0)
        d["in_sample_mape"] = dg.mape(y[w], ey[w])
        d["in_sample_r2"] = dg.r2(y[w], ey[w])
        if n < len(y):
            d["holdout_periods"] = int(len(y) - n)
            d["holdout_mape"] = dg.mape(y[n:], ey[n:])
            d["holdout_r2"] = dg.r2(y[n:], ey[n:])
        d.update(dg.loss_convergence(self.method, self.info))
        total = self.n_draws
        msgs = dg.advice(dg.with_settings(d, self.info), self.method, total)
        return dg.FitDiagnostics(method=self.method, warnings=tuple(msgs), **d)

    def compute_review(self, level: float = 0.9):
        """The model review (:func:`mediamix.analysis.review.review`): fit, baseline, media
        share, convergence, residuals, coverage, channels and prior-data conflict."""
        from mediamix.analysis.review import review

        return review(self, level)

    @property
    def review(self):
        """The `Review` computed after the fit (computed on first use for a model saved
        without one)."""
        if self._review is None:
            self._review = self.compute_review()
        return self._review

    # -- the seam to the optimizer ----------------------------------------------------------
    def current_spend(self) -> dict[str, float]:
        """Mean spend per period per channel over the likelihood window (`window`)."""
        s = self.data.spend[self.window].mean(0)
        return {n: float(v) for n, v in zip(self.channel_names, s)}

    def responses(self, time_varying: str = "current"):
        """One `Response` per channel (posterior draws), spend per period -> KPI per period;
        a time-varying channel's at its effect at the end of the window (``current``) or its
        window average (``average``)."""
        from mediamix.analysis.curves import responses

        return responses(self, time_varying=time_varying)

    def effect_paths(self, level: float = 0.9):
        """Each time-varying channel's effect per unit per period, with its band
        (`mediamix.analysis.time_varying.effect_paths`)."""
        from mediamix.analysis.time_varying import effect_paths

        return effect_paths(self, level)

    # -- analysis shortcuts ----------------------------------------------------------------
    def summary(self, level: float = 0.9):
        from mediamix.analysis.metrics import summary

        return summary(self, level)

    def to_json(self, level: float = 0.9) -> dict[str, Any]:
        from mediamix.analysis.metrics import to_json

        return to_json(self, level)

    def contributions(self, level: float = 0.9):
        from mediamix.analysis.decomposition import contributions

        return contributions(self, level)

    def what_if(self, plan, level: float = 0.9, **kw):
        from mediamix.analysis.whatif import what_if

        return what_if(self, plan, level=level, **kw)

    def roas_draws(self) -> np.ndarray:
        from mediamix.analysis.metrics import roas_draws

        return roas_draws(self)

    def mroas_draws(self, step: float = 0.01) -> np.ndarray:
        from mediamix.analysis.metrics import mroas_draws

        return mroas_draws(self, step)

    def elasticities(self) -> dict[str, np.ndarray]:
        """Multiplicative form: draws of each channel's elasticity beta_c (d log y / d log x
        at offset 0)."""
        if self.structure.additive:
            raise SpecError("elasticities are the coefficients of the multiplicative form")
        b = np.asarray(self.params["beta"])
        return {n: b[:, i] for i, n in enumerate(self.channel_names)}

    @property
    def plot(self):
        """The figures of this fit: ``fitted.plot.response_curves()``, ``.roas()``, ..."""
        from mediamix.report.plot import ModelPlots

        return ModelPlots(self)

    def __repr__(self) -> str:
        return (
            f"FittedModel({self.spec.form}, method={self.method}, draws={self.n_draws}, "
            f"channels={self.channel_names}, fit_seconds={self.fit_seconds:.1f})"
        )

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the saved-model folder (:mod:`mediamix.runs.layout`); returns its path."""
        meta = {
            "method": self.method,
            "fit_seconds": self.fit_seconds,
            "n_train": self.n_train,
            "data": self.data.meta(),
            "info": jsonable(self.info),
            "diagnostics": self.diagnostics.to_dict() if self.diagnostics else None,
            "review": jsonable(self._review.to_dict()) if self._review is not None else None,
            "experiments": [e.to_dict() for e in self.experiments],
        }
        return layout.write_model(
            Path(path),
            self.idata,
            self.spec.to_yaml(),
            self.scalers.to_dict(),
            self.data.to_arrays(),
            meta,
        )

    @classmethod
    def load(cls, path: str | Path) -> FittedModel:
        """A saved model (format 1 or 2) with the same numbers bit for bit. A damaged file is a
        `SpecError` naming the file and the fix (never numpy's or h5py's own advice)."""
        files = layout.read_model(Path(path))
        p = files.path
        meta = files.meta
        for key in ("method", "fit_seconds", "data"):
            if key not in meta:
                raise layout.damaged(p / layout.META, f"the key {key!r} is missing")
        try:
            data = ModelData.from_saved(files.arrays, meta["data"])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise layout.damaged(
                p / layout.DATA, f"its arrays do not match the model's meta.json: {exc!r}"
            ) from None
        try:
            spec = ModelSpec.from_yaml(files.spec_text)
        except Exception as exc:  # YAML syntax, wrong types, unknown settings
            raise layout.damaged(p / layout.SPEC, f"not a valid model spec: {exc}") from None
        if "adstock_warmup" not in files.spec_text:  # saved before the warm-up setting
            spec = spec.replace(adstock_warmup="none")
        try:
            scalers = ModelScalers.from_dict(files.scalers)
        except (KeyError, TypeError, ValueError) as exc:
            raise layout.damaged(p / layout.SCALERS, f"not the model's scalers: {exc!r}") from None
        try:
            d = meta.get("diagnostics")
            diag = dg.FitDiagnostics.from_dict(d) if d else None
            exps = tuple(
                Experiment.from_dict(e, "saved experiment") for e in meta.get("experiments") or ()
            )
            review = _saved_review(meta)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise layout.damaged(p / layout.META, f"unreadable diagnostics: {exc!r}") from None
        idata = files.idata()
        try:
            return cls(
                spec, data, scalers, meta["n_train"], meta["method"], meta["fit_seconds"],
                idata, meta.get("info"), diag, exps, review=review,
            )  # fmt: skip
        except SpecError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise layout.damaged(
                p, f"its files do not fit together ({type(exc).__name__}: {exc})"
            ) from None


def _saved_review(meta: dict[str, Any]):
    """The review stored with a saved model, or None (saved before reviews were written)."""
    if not meta.get("review"):
        return None
    from mediamix.analysis.review import Review

    return Review.from_dict(meta["review"])
