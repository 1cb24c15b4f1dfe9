"""Evaluation of click probabilities: log-loss, AUC, calibration, and a time-ordered split."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mediamix.errors import DataError, SpecError

EPS = 1e-7  # predictions are clipped to [EPS, 1 - EPS] inside the log-loss


def log_loss(y, p) -> float:
    """Mean binary cross-entropy ``-mean(y log p + (1-y) log(1-p))`` (p clipped to 1e-7)."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


@dataclass(frozen=True)
class CTRMetrics:
    """Log-loss, AUC, expected calibration error and the reliability table on one data set."""

    n: int
    clicks: int
    log_loss: float
    base_log_loss: float  # log-loss of predicting one base rate for everyone
    auc: float
    ece: float
    reliability: tuple[dict, ...] = field(repr=False)

    @property
    def relative_gain(self) -> float:
        """1 - log_loss / base_log_loss (normalised entropy gain; > 0 beats the base rate)."""
        return 1.0 - self.log_loss / self.base_log_loss

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "clicks": self.clicks,
            "log_loss": self.log_loss,
            "base_log_loss": self.base_log_loss,
            "auc": self.auc,
            "ece": self.ece,
            "reliability": list(self.reliability),
        }


def evaluate_ctr(y, p, n_bins: int = 10, base_rate: float | None = None) -> CTRMetrics:
    """Metrics of predicted click probabilities ``p`` against clicks ``y``.

    The reliability table has ``n_bins`` equal-count bins of predictions; the expected
    calibration error is ``ECE = sum_b (n_b / N) |mean(p)_b - mean(y)_b|``. ``base_log_loss``
    is the log-loss of predicting ``base_rate`` for everyone (give the training click rate for
    an honest baseline; by default the observed rate of ``y`` itself).
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape or y.size == 0:
        raise DataError(f"labels {y.shape} and predictions {p.shape} must be non-empty and equal")
    rate = float(y.mean())
    auc = float(roc_auc_score(y, p)) if 0 < rate < 1 else float("nan")
    order = np.argsort(p, kind="stable")
    rows, ece = [], 0.0
    for b, chunk in enumerate(np.array_split(order, min(n_bins, y.size))):
        if chunk.size == 0:
            continue
        mp, obs = float(p[chunk].mean()), float(y[chunk].mean())
        ece += chunk.size / y.size * abs(mp - obs)
        rows.append(
            {
                "bin": b,
                "p_low": float(p[chunk].min()),
                "p_high": float(p[chunk].max()),
                "n": int(chunk.size),
                "mean_predicted": mp,
                "observed_rate": obs,
            }
        )
    return CTRMetrics(
        n=int(y.size),
        clicks=int(y.sum()),
        log_loss=log_loss(y, p),
        base_log_loss=log_loss(y, np.full_like(y, rate if base_rate is None else base_rate)),
        auc=auc,
        ece=float(ece),
        reliability=tuple(rows),
    )


def time_ordered_split(times, fractions=(0.6, 0.2, 0.2)) -> tuple[np.ndarray, ...]:
    """Index arrays (train, validation, test, ...) in time order: no future data in training."""
    t = np.asarray(times)
    fr = np.asarray(fractions, dtype=float)
    if np.any(fr <= 0) or not np.isclose(fr.sum(), 1.0):
        raise SpecError(f"split fractions must be positive and sum to 1, got {tuple(fractions)}")
    order = np.argsort(t, kind="stable")
    cuts = np.round(np.cumsum(fr)[:-1] * t.size).astype(int)
    return tuple(np.split(order, cuts))
