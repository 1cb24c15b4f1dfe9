"""Simulated geo panels with a known per-geo truth (partial pooling as the truth).

Geo ``g`` has population ``p_g`` (spread ~10x over the geos, geometric steps); everything
is per capita inside the model of the truth and in KPI units outside it. In period ``t``

    y_gt / p_g = intercept_g + slope_g t + season_gt + sum_k gamma_k z_gtk
                 + sum_c beta_gc Hill(Adstock_c(spend_gc / p_g))_t               (paid)
                 + sum_r beta_gr Adstock_r(reach_gr / p_g * Hill_f(frequency_gr))_t  (rf)
                 + sum_o beta_go Hill(Adstock_o(organic_go / p_g))_t           (organic)
                 + sum_n delta_n u_gtn                                         (non-media)
                 + eps_gt,             eps_gt ~ N(0, noise_sd^2)

- adstock (geometric by default, normalised, ``L`` lags) and saturation (Hill) are shared by
  the geos: one set of shape parameters per channel, drawn by the families' own ``simulate``
  (`mediamix.transforms`), Hill's ``k`` in per-capita adstocked spend;
- partial pooling: ``beta_gc = beta_c exp(pooling_sd z_gc)``, ``z_gc ~ N(0, 1)``, around the
  national ``beta_c`` (so ``pooling_sd`` is the sd of ``log beta`` over the geos); the
  national amplitude is set so that the channel's national ROAS would be a target drawn in
  (0.5, 4) with every geo at ``beta_c``;
- intercepts, trends and seasonality are the national ones with per-geo deviations; the
  controls are per geo (a shared component plus the geo's own) with national coefficients;
- reach-and-frequency channel ``r``: ``reach`` people reached per period (a share of the
  population), ``frequency`` their average exposures (varied from about 1 to 12 around the
  optimum), ``rf_spend = cost_per_impression x reach x frequency``; its response is linear in
  reach at a given frequency, ``Hill_f(f) = f^s / (f^s + k^s)`` with ``s > 1``, so the spend
  per period buys ``spend / (cpi f)`` reach and returns ``spend Hill_f(f) / (cpi f)``: the
  optimal frequency ``argmax_f Hill_f(f) / f = k (s - 1)^(1/s)`` is interior.

Conventions recorded in ``truth`` (plain JSON values):

- ``window``: ``[start, stop)``, the periods of the ROAS: the model's likelihood window with
  ``adstock_warmup: exclude`` (the first ``L - 1`` periods only feed the adstock); contribution
  and spend are sums over the window in KPI units and currency; ``roas`` = contribution /
  spend, per geo and nationally (national = sum over geos of contribution / sum of spend);
  ``mroas`` = extra contribution / extra spend when every window period's spend of the channel
  rises by 1 % (in one geo for the per-geo value, in all geos nationally);
- ``contributions[name]``: each media channel's contribution ``(G, T)`` in KPI units for every
  period, ``media_spend[name]`` its spend ``(G, T)``; `window_roas` recomputes the ROAS over
  any window from them (e.g. a fitted model's ``window``);
- betas are per capita KPI (the amplitude of Hill on per-capita adstocked spend).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from mediamix.data.simulate import (
    _MAX_LAG,
    _PANDAS_FREQ,
    _PERIODS_PER_WEEK,
    _YEAR,
    CHANNEL_NAMES,
    CONTROL_NAMES,
    MROAS_STEP,
    _adstock_params,
    _flight_mask,
    _saturation_shape,
    _spend_patterns,
)
from mediamix.errors import SpecError

RF_NAMES = ("youtube", "ctv", "audio", "dooh")
ORGANIC_NAMES = ("organic_social", "email", "pr", "newsletter")
NON_MEDIA_NAMES = ("promotion", "discount_depth", "loyalty_push", "price_cut")
ROLE_FIELDS = ("organic", "non_media", "reach", "frequency", "rf_spend")
_SPEND_SCALE = 50.0  # national spend of `simulate`'s patterns x 50: a few currency per capita


def optimal_frequency(k: float, s: float) -> float:
    """``argmax_f Hill(f) / f`` for ``Hill(f) = f^s / (f^s + k^s)``: ``k (s - 1)^(1/s)``
    (interior for s > 1; 0 for s <= 1, where ``Hill(f) / f`` falls from the start)."""
    return float(k * (s - 1.0) ** (1.0 / s)) if s > 1 else 0.0


def _adstock(x: np.ndarray, params: dict[str, Any], family: str) -> np.ndarray:
    """Adstock of ``x (G, T, C)`` with per-channel parameters (arrays ``(C,)`` + ``L`` and
    options), in float64 numpy through the family's registered weights."""
    from mediamix.transforms import apply_weights, get_adstock

    kw = {k: np.asarray(v, dtype=float) for k, v in params.items() if k not in ("L", "normalize")}
    if "normalize" in params:
        kw["normalize"] = bool(params["normalize"])
    w = np.asarray(get_adstock(family).weights(L=int(params["L"]), **kw), dtype=float)
    return np.asarray(apply_weights(np.asarray(x, dtype=float), w), dtype=float)


def _saturate(a: np.ndarray, params: dict[str, Any], family: str) -> np.ndarray:
    from mediamix.transforms import get_saturation

    p = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    return np.asarray(get_saturation(family).fn(a, **p), dtype=float)


def _geo_spend(
    rng: np.random.Generator, share: np.ndarray, n: int, n_channels: int, freq: str
) -> np.ndarray:
    """Spend (G, T, C): national patterns (`simulate`'s) split by population share, each geo
    with its own per-capita intensity (sd 0.35 in logs) and period noise (sd 0.3)."""
    national, _ = _spend_patterns(rng, n, n_channels, freq)
    G = len(share)
    level = rng.lognormal(0.0, 0.35, (G, 1, n_channels))
    noise = rng.lognormal(0.0, 0.3, (G, n, n_channels))
    spend = _SPEND_SCALE * share[:, None, None] * national[None] * level * noise
    return np.round(spend, 2)


def _ar(rng: np.random.Generator, shape: tuple[int, ...], rho: float = 0.8) -> np.ndarray:
    """AR(1) paths along axis 1 with unit innovation scale 0.6."""
    e = rng.normal(0.0, 0.6, shape)
    out = np.zeros(shape)
    for t in range(1, shape[1]):
        out[:, t] = rho * out[:, t - 1] + e[:, t]
    return out


def _names(base: tuple[str, ...], n: int, stem: str) -> list[str]:
    return [base[i] if i < len(base) else f"{stem}_{i + 1}" for i in range(n)]


def _check_count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise SpecError(f"{name} must be an integer >= {low} (got {value!r}).")
    return int(value)


def simulate_geo(
    n_geos: int = 24,
    n_periods: int = 104,
    n_channels: int = 3,
    seed: int = 0,
    pooling_sd: float = 0.3,
    rf_channels: int = 0,
    organic: int = 0,
    non_media: int = 0,
    *,
    n_controls: int = 2,
    freq: str = "W",
    adstock: str = "geometric",
    snr: float = 5.0,
    media_share: float = 0.3,
    population_range: float = 10.0,
    start: str = "2022-01-03",
) -> tuple[Any, dict[str, Any]]:
    """Simulate a geo panel with known per-geo truth; returns ``(arrays, truth)``.

    ``n_geos`` geos x ``n_periods`` periods at ``freq``, ``n_channels`` paid channels
    (spend is the model input), ``rf_channels`` reach-and-frequency channels, ``organic``
    channels with activity and no spend, ``non_media`` treatments (0/1 and continuous levers),
    ``n_controls`` controls (per geo). Populations spread ``population_range`` x from the
    smallest to the largest geo. ``pooling_sd``: sd of the per-geo log media effects
    around the national ones. ``snr``: var over time of the expected per-capita KPI (mean
    over geos) / noise_sd^2. ``media_share``: the paid and rf media's share of the KPI.
    Saturation is Hill (shared by the geos). The same seed gives the same panel and truth.
    See the module docstring for the model of the truth and every convention.

    ``arrays``: ``geos (G,)``, ``dates (T,)``, ``population (G,)``, ``kpi (G, T)``, ``spend
    (G, T, C)``, ``controls (G, T, K)``, ``organic (G, T, O)``, ``non_media (G, T, N)``,
    ``reach``, ``frequency``, ``rf_spend (G, T, R)``, their names and ``freq``;
    `simulate_geo_panel` puts them in a `Panel`.
    """
    G = _check_count("n_geos", n_geos, 1)
    n = _check_count("n_periods", n_periods, 20)
    C = _check_count("n_channels", n_channels, 0)
    R = _check_count("rf_channels", rf_channels, 0)
    O = _check_count("organic", organic, 0)  # noqa: E741
    N = _check_count("non_media", non_media, 0)
    K = _check_count("n_controls", n_controls, 0)
    if C + R < 1:
        raise SpecError("a geo panel needs at least one paid or rf channel (n_channels >= 1).")
    if freq not in _PERIODS_PER_WEEK:
        raise SpecError(f"freq must be 'D', 'W' or 'M' (got {freq!r}).")
    if not (np.isfinite(pooling_sd) and pooling_sd >= 0):
        raise SpecError(f"pooling_sd must be >= 0 (got {pooling_sd}).")
    if not snr > 0:
        raise SpecError(f"snr must be > 0 (got {snr}).")
    if not 0 < media_share < 1:
        raise SpecError(f"media_share must be in (0, 1) (got {media_share}).")
    if not population_range >= 1:
        raise SpecError(f"population_range must be >= 1 (got {population_range}).")

    rng = np.random.default_rng(seed)
    geos = [f"geo_{g + 1:02d}" for g in range(G)]
    steps = np.linspace(0.0, np.log(population_range), G) if G > 1 else np.zeros(1)
    pop = np.round(1e5 * np.exp(rng.permutation(steps)))
    share = pop / pop.sum()
    t = np.arange(n, dtype=float)
    period = _YEAR[freq]
    L = _MAX_LAG[freq]
    window = (L - 1, n)
    keep = slice(*window)
    names = _names(CHANNEL_NAMES, C, "channel")
    rf_names = _names(RF_NAMES, R, "rf")
    media_names = names + rf_names
    M = C + R

    # ---- paid channels: per-capita adstocked spend, shared shapes, pooled amplitudes ----
    spend = _geo_spend(rng, share, n, C, freq) if C else np.zeros((G, n, 0))
    ad_p = _adstock_params(rng, adstock, C, freq) if C else {}
    if C:
        ad_p["L"] = L
    a = _adstock(spend / pop[:, None, None], ad_p, adstock) if C else np.zeros((G, n, 0))
    m = np.array([a[..., c][a[..., c] > 0].mean() for c in range(C)])
    sat_p = _saturation_shape(rng, "hill", m) if C else {}
    unit = np.zeros((G, n, 0))
    if C:
        unit = pop[:, None, None] * _saturate(a, {**sat_p, "beta": np.ones(C)}, "hill")

    # ---- reach and frequency --------------------------------------------------------------
    reach = freq_ = rf_spend = np.zeros((G, n, R))
    rf_info: list[dict[str, Any]] = []
    rf_unit = np.zeros((G, n, R))
    if R:
        rf_ad = _adstock_params(rng, adstock, R, freq)
        rf_ad["L"] = L
        kf = rng.uniform(2.0, 4.0, R)
        sf = rng.uniform(2.0, 3.0, R)
        fopt = np.array([optimal_frequency(kf[r], sf[r]) for r in range(R)])
        frac = np.zeros((G, n, R))
        for r in range(R):
            on = _flight_mask(rng, n, freq) | (rng.random(n) < 0.3)
            level = rng.uniform(0.1, 0.35) * rng.lognormal(0.0, 0.3, (G, 1))
            frac[:, :, r] = np.clip(level * on[None] * rng.lognormal(0.0, 0.3, (G, n)), 0, 0.8)
        f = np.exp(np.log(fopt)[None, None] + rng.normal(0.0, 0.55, (G, n, R)))
        freq_ = np.round(np.clip(f, 1.0, 12.0), 3)
        reach = np.round(frac * pop[:, None, None])
        freq_ = np.where(reach > 0, freq_, 0.0)
        cpi = np.exp(rng.uniform(np.log(0.2), np.log(2.0), R))[None, None]  # spend ~ paid
        cpi = cpi * rng.lognormal(0.0, 0.1, (G, 1, R))
        rf_spend = np.round(cpi * reach * freq_, 2)
        rf_hf = _saturate(freq_, {"beta": np.ones(R), "k": kf, "s": sf}, "hill")
        rf_unit = pop[:, None, None] * _adstock(reach / pop[:, None, None] * rf_hf, rf_ad, adstock)
        for r in range(R):
            rf_info.append(
                {
                    "adstock": {
                        k: (v if k in ("L", "normalize") else float(v[r])) for k, v in rf_ad.items()
                    },  # fmt: skip
                    "frequency_hill": {"k": float(kf[r]), "s": float(sf[r])},
                    "optimal_frequency": float(fopt[r]),
                    "cost_per_impression": float(np.exp(np.log(cpi[0, :, r]).mean())),
                }
            )

    # ---- amplitudes from target national ROAS, then per-geo pooling --------------------
    all_spend = np.concatenate([spend, rf_spend], axis=-1)  # (G, T, M)
    all_unit = np.concatenate([unit, rf_unit], axis=-1)
    roas_target = rng.uniform(0.5, 4.0, M)
    beta_nat = (
        roas_target * all_spend[:, keep].sum((0, 1)) / all_unit[:, keep].sum((0, 1))
    )  # per capita KPI
    z = rng.normal(0.0, 1.0, (G, M))
    beta = beta_nat[None] * np.exp(pooling_sd * z)  # (G, M)
    contrib = all_unit * beta[:, None, :]  # (G, T, M), KPI units

    # the 1 % spend increase in the window (per geo; nationally the sums)
    up = spend.copy()
    up[:, keep] *= 1 + MROAS_STEP
    contrib_up = np.zeros_like(contrib)
    if C:
        a_up = _adstock(up / pop[:, None, None], ad_p, adstock)
        contrib_up[..., :C] = (
            pop[:, None, None] * _saturate(a_up, {**sat_p, "beta": np.ones(C)}, "hill")
        ) * beta[:, None, :C]
    if R:  # linear in reach at the observed frequency
        up_reach = reach.copy()
        up_reach[:, keep] *= 1 + MROAS_STEP
        rf_up = pop[:, None, None] * _adstock(up_reach / pop[:, None, None] * rf_hf, rf_ad, adstock)
        contrib_up[..., C:] = rf_up * beta[:, None, C:]

    # ---- organic media (activity, no spend) and non-media treatments --------------------
    org_names = _names(ORGANIC_NAMES, O, "organic")
    organic_arr = np.zeros((G, n, O))
    org_contrib = np.zeros((G, n, O))
    org_truth: dict[str, Any] = {}
    if O:
        nat_act, _ = _spend_patterns(rng, n, O, freq)
        act = (
            _SPEND_SCALE * share[:, None, None] * nat_act[None] * rng.lognormal(0.0, 0.3, (G, n, O))
        )
        organic_arr = np.round(act * 10.0, 1)  # activity units (e.g. posts x reach)
        org_ad = _adstock_params(rng, adstock, O, freq)
        org_ad["L"] = L
        oa = _adstock(organic_arr / pop[:, None, None], org_ad, adstock)
        om = np.array([oa[..., o][oa[..., o] > 0].mean() for o in range(O)])
        org_sat = _saturation_shape(rng, "hill", om)
        ounit = pop[:, None, None] * _saturate(oa, {**org_sat, "beta": np.ones(O)}, "hill")
    non_names = _names(NON_MEDIA_NAMES, N, "treatment")
    non_arr = np.zeros((G, n, N))
    for j in range(N):
        if j % 2 == 0:  # an on/off promotion per geo and period
            non_arr[:, :, j] = (rng.random((G, n)) < 0.12).astype(float)
        else:  # a continuous lever (e.g. a discount depth in %)
            non_arr[:, :, j] = np.round(np.clip(5 + 3 * _ar(rng, (G, n)), 0, None), 2)

    # ---- baseline per capita: national level with per-geo deviations ------------------
    media_pc = (contrib[:, keep].sum(-1) / pop[:, None]).mean()
    base = media_pc * (1 - media_share) / media_share
    if O:
        org_beta_nat = 0.05 * base / (ounit / pop[:, None, None]).mean((0, 1))
        org_beta = org_beta_nat[None] * np.exp(pooling_sd * rng.normal(0.0, 1.0, (G, O)))
        org_contrib = ounit * org_beta[:, None, :]
        for o, name in enumerate(org_names):
            org_truth[name] = {
                "adstock": {
                    k: (v if k in ("L", "normalize") else float(v[o])) for k, v in org_ad.items()
                },  # fmt: skip
                "saturation": {"k": float(org_sat["k"][o]), "s": float(org_sat["s"][o])},
                "beta_national": float(org_beta_nat[o]),
                "beta_geo": [float(b) for b in org_beta[:, o]],
                "contribution": float(org_contrib[:, keep, o].sum()),
                "contribution_geo": [float(v) for v in org_contrib[:, keep, o].sum(1)],
            }
    delta = np.array(
        [(0.08 if j % 2 == 0 else 0.006) * base * rng.uniform(0.6, 1.4) for j in range(N)]
    )
    non_contrib = pop[:, None, None] * non_arr * delta if N else np.zeros((G, n, 0))

    intercept = base * np.exp(rng.normal(0.0, 0.15, G))
    slope = base * rng.uniform(-0.1, 0.25, G) / n
    harmonics = []
    season = np.zeros((G, n))
    for h, amp_h in ((1, 0.06), (2, 0.03)):
        sin_c, cos_c = rng.normal(0, amp_h * base, 2)
        sin_g = sin_c + rng.normal(0, 0.3 * amp_h * base, G)
        cos_g = cos_c + rng.normal(0, 0.3 * amp_h * base, G)
        harmonics.append(
            {
                "harmonic": h,
                "sin": float(sin_c),
                "cos": float(cos_c),
                "sin_geo": sin_g.tolist(),
                "cos_geo": cos_g.tolist(),
            }  # fmt: skip
        )
        season += sin_g[:, None] * np.sin(2 * np.pi * h * t / period)
        season += cos_g[:, None] * np.cos(2 * np.pi * h * t / period)
    ctrl_names = _names(CONTROL_NAMES, K, "control")
    controls = np.zeros((G, n, K))
    coefs: dict[str, float] = {}
    for k, name in enumerate(ctrl_names):
        shared = _ar(rng, (1, n))
        own = _ar(rng, (G, n))
        ar = 0.7 * shared + 0.7 * own
        if name == "price_index":
            zk, g = np.round(1.0 + 0.05 * ar, 4), -rng.uniform(0.2, 0.6) * base
        elif name == "promo":
            zk = (rng.random((G, n)) < 0.1).astype(float)
            zk[:, 0] = 1.0
            g = rng.uniform(0.05, 0.15) * base
        elif name == "competitor_index":
            zk, g = np.round(100 + 10 * ar, 2), -rng.uniform(0.001, 0.003) * base
        elif name == "temperature":
            zk = np.round(15 + 10 * np.sin(2 * np.pi * t / period) + 3 * own, 1)
            g = rng.uniform(0.002, 0.005) * base
        else:
            zk, g = np.round(ar, 4), rng.normal(0, 0.03) * base
        controls[:, :, k], coefs[name] = zk, float(g)
    control_term = np.einsum("gtk,k->gt", controls, np.array([coefs[k] for k in ctrl_names]))
    control_term = control_term.reshape(G, n)
    # intercepts absorb the controls' mean so each geo's baseline stays at its level
    intercept = intercept - control_term.mean(1)

    mu_pc = (
        intercept[:, None]
        + slope[:, None] * t
        + season
        + control_term
        + (contrib.sum(-1) + org_contrib.sum(-1) + non_contrib.sum(-1)) / pop[:, None]
    )
    noise_sd = float(np.std(mu_pc, axis=1).mean() / np.sqrt(snr))
    kpi = np.round(pop[:, None] * (mu_pc + rng.normal(0.0, noise_sd, (G, n))), 2)

    dates = pd.date_range(pd.Timestamp(start), periods=n, freq=_PANDAS_FREQ[freq])
    arrays: dict[str, Any] = {
        "geos": tuple(geos),
        "dates": pd.DatetimeIndex(dates),
        "population": pop,
        "kpi": kpi,
        "spend": spend,
        "controls": controls,
        "channel_names": tuple(names),
        "control_names": tuple(ctrl_names),
        "organic": organic_arr,
        "organic_names": tuple(org_names),
        "non_media": non_arr,
        "non_media_names": tuple(non_names),
        "reach": reach,
        "frequency": freq_,
        "rf_spend": rf_spend,
        "rf_names": tuple(rf_names),
        "freq": freq,
    }

    # ---- the truth ----------------------------------------------------------------------
    channels: dict[str, Any] = {}
    w_spend = all_spend[:, keep].sum(1)  # (G, M)
    w_contrib = contrib[:, keep].sum(1)
    w_extra = contrib_up[:, keep].sum(1) - w_contrib
    for i, name in enumerate(media_names):
        info: dict[str, Any] = {
            "kind": "paid" if i < C else "rf",
            "roas": float(w_contrib[:, i].sum() / w_spend[:, i].sum()),
            "roas_geo": [float(v) for v in w_contrib[:, i] / w_spend[:, i]],
            "mroas": float(w_extra[:, i].sum() / (MROAS_STEP * w_spend[:, i].sum())),
            "mroas_geo": [float(v) for v in w_extra[:, i] / (MROAS_STEP * w_spend[:, i])],
            "contribution": float(w_contrib[:, i].sum()),
            "contribution_geo": [float(v) for v in w_contrib[:, i]],
            "spend": float(w_spend[:, i].sum()),
            "spend_geo": [float(v) for v in w_spend[:, i]],
            "roas_target": float(roas_target[i]),
            "beta_national": float(beta_nat[i]),
            "beta_geo": [float(b) for b in beta[:, i]],
        }
        if i < C:
            info["adstock"] = {k: (v if k in ("L", "normalize") else float(v[i]))
                               for k, v in ad_p.items()}  # fmt: skip
            info["saturation"] = {"k": float(sat_p["k"][i]), "s": float(sat_p["s"][i])}
            info["spend_column"] = f"{name}_spend"
        else:
            info.update(rf_info[i - C])
        channels[name] = info
    truth: dict[str, Any] = {
        "seed": int(seed),
        "freq": freq,
        "n_geos": G,
        "n_periods": n,
        "start": dates[0].strftime("%Y-%m-%d"),
        "geos": geos,
        "population": [float(p) for p in pop],
        "adstock": adstock,
        "saturation": "hill",
        "pooling_sd": float(pooling_sd),
        "window": [int(window[0]), int(window[1])],
        "channels": channels,
        "media_names": media_names,
        "organic": org_truth,
        "non_media": {
            name: {
                "coef": float(delta[j]),
                "contribution": float(non_contrib[:, keep, j].sum()),
                "contribution_geo": [float(v) for v in non_contrib[:, keep, j].sum(1)],
            }
            for j, name in enumerate(non_names)
        },
        "controls": {k: {"coef": coefs[k]} for k in ctrl_names},
        "baseline": {
            "intercept_geo": [float(v) for v in intercept],
            "slope_geo": [float(v) for v in slope],
            "seasonality": {"period": float(period), "harmonics": harmonics},
        },
        "noise_sd": noise_sd,
        "snr": float(snr),
        "media_share": float(media_share),
        "contributions": {name: contrib[..., i].tolist() for i, name in enumerate(media_names)},
        "media_spend": {name: all_spend[..., i].tolist() for i, name in enumerate(media_names)},
        "definitions": {
            "per_capita": "betas, intercepts, slopes, seasonality and coefs are per capita",
            "roas": "window contribution / window spend (KPI units / currency); national = "
            "sum over geos of contribution / sum over geos of spend",
            "mroas": "(contribution at 1.01 x window spend - contribution) / (0.01 x window "
            "spend), in that geo (roas_geo) or all geos (roas)",
            "pooling": "beta_geo = beta_national * exp(pooling_sd * z), z ~ N(0, 1)",
            "optimal_frequency": "argmax_f Hill(f)/f = k (s - 1)^(1/s)",
            "window": "[start, stop): periods after the adstock warm-up (max lag - 1)",
        },
    }
    return arrays, truth


def window_roas(
    truth: dict[str, Any], window: slice | tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The true ROAS over ``window`` (default the truth's): national ``(M,)`` and per geo
    ``(G, M)``, ``M`` = the media channels (paid then rf, ``truth["media_names"]``)."""
    if window is None:
        window = tuple(truth["window"])
    if not isinstance(window, slice):
        window = slice(*window)
    names = truth["media_names"]
    contrib = np.stack([np.asarray(truth["contributions"][c]) for c in names], -1)[:, window]
    spend = np.stack([np.asarray(truth["media_spend"][c]) for c in names], -1)[:, window]
    c_g, s_g = contrib.sum(1), spend.sum(1)
    return c_g.sum(0) / s_g.sum(0), c_g / s_g


def simulate_geo_panel(
    n_geos: int = 24,
    n_periods: int = 104,
    n_channels: int = 3,
    seed: int = 0,
    pooling_sd: float = 0.3,
    population: bool = True,
    rf_channels: int = 0,
    organic: int = 0,
    non_media: int = 0,
    **options: Any,
) -> tuple[Any, dict[str, Any]]:
    """`simulate_geo` as a `mediamix.data.panel.Panel` (geo column ``geo``, KPI ``sales``,
    spend columns ``<channel>_spend``, the controls, ``population`` when ``population`` is
    true (else none: the KPI is per capita x population all the same), and the organic,
    non-media and reach-and-frequency roles); returns ``(panel, truth)``. ``options`` go to `simulate_geo` (``n_controls``, ``freq``,
    ``adstock``, ``snr``, ``media_share``, ``population_range``, ``start``)."""
    from mediamix.data.dataset import ChannelSpec
    from mediamix.data.panel import Panel, _frozen

    role_fields = {f.name for f in fields(Panel)}
    need = [r for r, k in (("reach", rf_channels), ("organic", organic),
                           ("non_media", non_media)) if k]  # fmt: skip
    missing = [r for r in need if r not in role_fields]
    if missing:
        raise SpecError(
            f"this Panel has no '{missing[0]}' role, so {missing[0]} channels cannot be "
            "simulated into it. Fix: use simulate_geo (arrays), or simulate paid channels only "
            "(rf_channels=0, organic=0, non_media=0)."
        )
    arr, truth = simulate_geo(
        n_geos, n_periods, n_channels, seed, pooling_sd, rf_channels, organic, non_media,
        **options,
    )  # fmt: skip
    kw: dict[str, Any] = {
        "geos": arr["geos"],
        "dates": arr["dates"],
        "kpi": _frozen(arr["kpi"]),
        "spend": _frozen(arr["spend"]),
        "media": _frozen(arr["spend"]),
        "controls": _frozen(arr["controls"]),
        "population": _frozen(arr["population"]) if population else None,
        "channels": tuple(ChannelSpec(name=c, spend=f"{c}_spend") for c in arr["channel_names"]),
        "control_names": arr["control_names"],
        "freq": arr["freq"],
        "date_name": "date",
        "kpi_name": "sales",
        "geo_name": "geo",
        "population_name": "population" if population else None,
        "notes": (f"simulated: {len(arr['geos'])} geos, seed {seed}.",),
    }
    for name in ("organic", "non_media", "reach", "frequency", "rf_spend"):
        if name in role_fields:
            kw[name] = _frozen(arr[name])
    for name in ("organic_names", "non_media_names"):
        if name in role_fields:
            kw[name] = arr[name]
    if "rf_channels" in role_fields:
        from mediamix.data.config import RFChannel

        kw["rf_channels"] = tuple(
            RFChannel(name=r, reach=f"{r}_reach", frequency=f"{r}_frequency", spend=f"{r}_spend")
            for r in arr["rf_names"]
        )
    return Panel(**kw), truth
