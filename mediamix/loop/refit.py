"""The model inside the loop: the mediamix MMM refitted on a growing series, warm-started.

The arrays keep one length for the whole loop (history + decision periods; the periods not
yet observed are masked out of the likelihood), and the scalers and the structure (priors
included) are fixed from the history, so each sampler is compiled once per loop and every
refit only swaps the data in:

- ``svi``: the guide (mean-field normal) is fitted on the history for ``steps`` Adam steps;
  each refit continues the *same* optimiser state for ``warm_steps`` more steps on the new
  data (the previous guide's parameters are the start). The default: a refit costs a fraction
  of a second and the guide tracks the posterior as it narrows.
- ``nuts``: one chain warms up once on the history; each refit continues the last state
  (step size and mass matrix kept, no new warm-up) for ``nuts_draws`` draws on the new data.

Which and why: SVI is the default. A warm refit is 1000 more Adam steps on the same guide
(well under a second on a small machine), and a full-covariance guide follows the posterior as
it narrows; a mean-field guide did not (with a nearly constant total budget the level and the
media effects trade off along a ridge, and the mean-field fit slid along it, under-crediting
every channel). NUTS gives the better posterior (honest, wider intervals), but even without a
new warm-up a refit costs tens of seconds (`bench/bench_loop.py` prints seconds per decision
period for both): use it with a slower cadence (``refit_every``).

Either gives ``draws`` posterior draws of every site, turned into the optimizer's `Response`
curves by `mediamix.analysis.curves.responses` (the same conversion as a fitted run's).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mediamix.errors import SpecError
from mediamix.optimize.response import Response

REFIT_METHODS = ("svi", "nuts")
#: SVI guides: a full-covariance normal (``mvn``: the media effects and the level trade off
#: along a ridge when the total budget barely moves, which a mean-field guide misses) or the
#: mean-field ``normal``
GUIDES = ("mvn", "normal")

#: the spec the loop fits: the world has a level, media and noise (no trend, no season); the
#: saturation point of each channel gets a wider prior than the default (in units of the
#: channel's mean historical spend: a starved channel may saturate far above it)
LOOP_SPEC: dict[str, Any] = {
    "trend": "none",
    "seasonality_order": 0,
    "adstock": "geometric",
    "saturation": "hill",
    "priors": {"hill_k": {"dist": "gamma", "concentration": 2.0, "rate": 1.0}},
}


@dataclass(frozen=True)
class RefitSettings:
    """Sampler settings of the loop's refits (see the module docstring)."""

    method: str = "svi"
    guide: str = "mvn"
    steps: int = 8000
    warm_steps: int = 1000
    learning_rate: float = 0.01
    draws: int = 200
    nuts_warmup: int = 300
    nuts_draws: int = 200

    def __post_init__(self) -> None:
        if self.method not in REFIT_METHODS:
            raise SpecError(
                f"method must be one of {', '.join(REFIT_METHODS)} (got {self.method!r})"
            )
        if self.guide not in GUIDES:
            raise SpecError(f"guide must be one of {', '.join(GUIDES)} (got {self.guide!r})")
        for key in ("steps", "warm_steps", "draws", "nuts_warmup", "nuts_draws"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SpecError(f"{key} must be a positive integer (got {v!r})")
        if not self.learning_rate > 0:
            raise SpecError(f"learning_rate must be > 0 (got {self.learning_rate!r})")


@dataclass(frozen=True)
class Posterior:
    """The draws of one refit as optimizer curves (one `Response` per channel, ``S`` draws)."""

    responses: tuple[Response, ...]
    n_obs: int
    seconds: float
    method: str

    @property
    def n_draws(self) -> int:
        return self.responses[0].n_draws

    def draw(self, s: int) -> list[Response]:
        """The point curves of joint draw ``s`` (every channel from the same draw)."""
        return [r.draw(s) for r in self.responses]


class _View:
    """What `mediamix.analysis.curves.responses` reads off a fitted model, for one refit."""

    def __init__(self, params, structure, scalers, data, window) -> None:
        self.params = params
        self.structure = structure
        self.spec = structure.spec
        self.scalers = scalers
        self.data = data
        self.window = window
        self.channel_names = list(data.channel_names)

    def adstock_weights(self) -> np.ndarray:
        from mediamix.model.maths import adstock_weights

        return np.asarray(adstock_weights(self.params, self.structure))

    def current_spend(self) -> dict[str, float]:
        s = self.data.spend[self.window].mean(0)
        return {n: float(v) for n, v in zip(self.channel_names, s)}


class LoopEngine:
    """What every loop on one world shares: the model's structure (priors from the historical
    split) and the compiled samplers. Made once, it serves many loops (seeds, policies): a
    refit then costs its sampler steps only, never a compilation.

    ``names``: channels; ``initial (C,)``: the historical spend per period (the priors'
    spend shares); ``history``: periods before the loop; ``horizon``: decision periods.
    """

    def __init__(
        self,
        names,
        initial,
        history: int,
        horizon: int,
        settings: RefitSettings | None = None,
        *,
        max_lag: int = 8,
        spec: Any = None,
    ) -> None:
        from mediamix.devices import enable_compile_cache
        from mediamix.model.data import ModelData, ModelScalers
        from mediamix.model.spec import ModelSpec
        from mediamix.model.structure import build_structure

        enable_compile_cache()
        self.settings = settings or RefitSettings()
        self.names = list(names)
        self.history = int(history)
        self.length = int(history) + int(horizon)
        if spec is None:
            spec = ModelSpec.from_dict({**LOOP_SPEC, "adstock_max_lag": int(max_lag)})
        self.spec = spec
        C = len(self.names)
        ref = np.broadcast_to(np.asarray(initial, dtype=float), (self.length, C)).copy()
        data = ModelData.from_arrays(np.ones(self.length), ref, channel_names=self.names)
        scalers = ModelScalers.fit(data, spec, self.history)
        self.structure = build_structure(spec, data, scalers, self.history)
        self._svi: Any = None
        self._mcmc: Any = None

    def svi_parts(self, design):
        """``(svi, run_chunk, draw, chunk length)``, compiled on first use."""
        if self._svi is None:
            import jax
            import optax
            from numpyro.infer import SVI, Predictive, Trace_ELBO
            from numpyro.infer.autoguide import AutoMultivariateNormal, AutoNormal

            from mediamix.inference.init import init_to_prior_centre
            from mediamix.inference.progress import chunk_runner
            from mediamix.inference.svi import model_sites
            from mediamix.model.numpyro_model import model

            st = self.settings
            m = functools.partial(model, structure=self.structure)
            auto = AutoMultivariateNormal if st.guide == "mvn" else AutoNormal
            g = auto(m, init_loc_fn=init_to_prior_centre(), init_scale=0.05)
            svi = SVI(m, g, optax.adam(st.learning_rate), Trace_ELBO())
            sites = model_sites(m, design)

            @jax.jit
            def draw(key, params, d):
                pred = Predictive(m, guide=g, params=params, num_samples=st.draws,
                                  return_sites=sites)  # fmt: skip
                return pred(key, d, observe=False)

            length = max(st.steps, st.warm_steps)
            self._svi = (svi, chunk_runner(svi, length), draw, length)
        return self._svi

    def mcmc(self):
        """The NUTS sampler (one chain), compiled on first use and reused by every loop."""
        if self._mcmc is None:
            from numpyro.infer import MCMC, NUTS

            from mediamix.inference.init import init_to_prior_centre
            from mediamix.model.numpyro_model import model

            st = self.settings
            m = functools.partial(model, structure=self.structure)
            kernel = NUTS(m, init_strategy=init_to_prior_centre(), target_accept_prob=0.9)
            self._mcmc = MCMC(kernel, num_warmup=st.nuts_warmup, num_samples=st.nuts_draws,
                              num_chains=1, progress_bar=False, jit_model_args=True)  # fmt: skip
        return self._mcmc


class LoopModel:
    """The MMM of one loop: ``observe`` a period, ``refit`` for the posterior as curves.

    ``engine``: the world's `LoopEngine`; ``spend (H, C)`` and ``kpi (H,)``: the history (the
    scalers are fitted on it). The arrays are ``engine.length`` long from the start.
    """

    def __init__(self, engine: LoopEngine, spend: np.ndarray, kpi: np.ndarray, *,
                 seed: int = 0) -> None:  # fmt: skip
        from mediamix.model.data import ModelData, ModelScalers

        self.engine = engine
        self.settings = engine.settings
        self.structure = engine.structure
        spend = np.asarray(spend, dtype=float)
        kpi = np.asarray(kpi, dtype=float)
        H, C = spend.shape
        if H != engine.history or C != len(engine.names):
            raise SpecError(
                f"the history has shape {spend.shape}; the loop's model expects "
                f"({engine.history}, {len(engine.names)})"
            )
        T = engine.length
        self.n_obs = H
        self._spend = np.zeros((T, C))
        self._kpi = np.full(T, float(np.mean(kpi)))
        self._spend[:H] = spend
        self._kpi[:H] = kpi
        self.data = ModelData.from_arrays(self._kpi, self._spend, channel_names=engine.names)
        self.scalers = ModelScalers.fit(self.data, engine.spec, H)
        self.seed = int(seed)
        self._state: Any = None
        self._last_good: Any = None
        self.refits = 0

    # -- data ------------------------------------------------------------------------------
    def observe(self, spend_row: np.ndarray, kpi_value: float) -> None:
        """Record one more period (its spend per channel and its KPI)."""
        if self.n_obs >= len(self._kpi):
            raise SpecError(f"the loop model holds {len(self._kpi)} periods; all are observed")
        self._spend[self.n_obs] = np.asarray(spend_row, dtype=float)
        self._kpi[self.n_obs] = float(kpi_value)
        self.n_obs += 1

    def _design(self):
        from mediamix.model.design import build_design

        data = replace(self.data, kpi=self._kpi.copy(), spend=self._spend.copy(),
                       media=self._spend.copy())  # fmt: skip
        return data, build_design(data, self.scalers, self.structure, self.n_obs)

    # -- fitting ---------------------------------------------------------------------------
    def refit(self) -> Posterior:
        """Fit (first call) or warm-refit (later calls) on the periods observed so far."""
        from mediamix.analysis.curves import responses
        from mediamix.model.design import likelihood_window
        from mediamix.model.maths import posterior_params

        t0 = time.perf_counter()
        data, design = self._design()
        if self.settings.method == "svi":
            samples = self._svi(design)
        else:
            samples = self._nuts(design)
        params = posterior_params(samples, self.structure)
        window = likelihood_window(self.structure, self.n_obs)
        view = _View(params, self.structure, self.scalers, data, window)
        curves = tuple(responses(view))
        self.refits += 1
        return Posterior(curves, self.n_obs, time.perf_counter() - t0, self.settings.method)

    def _svi(self, design) -> dict[str, np.ndarray]:
        import jax

        st = self.settings
        svi, run, draw, length = self.engine.svi_parts(design)
        if self._state is None:
            self._state = svi.init(jax.random.PRNGKey(self.seed), design)
            steps = st.steps
        else:
            steps = st.warm_steps
        start = self._state
        done, loss = 0, float("nan")
        while done < steps:
            n = min(length, steps - done)
            self._state, losses = run(self._state, n, design)
            loss = float(np.asarray(losses)[n - 1])
            done += n
        if not np.isfinite(loss):
            # a step went astray: keep the last good guide (the posterior of the last refit)
            self._state = start
        key = jax.random.PRNGKey(self.seed * 7919 + self.refits + 1)
        out = draw(key, svi.get_params(self._state), design)
        return {k: np.asarray(v) for k, v in out.items()}

    def _nuts(self, design) -> dict[str, np.ndarray]:
        import jax

        st = self.settings
        mcmc = self.engine.mcmc()
        if self._state is None:
            mcmc.post_warmup_state = None
            mcmc.run(jax.random.PRNGKey(self.seed), design)
        else:
            mcmc.post_warmup_state = self._state
            mcmc.run(self._state.rng_key, design)
        self._state = mcmc.last_state
        out = mcmc.get_samples()
        idx = np.linspace(0, st.nuts_draws - 1, min(st.draws, st.nuts_draws)).astype(int)
        return {k: np.asarray(v)[idx] for k, v in out.items()}
