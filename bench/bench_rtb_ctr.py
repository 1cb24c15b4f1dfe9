"""CTR models side by side: logistic regression vs factorization machine on the interaction
simulator (known truth) and, when ../shared/data is present, on the real iPinYou sample.
Prints test log-loss, AUC, ECE and fit time. Bounded: under a minute on 2 cores."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mediamix.rtb.ctr import (
    FactorizationMachineCTR,
    HashedOneHot,
    LogisticCTR,
    evaluate_ctr,
    read_libfm,
    simulate_impressions,
    time_ordered_split,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def row(name, model_or_p, y, X=None, base_rate=None, fit_s=None):
    p = model_or_p.predict(X) if X is not None else model_or_p
    m = evaluate_ctr(y, p, base_rate=base_rate)
    fit = f"{fit_s:6.1f} s" if fit_s is not None else "      -"
    print(
        f"  {name:<22} log-loss {m.log_loss:.5f} (base {m.base_log_loss:.5f})  "
        f"AUC {m.auc:.4f}  ECE {m.ece:.5f}  fit {fit}"
    )


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    log = simulate_impressions(200_000, seed=0)
    df = log.frame
    hasher = HashedOneHot(log.fields, n_bits=16)
    X, y = hasher.transform(df), df["click"].to_numpy()
    tr, va, te = time_ordered_split(df["time"].to_numpy())
    print(f"simulator: {len(df):,} impressions, CTR {y.mean():.4f}, time-ordered 60/20/20 split")
    lr, t_lr = timed(lambda: LogisticCTR(hasher).fit(X[tr], y[tr], X[va], y[va]))
    fm, t_fm = timed(
        lambda: FactorizationMachineCTR(hasher, rank=8).fit(
            X[tr], y[tr], X[va], y[va], l2s=(0.1, 1.0, 10.0)
        )
    )
    base = y[tr].mean()
    row("true CTR (oracle)", df["ctr"].to_numpy()[te], y[te], base_rate=base)
    row(f"logistic (C={lr.C:g})", lr, y[te], X[te], base, t_lr)
    row(f"FM rank 8 (l2={fm.l2:g})", fm, y[te], X[te], base, t_fm)

    d = SHARED / "ctr" / "ipinyou"
    if not (d / "train.fm.txt").exists():
        print("iPinYou sample not present; skipped")
        return
    X, y = read_libfm(d / "train.fm.txt")
    Xt, yt = read_libfm(d / "test.fm.txt")
    nf = int(max(X.max(), Xt.max())) + 1
    cut = int(0.8 * len(y))
    print(
        f"iPinYou sample: train {len(y):,} rows ({int(y.sum())} clicks), "
        f"test {len(yt):,} rows ({int(yt.sum())} clicks), {nf:,} one-hot features"
    )
    lr, t_lr = timed(
        lambda: LogisticCTR(n_features=nf).fit(
            X[:cut], y[:cut], X[cut:], y[cut:], Cs=(0.03, 0.1, 0.3)
        )
    )
    fm, t_fm = timed(
        lambda: FactorizationMachineCTR(n_features=nf, rank=4, batch_size=2048).fit(
            X[:cut], y[:cut], X[cut:], y[cut:], l2s=(3.0, 10.0, 30.0)
        )
    )
    row("base rate (train)", np.full(len(yt), y.mean()), yt, base_rate=y.mean())
    row(f"logistic (C={lr.C:g})", lr, yt, Xt, y.mean(), t_lr)
    row(f"FM rank 4 (l2={fm.l2:g})", fm, yt, Xt, y.mean(), t_fm)


if __name__ == "__main__":
    main()
