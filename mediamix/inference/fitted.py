"""FittedModel: the posterior (ArviZ InferenceData) + the spec + the data + the scalers.

Everything users read off a fit is computed from the posterior draws with the model's pure
functions (:func:`mediamix.model.mmm.components`), so a saved and re-loaded model gives the
same numbers bit for bit. ``save(path)`` writes a folder::

    posterior.nc    ArviZ InferenceData (netCDF)
    spec.yaml       the ModelSpec
    scalers.json    KPI, media and control scalers
    data.npz        the data the model was fitted on (original units)
    meta.json       method, fit seconds, training periods, diagnostics
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from mediamix.errors import SpecError
from mediamix.inference import diagnostics as dg
from mediamix.jsonable import jsonable
from mediamix.model.mmm import (
    ModelData,
    ModelScalers,
    Plan,
    adstock_weights,
    batched,
    build_design,
    build_plan,
    components,
    posterior_params,
)
from mediamix.model.spec import ModelSpec


def _to_idata(res, plan: Plan, data: ModelData):
    import arviz as az

    dims, coords = plan.dims()
    post = {k: v for k, v in res.samples.items() if k in dims or np.ndim(v) == 2}
    dims = {k: v for k, v in dims.items() if k in post}
    return az.from_dict(
        posterior=post,
        sample_stats=res.sample_stats or None,
        observed_data={"kpi": np.asarray(data.kpi)},
        coords=coords,
        dims=dims,
    )


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
        diagnostics: dg.Diagnostics | None = None,
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
        self.plan = build_plan(spec, data, scalers)
        self.design = build_design(data, scalers, self.plan, self.n_train)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_result(cls, res, spec, data, scalers, n_train, method, fit_seconds, warn=True):
        plan = build_plan(spec, data, scalers)
        idata = _to_idata(res, plan, data)
        fitted = cls(spec, data, scalers, n_train, method, fit_seconds, idata, res.info)
        fitted.diagnostics = fitted.compute_diagnostics()
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
        post = self.idata.posterior
        out = {}
        for k in post.data_vars:
            v = post[k].values
            out[k] = v.reshape((-1,) + v.shape[2:])
        return posterior_params(out, self.plan)

    @property
    def n_draws(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    def draws(self, name: str) -> np.ndarray:
        """Draws of one posterior site, shape (S, ...)."""
        post = self.idata.posterior
        if name not in post:
            raise SpecError(f"no posterior site '{name}'; sites: {', '.join(post.data_vars)}")
        v = post[name].values
        return v.reshape((-1,) + v.shape[2:])

    @cached_property
    def _components_fn(self):
        return batched(components, self.plan)

    @cached_property
    def _weights_fn(self):
        import jax

        return jax.jit(jax.vmap(lambda p: adstock_weights(p, self.plan)))

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
        return build_design(self.data, self.scalers, self.plan, self.n_train, media=media)

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
        if self.plan.additive:
            return c["mu"].astype(np.float64) * k
        sigma = np.asarray(self.params["sigma"], dtype=np.float64)[:, None]
        return np.exp(c["mu"].astype(np.float64) + sigma**2 / 2) * k

    def contribution_draws(self, media: np.ndarray | None = None, comps=None) -> np.ndarray:
        """Draws of each channel's contribution per period in KPI units, (S, T, C).

        Additive: ``beta_c Sat_c(Adstock_c(x_c)) * kpi_scale``. Multiplicative: the expected
        KPI minus the expected KPI with the channel's term removed,
        ``E[y] (1 - exp(-media_c))`` (zero spend when log_offset = 1).
        """
        c = comps if comps is not None else self.components(media)
        k = self.scalers.kpi_scale
        if self.plan.additive:
            return c["media"].astype(np.float64) * k
        ey = self.expected_kpi(comps=c)
        return ey[..., None] * (1 - np.exp(-c["media"].astype(np.float64)))

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

    # -- diagnostics ----------------------------------------------------------------------
    def compute_diagnostics(self, level: float = 0.9) -> dg.Diagnostics:
        d: dict[str, Any] = {}
        if self.method == "nuts":
            names = [v for v in self.idata.posterior.data_vars]
            d.update(dg.sampler_diagnostics(self.idata, names))
            if d.get("min_ess_bulk") is not None and self.fit_seconds > 0:
                d["ess_per_second"] = d["min_ess_bulk"] / self.fit_seconds
        y = self.data.kpi
        n = self.n_train
        if self.n_draws > 1:
            pred = self.predictive(seed=0)
            d["ppc_coverage"] = dg.coverage(y[:n], pred[:, :n], level)
        d["ppc_level"] = level
        ey = self.expected_kpi().mean(0)
        d["in_sample_mape"] = dg.mape(y[:n], ey[:n])
        d["in_sample_r2"] = dg.r2(y[:n], ey[:n])
        if n < len(y):
            d["holdout_periods"] = int(len(y) - n)
            d["holdout_mape"] = dg.mape(y[n:], ey[n:])
            d["holdout_r2"] = dg.r2(y[n:], ey[n:])
        total = self.n_draws
        msgs = dg.advice(d, self.method, total)
        return dg.Diagnostics(method=self.method, warnings=tuple(msgs), **d)

    # -- the seam to the optimizer ----------------------------------------------------------
    def current_spend(self) -> dict[str, float]:
        """Mean spend per period per channel over the fitted (training) window."""
        s = self.data.spend[: self.n_train].mean(0)
        return {n: float(v) for n, v in zip(self.channel_names, s)}

    def responses(self):
        """One `Response` per channel (posterior draws), spend per period -> KPI per period."""
        from mediamix.analysis.curves import responses

        return responses(self)

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
        if self.plan.additive:
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
        """Write the folder described in the module docstring; returns its path."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        self.idata.to_netcdf(str(p / "posterior.nc"))
        (p / "spec.yaml").write_text(self.spec.to_yaml())
        (p / "scalers.json").write_text(json.dumps(self.scalers.to_dict(), indent=1))
        np.savez(p / "data.npz", **self.data.to_arrays())
        meta = {
            "method": self.method,
            "fit_seconds": self.fit_seconds,
            "n_train": self.n_train,
            "data": self.data.meta(),
            "info": jsonable(self.info),
            "diagnostics": self.diagnostics.to_dict() if self.diagnostics else None,
        }
        (p / "meta.json").write_text(json.dumps(meta, indent=1))
        return p

    @classmethod
    def load(cls, path: str | Path) -> FittedModel:
        import arviz as az

        from mediamix.model.spec import load_config

        p = Path(path)
        for f in ("posterior.nc", "spec.yaml", "scalers.json", "data.npz", "meta.json"):
            if not (p / f).exists():
                raise SpecError(f"'{p}' is not a saved model folder: '{f}' is missing")
        meta = json.loads((p / "meta.json").read_text())
        with np.load(p / "data.npz") as z:
            arrays = {k: z[k] for k in z.files}
        data = ModelData.from_saved(arrays, meta["data"])
        spec = load_config(p / "spec.yaml")[1]
        scalers = ModelScalers.from_dict(json.loads((p / "scalers.json").read_text()))
        idata = az.from_netcdf(str(p / "posterior.nc"))
        idata.load() if hasattr(idata, "load") else None
        diag = dg.Diagnostics.from_dict(meta["diagnostics"]) if meta.get("diagnostics") else None
        return cls(
            spec, data, scalers, meta["n_train"], meta["method"], meta["fit_seconds"], idata,
            meta.get("info"), diag,
        )  # fmt: skip
