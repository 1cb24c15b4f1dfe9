"""Experiments in the model: the lift likelihood and experiments as ROI priors.

Each experiment enters the likelihood through the model's own counterfactual. With ``x`` the
data's media and ``x'`` the media of the test's counterfactual (the data minus the change
when the data contain the test, plus the change when it is on top of them; the change is the
spend change spread evenly over ``start..end``, in media units at the channel's cost per
unit), the model's lift is

    lift_model = s * sum_{t in start..measure_end} (E[y_t | x'] - E[y_t | x])

with ``s = -1`` for a test inside the data (the lift is the data's KPI minus the KPI without
the change) and ``+1`` otherwise, through the full adstock and saturation of the channel,
and ``lift_obs ~ Normal(lift_model, lift_se)``, both on the model's KPI scale (KPI /
kpi_scale). A test at a saturated spend level therefore says how flat the curve is there,
not what the channel's average ROAS is.

`experiment_design` precomputes the per-experiment arrays (static shapes: ``E`` experiments
by ``T`` periods) that `experiment_lifts` evaluates inside the NumPyro model and that
`lift_likelihood` observes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from mediamix.data.experiments import Experiment, check_experiments, experiment_periods
from mediamix.errors import SpecError
from mediamix.model.data import ModelData, ModelScalers
from mediamix.model.priors import Prior
from mediamix.model.structure import Structure

#: design keys of the experiment arrays
KEYS = ("exp_delta", "exp_channel", "exp_window", "exp_sign", "exp_lift", "exp_se")


def counterfactual_media(e: Experiment, data: ModelData) -> tuple[np.ndarray, int, float]:
    """The media (T, C) of an experiment's counterfactual in original units, the channel's
    index, and the sign ``s`` of the lift (see the module doc)."""
    c = list(data.channel_names).index(e.channel)
    s, t, _ = experiment_periods(e, data.dates)
    per = e.spend_change / (t - s + 1) / float(data.cost_per_unit[c])
    sign = -1.0 if e.in_data else 1.0
    media = np.array(data.media, dtype=float, copy=True)
    media[s : t + 1, c] += sign * per
    media[s : t + 1, c] = np.maximum(media[s : t + 1, c], 0.0)
    return media, c, sign


def experiment_design(
    experiments: Iterable[Experiment],
    data: ModelData,
    scalers: ModelScalers,
    structure: Structure,
) -> dict[str, Any]:
    """The experiment arrays the model reads (float32 numpy; empty dict without experiments).

    ``exp_delta (E, T)``: the counterfactual's change of the channel's media in model units;
    ``exp_channel (E, C)``: one-hot channel; ``exp_window (E, T)``: 1 on start..measure_end;
    ``exp_sign (E,)``; ``exp_lift``, ``exp_se (E,)``: the measured lift and its standard
    error on the model's KPI scale.
    """
    exps = tuple(experiments)
    if not exps:
        return {}
    check_experiments(exps, data)
    E, T, C = len(exps), data.n_periods, len(data.channel_names)
    delta = np.zeros((E, T))
    onehot = np.zeros((E, C))
    window = np.zeros((E, T))
    sign = np.zeros(E)
    k = scalers.kpi_scale
    scale = scalers.media_scale
    for i, e in enumerate(exps):
        media, c, sign[i] = counterfactual_media(e, data)
        delta[i] = (media[:, c] - data.media[:, c]) / scale[c]
        onehot[i, c] = 1.0
        s, _, m = experiment_periods(e, data.dates)
        window[i, s : m + 1] = 1.0
        if not structure.additive and structure.log_offset == 0 and np.any(media[:, c] <= 0):
            raise SpecError(
                f"experiment on '{e.channel}' from {e.start}: its counterfactual has zero media, "
                "and the multiplicative form with log_offset 0 takes the log of it. Fix: set "
                "log_offset: 1, or use the additive form."
            )
    f32 = np.float32
    return {
        "exp_delta": delta.astype(f32),
        "exp_channel": onehot.astype(f32),
        "exp_window": window.astype(f32),
        "exp_sign": sign.astype(f32),
        "exp_lift": (np.array([e.lift for e in exps]) / k).astype(f32),
        "exp_se": (np.array([e.lift_se for e in exps]) / k).astype(f32),
    }


def _experiment_units(params: dict, design: dict, structure: Structure):
    """The tested channel's unit-coefficient response per experiment with the data's media
    and with the counterfactual's, both (E, T).

    Only the tested channel changes, so the experiments are the columns: the channel's media
    (E, T) and its counterfactual go through that channel's lag weights and saturation
    (parameters gathered by the one-hot channel), O(E T L) instead of a full (E, T, C) model.
    """
    import jax.numpy as jnp

    from mediamix.model.maths import adstock_weights
    from mediamix.model.priors import coefficient_name
    from mediamix.transforms.adstock import apply_weights
    from mediamix.transforms.saturation import get_saturation

    onehot = design["exp_channel"]  # (E, C)
    x = onehot @ design["media"].T  # (E, T): the tested channel's media
    both = jnp.stack([x, x + design["exp_delta"]])  # (2, E, T)
    w = onehot @ adstock_weights(params, structure)  # (E, L)
    a = apply_weights(jnp.swapaxes(both, -1, -2), w)  # (2, T, E)
    if not structure.additive:
        u = jnp.log(a + structure.log_offset)
    else:
        C = structure.n_channels
        u = jnp.zeros_like(a)
        for g in structure.sat_groups:
            fam = get_saturation(g.family)
            idx = jnp.asarray(g.idx)
            member = onehot[:, idx].sum(-1)  # (E,): 1 when the tested channel is in g
            kw = {}
            for p in g.params:
                full = jnp.ones(C, dtype=a.dtype).at[idx].set(params[g.site(p)])
                kw[p] = onehot @ full  # (E,); 1.0 (harmless) for channels outside g
            kw[coefficient_name(g.family)] = 1.0
            u = u + jnp.where(member > 0, fam.fn(a, **kw), 0.0)
    return u[0].T, u[1].T


def experiment_lifts(params: dict, beta, mu, sigma, design: dict, structure: Structure):
    """The model's lift of each experiment on the KPI scale, (E,) (jax.numpy).

    ``params``: the sampled transform sites; ``beta (C,)`` and ``mu (T,)`` from
    :func:`mediamix.model.maths.forward`; ``sigma`` the noise scale (the multiplicative form's
    expected KPI is ``exp(mu + sigma^2 / 2)``).
    """
    import jax.numpy as jnp

    params = {**params, "beta": beta}
    unit, unit_cf = _experiment_units(params, design, structure)
    diff = (design["exp_channel"] @ beta)[:, None] * (unit_cf - unit)  # (E, T)
    if structure.additive:
        per = diff
    else:
        per = jnp.exp(mu + sigma**2 / 2)[None, :] * jnp.expm1(diff)
    return design["exp_sign"] * jnp.sum(design["exp_window"] * per, axis=-1)


def lift_likelihood(params: dict, beta, mu, sigma, design: dict, structure: Structure,
                    observe: bool = True) -> None:  # fmt: skip
    """``lift_obs ~ Normal(lift_model, lift_se)`` for every experiment (a no-op without)."""
    if "exp_lift" not in design:
        return
    import numpyro
    import numpyro.distributions as dist

    lift = experiment_lifts(params, beta, mu, sigma, design, structure)
    numpyro.sample(
        "lift",
        dist.Normal(lift, design["exp_se"]).to_event(1),
        obs=design["exp_lift"] if observe else None,
    )


# ---- experiments as ROI priors ----------------------------------------------------------
def roi_priors(experiments: Iterable[Experiment], kpi_value: float = 1.0) -> dict[str, Prior]:
    """Per-channel lognormal ROAS priors from experiments (``roas.<channel>`` keys).

    The measured ROI of a test is ``kpi_value * lift / spend_change`` with standard error
    ``kpi_value * lift_se / |spend_change|``; several tests of one channel are pooled by
    inverse-variance weights. The lognormal matches that mean and standard deviation
    (``scale^2 = log(1 + sd^2 / mean^2)``, ``loc = log(mean) - scale^2 / 2``).
    """
    pooled: dict[str, list[tuple[float, float]]] = {}
    for e in experiments:
        roi = kpi_value * e.lift / e.spend_change
        se = kpi_value * e.lift_se / abs(e.spend_change)
        pooled.setdefault(e.channel, []).append((roi, se))
    out: dict[str, Prior] = {}
    for ch, rows in pooled.items():
        w = np.array([1 / se**2 for _, se in rows])
        mean = float(np.sum(w * np.array([r for r, _ in rows])) / w.sum())
        sd = float(1 / np.sqrt(w.sum()))
        if not mean > 0:
            raise SpecError(
                f"experiments on '{ch}': the measured ROI is {mean:.3g} (not > 0), which a "
                "lognormal ROAS prior cannot express. Fix: use the experiments in the likelihood "
                "(experiments=...) instead of as ROI priors."
            )
        scale2 = float(np.log1p(sd**2 / mean**2))
        out[f"roas.{ch}"] = Prior("lognormal", {"loc": float(np.log(mean) - scale2 / 2),
                                                "scale": float(np.sqrt(scale2))})  # fmt: skip
    return out


def roi_prior_from_experiments(experiments: Iterable[Experiment], spec: Any = None):
    """A `ModelSpec` with ``media_prior: roi`` whose tested channels get their ROAS prior from
    the experiments (`roi_priors`); other channels keep the default (or their own) prior.

    Right for a test that measured the average ROI of the channel's usual spend (e.g. a full
    pause over a typical period, measured with its carry-over); for a test at another spend
    level, or one whose window matters, pass the experiments to ``fit(experiments=...)``.
    """
    from mediamix.model.spec import ModelSpec

    spec = spec if spec is not None else ModelSpec()
    if isinstance(spec, Mapping):
        spec = ModelSpec.from_dict(dict(spec))
    priors = dict(spec.priors)
    priors.update(roi_priors(experiments, spec.kpi_value))
    return spec.replace(media_prior="roi", priors=priors)
