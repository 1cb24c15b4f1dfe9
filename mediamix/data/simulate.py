"""Simulated media mix data with a known ground truth.

The KPI of period ``t = 0, 1, ..., T-1`` is

    y_t = intercept + slope * t + season_t + sum_m Sat_m(Adstock_m(spend_{., m})_t)
          + sum_k gamma_k z_{t,k} + eps_t,      eps_t ~ N(0, noise_sd^2)

with ``season_t = sum_h a_h sin(2 pi h t / P) + b_h cos(2 pi h t / P)`` (yearly period ``P``
in periods). Adstock and saturation come from `mediamix.transforms` (computed in float64).

Conventions recorded in ``truth``:

- saturation parameters are on the ORIGINAL scale: x is adstocked spend per period (currency),
  the amplitude (``beta`` or ``a``) is in KPI units; adstock starts from zero spend before the
  first period -- or, with ``burn_in`` B > 0, before B earlier periods of spend that are
  simulated and then cut off (the data start in the middle of a history, as exports do; their
  spend is kept in ``truth["burn_in_spend"]`` and their carry-over is in the contributions);
  geometric adstock is normalised (weights sum to 1);
- ``contribution`` = sum over the returned periods of the channel's term; ``roas`` =
  contribution / total spend; ``mroas`` = extra contribution / extra spend when every period's
  spend of that channel rises by 1 %; ``mroas_limit`` is the same as the increase -> 0
  (``sum_t Sat'(a_t) a'_t / spend``, a'_t the part of the adstock from the returned periods'
  spend, exact since adstock is linear);
- ``snr`` = var(mean KPI) / noise_sd^2 (a ratio of variances);
- ``scales``: the model-unit convention (media divided by its mean over periods with spend > 0,
  KPI divided by its mean) and each channel's saturation parameters in those units
  (``saturation_scaled``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mediamix.errors import SpecError

CHANNEL_NAMES = ("tv", "search", "social", "display", "radio", "ooh", "print", "video")
PATTERNS = ("flighting", "always_on", "correlated_bursts", "sporadic")
CONTROL_NAMES = ("price_index", "promo", "competitor_index", "temperature")
MROAS_STEP = 0.01
_PERIODS_PER_WEEK = {"D": 7.0, "W": 1.0, "M": 12.0 / (365.25 / 7.0)}
_YEAR = {"D": 365.25, "W": 365.25 / 7.0, "M": 12.0}
_MAX_LAG = {"D": 21, "W": 8, "M": 3}
_PANDAS_FREQ = {"D": "D", "W": "W-MON", "M": "MS"}


def _weeks(n_weeks: float, freq: str) -> int:
    return max(1, int(round(n_weeks * _PERIODS_PER_WEEK[freq])))


def _flight_mask(rng: np.random.Generator, n: int, freq: str) -> np.ndarray:
    """On/off bursts: on for 3-8 weeks, off for 2-6 weeks; at least one off and one on run."""
    mask = np.zeros(n, dtype=bool)
    t, on = 0, bool(rng.random() < 0.5)
    while t < n:
        length = _weeks(rng.uniform(3, 8) if on else rng.uniform(2, 6), freq)
        mask[t : t + length] = on
        t += length
        on = not on
    if mask.all():
        mask[rng.integers(0, n)] = False
    if not mask.any():
        mask[: max(1, n // 2)] = True
    return mask


def _spend_patterns(
    rng: np.random.Generator, n: int, n_channels: int, freq: str
) -> tuple[np.ndarray, list[str]]:
    """Spend (T, C) and the pattern name of each channel (cycling through `PATTERNS`)."""
    spend = np.zeros((n, n_channels))
    patterns: list[str] = []
    t = np.arange(n)
    year = _YEAR[freq]
    lead_mask = _flight_mask(rng, n, freq)
    for c in range(n_channels):
        pattern = PATTERNS[c % len(PATTERNS)]
        patterns.append(pattern)
        level = np.exp(rng.uniform(np.log(2000), np.log(20000))) / _PERIODS_PER_WEEK[freq]
        noise = rng.lognormal(0.0, 0.25, n)
        if pattern == "flighting":
            mask = lead_mask if c == 0 else _flight_mask(rng, n, freq)
            bursts = np.ones(n)
            # one level per burst: flights differ in weight
            starts = np.flatnonzero(np.diff(np.concatenate([[False], mask]).astype(int)) == 1)
            for s in starts:
                bursts[s:] = rng.uniform(0.6, 1.6)
            x = level * 1.8 * mask * bursts * noise
        elif pattern == "always_on":
            phase = rng.uniform(0, 2 * np.pi)
            x = level * (1.0 + 0.35 * np.sin(2 * np.pi * t / year + phase)) * noise
        elif pattern == "correlated_bursts":
            shift = int(rng.integers(0, 2))
            mask = np.roll(lead_mask, shift) | (rng.random(n) < 0.08)
            mask &= rng.random(n) > 0.1
            if mask.all():
                mask[0] = False
            x = level * 1.6 * mask * noise
        else:  # sporadic
            mask = rng.random(n) < 0.35
            mask[rng.integers(0, n)] = True
            mask[rng.integers(0, n)] = False
            x = level * 2.5 * mask * noise
        spend[:, c] = np.round(x, 2)
    return spend, patterns


def _adstock_params(rng: np.random.Generator, family: str, n: int, freq: str) -> dict[str, Any]:
    """Per-channel adstock parameters (arrays of shape (C,)) and the max lag L, drawn by the
    family's own ``simulate``."""
    from mediamix.transforms import ADSTOCKS, get_adstock

    fam = get_adstock(family)
    if fam.simulate is None:
        can = [f.name for f in ADSTOCKS.values() if f.simulate is not None]
        raise SpecError(f"cannot simulate adstock '{family}'; use one of {', '.join(can)}.")
    return fam.simulate(rng, n, _PERIODS_PER_WEEK[freq], _MAX_LAG[freq])


def _saturation_shape(rng: np.random.Generator, family: str, m: np.ndarray) -> dict[str, Any]:
    """Shape parameters (not the amplitude) relative to ``m``, the typical adstocked spend,
    drawn by the family's own ``simulate`` with a spread factor ``u ~ U(0.5, 1.5)`` per channel."""
    from mediamix.transforms import SATURATIONS, get_saturation

    n = len(m)
    u = rng.uniform(0.5, 1.5, n)
    fam = get_saturation(family)
    if fam.simulate is None:
        can = [f.name for f in SATURATIONS.values() if f.simulate is not None]
        raise SpecError(f"cannot simulate saturation '{family}'; use one of {', '.join(can)}.")
    return fam.simulate(rng, m, u)


def amplitude_name(saturation: str) -> str:
    """The parameter that scales a response family's output (``beta``, or ``a``)."""
    from mediamix.transforms import get_saturation

    return get_saturation(saturation).amplitude


def scale_saturation_params(
    saturation: str, params: dict[str, float], media_scale: float, kpi_scale: float
) -> dict[str, float]:
    """Saturation parameters in model units ``x' = x / media_scale``, ``y' = y / kpi_scale``.

    The scaled curve satisfies ``f'(x / media_scale) = f(x) / kpi_scale``.
    """
    from mediamix.transforms import get_saturation

    out = get_saturation(saturation).rescale(params, media_scale, kpi_scale)
    return {k: float(v) for k, v in out.items()}


def _transform(spend: np.ndarray, adstock: str, ad_p: dict, saturation: str, sat_p: dict):
    """Adstocked spend (T, C) and contributions (T, C), in float64.

    Computed with JAX in double precision (the shipped example's truth is pinned to these
    numbers to the last digit; numpy float64 agrees to rounding).
    """
    import jax
    import jax.numpy as jnp

    from mediamix.transforms import apply_weights, get_adstock, get_saturation

    with jax.enable_x64(True):
        fam = get_adstock(adstock)
        kw = {
            k: jnp.asarray(v, dtype=float) for k, v in ad_p.items() if k not in ("L", "normalize")
        }
        if "normalize" in ad_p:
            kw["normalize"] = bool(ad_p["normalize"])
        w = fam.weights(L=int(ad_p["L"]), **kw)
        a = np.asarray(apply_weights(jnp.asarray(spend, dtype=float), w), dtype=float)
        sat = get_saturation(saturation)
        p = {k: jnp.asarray(v, dtype=float) for k, v in sat_p.items()}
        contrib = np.asarray(sat.fn(jnp.asarray(a), **p), dtype=float)
        deriv = np.asarray(sat.deriv(jnp.asarray(a), **p), dtype=float)
    return a, contrib, deriv


def _stack(per_channel: list[dict[str, Any]], key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in per_channel[0][key]:
        vals = [ch[key][name] for ch in per_channel]
        out[name] = vals[0] if name in ("L", "normalize") else np.asarray(vals, dtype=float)
    return out


def channel_contributions(spend: np.ndarray, truth: dict[str, Any]) -> np.ndarray:
    """Each channel's true contribution per period, shape (T, C), from ``truth`` parameters.

    ``spend`` is (T, C) in the order of ``truth["channels"]``; a simulation with burn-in puts
    its cut-off spend (``truth["burn_in_spend"]``) before it, so the carry-over counts.
    """
    chans = list(truth["channels"].values())
    pre = np.asarray(truth.get("burn_in_spend") or np.zeros((0, len(chans))), dtype=float)
    pre = pre.reshape(-1, len(chans))
    spend = np.concatenate([pre, np.asarray(spend, dtype=float)])
    _, contrib, _ = _transform(
        spend,
        truth["adstock"],
        _stack(chans, "adstock"),
        truth["saturation"],
        _stack(chans, "saturation"),
    )
    contrib = contrib[len(pre) :]
    if all("multiplier" in ch for ch in chans):
        m = np.stack([np.asarray(ch["multiplier"], dtype=float) for ch in chans], axis=-1)
        if m.shape == contrib.shape:
            contrib = contrib * m
    return contrib


def simulate(
    n_periods: int | None = None,
    n_channels: int = 3,
    freq: str = "W",
    adstock: str = "geometric",
    saturation: str = "hill",
    snr: float = 5.0,
    seed: int = 0,
    n_controls: int = 2,
    activity: bool = False,
    start: str = "2021-01-04",
    media_share: float = 0.3,
    n_weeks: int | None = None,
    burn_in: int = 0,
    multipliers: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Simulate a KPI from media spend with known truth; returns ``(frame, truth)``.

    ``n_periods`` rows at ``freq`` ('D', 'W' or 'M'; ``n_weeks`` is an alias, default 156).
    Channels cycle through the spend patterns flighting, always_on, correlated_bursts
    (bursts aligned with the first channel's flights) and sporadic. ``activity=True`` adds an
    ``<name>_impressions`` column = spend / cost_per_unit. ``media_share`` sets the media
    contributions' share of the mean KPI. ``burn_in`` B: spend (and its adstock) starts B
    periods before the returned ones, which are cut out of the longer history (the baseline,
    controls and noise are those of the returned periods). ``multipliers``: per channel name,
    a time-varying multiplier on its coefficient (an array of ``n_periods`` positive values,
    or `decay_path` / `random_walk_path` built for you by `multiplier_path` from a spec such as
    ``"decay:0.4"`` or ``"walk:0.3"``): its contribution in period t is ``m_t Sat(Adstock)_t``,
    the amplitude set so that the channel still has its target ROAS over the periods; the
    truth then holds every channel's ``multiplier`` and the true ``contributions`` per
    period (without it the output is unchanged, bit for bit). See the module docstring for
    every convention.
    """
    from mediamix.transforms import get_adstock, get_saturation

    if n_periods is None:
        n_periods = 156 if n_weeks is None else n_weeks
    n = int(n_periods)
    if freq not in _PERIODS_PER_WEEK:
        raise SpecError(f"freq must be 'D', 'W' or 'M' (got {freq!r}).")
    if n < 20:
        raise SpecError(f"n_periods must be at least 20 (got {n}).")
    if n_channels < 1:
        raise SpecError(f"n_channels must be at least 1 (got {n_channels}).")
    if not snr > 0:
        raise SpecError(f"snr must be > 0 (got {snr}).")
    if not 0 < media_share < 1:
        raise SpecError(f"media_share must be in (0, 1) (got {media_share}).")
    if isinstance(burn_in, bool) or not isinstance(burn_in, int | np.integer) or burn_in < 0:
        raise SpecError(f"burn_in must be an integer >= 0 (got {burn_in!r}).")
    burn_in = int(burn_in)
    get_adstock(adstock)
    get_saturation(saturation)
    rng = np.random.default_rng(seed)

    names = [
        CHANNEL_NAMES[c] if c < len(CHANNEL_NAMES) else f"channel_{c + 1}"
        for c in range(n_channels)
    ]
    full, patterns = _spend_patterns(rng, n + burn_in, n_channels, freq)
    ad_p = _adstock_params(rng, adstock, n_channels, freq)
    roas_target = rng.uniform(0.5, 4.0, n_channels)
    keep = slice(burn_in, burn_in + n)  # the returned periods; the burn-in feeds the adstock
    spend = full[keep]

    # shape parameters relative to the typical adstocked spend, amplitude from the target ROAS
    a = adstocked(full, ad_p, adstock)[keep]
    m = np.array([a[a[:, c] > 0, c].mean() for c in range(n_channels)])
    sat_p = _saturation_shape(rng, saturation, m)
    amp = amplitude_name(saturation)
    _, unit, _ = _transform(full, adstock, ad_p, saturation, {**sat_p, amp: np.ones(n_channels)})
    mult = _multipliers(multipliers, names, n, seed, freq)
    path = np.ones((n, n_channels)) if mult is None else mult
    if mult is None:
        sat_p[amp] = roas_target * spend.sum(axis=0) / unit[keep].sum(axis=0)
    else:
        sat_p[amp] = roas_target * spend.sum(axis=0) / (unit[keep] * path).sum(axis=0)
    _, contrib, deriv = _transform(full, adstock, ad_p, saturation, sat_p)
    up = full.copy()
    up[keep] *= 1 + MROAS_STEP
    _, contrib_up, _ = _transform(up, adstock, ad_p, saturation, sat_p)
    contrib, deriv, contrib_up = contrib[keep], deriv[keep], contrib_up[keep]
    if mult is not None:
        contrib, deriv, contrib_up = contrib * mult, deriv * mult, contrib_up * mult
    # the adstock of the returned periods' own spend (what a relative spend change scales)
    own = a if not burn_in else adstocked(np.where(np.arange(len(full))[:, None] < burn_in,
                                                   0.0, full), ad_p, adstock)[keep]  # fmt: skip

    media_per_period = contrib.sum(axis=1).mean()
    base = media_per_period * (1 - media_share) / media_share
    t = np.arange(n, dtype=float)
    slope = rng.uniform(-0.1, 0.25) * base / n
    trend = slope * t
    period = _YEAR[freq]
    harmonics = []
    season = np.zeros(n)
    for h, amp_h in ((1, 0.06), (2, 0.03)):
        sin_c, cos_c = rng.normal(0, amp_h * base, 2)
        harmonics.append({"harmonic": h, "sin": float(sin_c), "cos": float(cos_c)})
        season += sin_c * np.sin(2 * np.pi * h * t / period)
        season += cos_c * np.cos(2 * np.pi * h * t / period)

    controls: dict[str, np.ndarray] = {}
    coefs: dict[str, float] = {}
    for k in range(n_controls):
        name = CONTROL_NAMES[k] if k < len(CONTROL_NAMES) else f"control_{k + 1}"
        ar = np.zeros(n)
        e = rng.normal(0, 1, n)
        for i in range(1, n):
            ar[i] = 0.8 * ar[i - 1] + e[i] * 0.6
        if name == "price_index":
            z, g = np.round(1.0 + 0.05 * ar, 4), -rng.uniform(0.2, 0.6) * base
        elif name == "promo":
            z = (rng.random(n) < 0.1).astype(float)
            z[rng.integers(0, n)] = 1.0
            g = rng.uniform(0.05, 0.15) * base
        elif name == "competitor_index":
            z, g = np.round(100 + 10 * ar, 2), -rng.uniform(0.001, 0.003) * base
        elif name == "temperature":
            z = np.round(15 + 10 * np.sin(2 * np.pi * t / period) + rng.normal(0, 3, n), 1)
            g = rng.uniform(0.002, 0.005) * base
        else:
            z, g = np.round(ar, 4), rng.normal(0, 0.03) * base
        controls[name], coefs[name] = z, float(g)
    control_term = sum((coefs[k] * controls[k] for k in controls), np.zeros(n))
    # the intercept absorbs the controls' mean so the baseline stays at `base`
    intercept = base - float(control_term.mean())

    mu = intercept + trend + season + contrib.sum(axis=1) + control_term
    noise_sd = float(np.std(mu) / np.sqrt(snr))
    kpi = np.round(mu + rng.normal(0, noise_sd, n), 2)

    dates = pd.date_range(pd.Timestamp(start), periods=n, freq=_PANDAS_FREQ[freq])
    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "sales": kpi})
    cpu = np.exp(rng.uniform(np.log(0.002), np.log(0.02), n_channels))
    for c, name in enumerate(names):
        frame[f"{name}_spend"] = spend[:, c]
        if activity:
            frame[f"{name}_impressions"] = spend[:, c] / cpu[c]
    for name, z in controls.items():
        frame[name] = z

    from mediamix.data.scaling import Scaler

    media_scale = Scaler.fit(spend, "mean_nonzero").scale
    kpi_scale = float(kpi.mean())
    with np.errstate(invalid="ignore"):
        # d contribution / d (relative spend increase) = sum_t Sat'(a_t) a_t (0 where a_t = 0)
        marginal = np.where(own > 0, deriv * own, 0.0).sum(axis=0)
    channels: dict[str, Any] = {}
    for c, name in enumerate(names):
        ad = {k: (v if k in ("L", "normalize") else float(v[c])) for k, v in ad_p.items()}
        sp = {k: float(v[c]) for k, v in sat_p.items()}
        total = float(spend[:, c].sum())
        extra = float(contrib_up[:, c].sum() - contrib[:, c].sum())
        channels[name] = {
            "spend_column": f"{name}_spend",
            "activity_column": f"{name}_impressions" if activity else None,
            "cost_per_unit": float(cpu[c]) if activity else 1.0,
            "pattern": patterns[c],
            "adstock": ad,
            "saturation": sp,
            "saturation_scaled": scale_saturation_params(saturation, sp, media_scale[c], kpi_scale),
            "contribution": float(contrib[:, c].sum()),
            "spend": total,
            "roas": float(contrib[:, c].sum()) / total,
            "mroas": extra / (MROAS_STEP * total),
            "mroas_limit": float(marginal[c]) / total,
            "zero_periods": int((spend[:, c] == 0).sum()),
        }
        if mult is not None:
            channels[name]["multiplier"] = [float(v) for v in mult[:, c]]

    truth: dict[str, Any] = {
        "seed": int(seed),
        "freq": freq,
        "n_periods": n,
        "start": dates[0].strftime("%Y-%m-%d"),
        "date_column": "date",
        "kpi_column": "sales",
        "adstock": adstock,
        "saturation": saturation,
        "intercept": float(intercept),
        "trend": {"form": "linear", "slope": float(slope), "t": "period index 0..T-1"},
        "seasonality": {"period": float(period), "harmonics": harmonics},
        "controls": {
            k: {"coef": coefs[k], "contribution": float((coefs[k] * controls[k]).sum())}
            for k in controls
        },
        "noise_sd": noise_sd,
        "snr": float(snr),
        "media_share": float(media_share),
        "channels": channels,
        "scales": {
            "convention": (
                "model units: media / (its mean over periods with spend > 0), "
                "KPI / (its mean); saturation_scaled holds the parameters in those units"
            ),
            "media": {name: float(media_scale[c]) for c, name in enumerate(names)},
            "kpi": kpi_scale,
        },
        "definitions": {
            "contribution": "sum over the simulated periods of the channel's term",
            "roas": "contribution / total spend",
            "mroas": "(contribution at 1.01 x spend in every period - contribution) "
            "/ (0.01 x total spend)",
            "mroas_limit": "limit of mroas as the increase -> 0: sum_t Sat'(a_t) a_t / spend",
            "snr": "var(expected KPI) / noise_sd^2",
            "saturation": "input = adstocked spend per period (currency); amplitude in KPI units",
        },
    }
    if mult is not None:
        truth["contributions"] = {
            name: [float(v) for v in contrib[:, c]] for c, name in enumerate(names)
        }
        truth["definitions"]["multiplier"] = (
            "per period, the factor on the channel's coefficient: contribution_t = "
            "m_t Sat(Adstock(spend))_t; contributions holds each channel's per period"
        )
    if burn_in:
        truth["burn_in"] = burn_in
        # spend of the cut-off periods (B x C, channel order): their carry-over is in the truth
        truth["burn_in_spend"] = full[:burn_in].tolist()
    return frame, truth


def decay_path(n: int, end: float) -> np.ndarray:
    """A multiplier that falls (or rises) geometrically from 1 to ``end`` over ``n`` periods."""
    return np.exp(np.log(end) * np.arange(n) / max(n - 1, 1))


def random_walk_path(n: int, sd_per_year: float, seed: int, freq: str = "W") -> np.ndarray:
    """A multiplier ``exp(walk)``, the walk with sd ``sd_per_year`` per year, centred so that
    its log averages zero (its own random numbers: the rest of the simulation is unchanged)."""
    rng = np.random.default_rng([int(seed), 7919])
    step = sd_per_year / np.sqrt(_YEAR[freq])
    walk = np.cumsum(rng.normal(0.0, step, n))
    return np.exp(walk - walk.mean())


def multiplier_path(spec: Any, n: int, seed: int, freq: str = "W") -> np.ndarray:
    """A multiplier path (n,) from ``"decay:END"``, ``"walk:SD_PER_YEAR"`` or an array."""
    if isinstance(spec, str):
        kind, _, arg = spec.partition(":")
        try:
            value = float(arg)
        except ValueError:
            value = float("nan")
        if kind == "decay" and value > 0:
            return decay_path(n, value)
        if kind == "walk" and value > 0:
            return random_walk_path(n, value, seed, freq)
        raise SpecError(
            f"multiplier {spec!r}: expected 'decay:END' (e.g. decay:0.4) or 'walk:SD' "
            "(e.g. walk:0.3, sd of the log per year) or an array of positive values"
        )
    path = np.asarray(spec, dtype=float).reshape(-1)
    if path.shape != (n,) or not np.all(np.isfinite(path) & (path > 0)):
        raise SpecError(f"a multiplier path needs {n} positive finite values; got {path.shape}")
    return path


def _multipliers(multipliers, names: list[str], n: int, seed: int, freq: str) -> np.ndarray | None:
    """The (T, C) multiplier of every channel (1 where none is given), or None."""
    if not multipliers:
        return None
    out = np.ones((n, len(names)))
    for i, (name, spec) in enumerate(multipliers.items()):
        if name not in names:
            raise SpecError(
                f"multipliers names channel '{name}', which is not simulated (channels: "
                f"{', '.join(names)})"
            )
        out[:, names.index(name)] = multiplier_path(spec, n, seed + 1000 * (i + 1), freq)
    return out


def adstocked(spend: np.ndarray, ad_p: dict[str, Any], adstock: str) -> np.ndarray:
    """Adstocked spend (T, C) for stacked adstock parameters (float64)."""
    a, _, _ = _transform(spend, adstock, ad_p, "hill", {"beta": 1.0, "k": 1.0, "s": 1.0})
    return a


def write_simulation(out_dir: str | Path, frame: pd.DataFrame, truth: dict[str, Any]) -> Path:
    """Write ``data.csv`` and ``truth.json`` into ``out_dir``; returns the folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "data.csv", index=False)
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return out


def simulated_dataset(frame: pd.DataFrame, truth: dict[str, Any]):
    """The `Dataset` of a simulation (activity columns used when present)."""
    from mediamix.data.dataset import Dataset

    channels = [
        {"name": name, "spend": ch["spend_column"], "activity": ch["activity_column"]}
        for name, ch in truth["channels"].items()
    ]
    return Dataset.from_frame(
        frame,
        date=truth["date_column"],
        kpi=truth["kpi_column"],
        channels=channels,
        controls=list(truth["controls"]),
    )
