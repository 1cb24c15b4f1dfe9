"""Forward planning over seeds: certified 13-week plans against the simulator's truth.

Per seed: simulate ``weeks + horizon`` weeks (3 channels, geometric adstock, exponential
saturation, trend, seasonality, one control), fit the first ``weeks`` with SVI (or short
NUTS), plan the ``horizon`` weeks after them with the fitted model (budget: today's weekly
spend x horizon; max change 30% week to week, one dark week for the first channel, optional
minimum flight length, discount 0.001 per week, carry-out counted) and the known future
control, then simulate the realised KPI of those weeks with the TRUE parameters, the true
baseline, the history's carry-in and the planned spend (plus noise). Printed per seed and in
all: the certified gap, solve seconds, the plan's margin over the best constant weekly split
of the same budget (in the model, and in the truth: the true discounted media KPI of both
spends), and how often the realised KPI lies inside the plan's 90% forecast band.

    .venv/bin/python bench/bench_horizon.py                       # 4 seeds, SVI
    .venv/bin/python bench/bench_horizon.py --seeds 2 --min-flight 3
    .venv/bin/python bench/bench_horizon.py --method nuts --seeds 3
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402


def true_baseline(truth: dict, frame, rows: np.ndarray) -> np.ndarray:
    """The simulator's noise-free baseline (intercept, trend, seasonality, controls)."""
    t = rows.astype(float)
    base = truth["intercept"] + truth["trend"]["slope"] * t
    period = truth["seasonality"]["period"]
    for h in truth["seasonality"]["harmonics"]:
        k = h["harmonic"]
        base = base + h["sin"] * np.sin(2 * np.pi * k * t / period)
        base = base + h["cos"] * np.cos(2 * np.pi * k * t / period)
    for name, c in truth["controls"].items():
        base = base + c["coef"] * frame[name].to_numpy(dtype=float)[rows]
    return base


def true_media(truth: dict, history: np.ndarray, plan: np.ndarray, tail: int) -> np.ndarray:
    """True media contribution per week (H + tail,) of ``plan`` after ``history``."""
    from mediamix.data.simulate import channel_contributions

    H, C = plan.shape
    spend = np.concatenate([history, plan, np.zeros((tail, C))])
    contrib = channel_contributions(spend, truth)
    return contrib[len(history) :].sum(axis=1)


def _rel(a: float, b: float | None) -> float:
    return float("nan") if b is None else (a - b) / abs(b)


def _nan(v) -> float:
    return float("nan") if v is None else float(v)


def _pct(v) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.2f}%"


def run_seed(seed: int, args) -> dict:
    from mediamix.analysis.forecast import forward_plan
    from mediamix.data.simulate import simulate, simulated_dataset
    from mediamix.estimator import MMM
    from mediamix.model.spec import ModelSpec

    W, H = args.weeks, args.horizon
    frame, truth = simulate(n_periods=W + H, n_channels=3, saturation="exponential", seed=seed,
                            n_controls=1)  # fmt: skip
    ds = simulated_dataset(frame.iloc[:W].reset_index(drop=True), truth)
    t0 = time.perf_counter()
    spec = ModelSpec(saturation="exponential")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.method == "nuts":
            fitted = MMM(spec).fit(ds, "nuts", chains=2, draws=300, warmup=300, seed=seed,
                                   warn=False)  # fmt: skip
        else:
            fitted = MMM(spec).fit(ds, "svi", steps=args.steps, draws=200, seed=seed, warn=False)
    fit_s = time.perf_counter() - t0
    names = list(fitted.channel_names)
    future = frame.iloc[W:][["date", *truth["controls"].keys()]].reset_index(drop=True)
    dates = list(future["date"])
    fp = forward_plan(
        fitted,
        H,
        future=future,
        max_change=args.max_change,
        discount=args.discount,
        carry_out=True,
        dark={names[0]: [dates[4]]},
        min_flight=args.min_flight,
        draws=args.draws,
        level=0.9,
        seed=seed,
    )
    hp = fp.horizon
    spend_hist = frame.iloc[:W][[f"{n}_spend" for n in names]].to_numpy(dtype=float)
    rng = np.random.default_rng(10_000 + seed)
    rows = np.arange(W, W + H)
    tail = 8
    media = true_media(truth, spend_hist, hp.spend, tail)
    realised = true_baseline(truth, frame, rows) + media[:H] + rng.normal(0, truth["noise_sd"], H)
    inside = (fp.forecast.lower <= realised) & (realised <= fp.forecast.upper)
    w = (1 + args.discount) ** -np.arange(H + tail)
    true_plan = float(media @ w)
    true_const = {}
    for key in ("constant", "constant_free"):
        c = getattr(hp, key)
        if c.get("allocation") is None:  # no constant split keeps the rules
            true_const[key] = None
            continue
        x = np.tile([c["allocation"][n] for n in names], (H, 1))
        if key == "constant":
            x[4, 0] = 0.0  # the dark week
        true_const[key] = float(true_media(truth, spend_hist, x, tail) @ w)
    return {
        "seed": seed,
        "fit_s": fit_s,
        "gap": hp.gap,
        "status": hp.plan.status,
        "solve_s": hp.seconds,
        "margin_model": _nan(hp.constant["margin_rel"]),
        "margin_model_free": _nan(hp.constant_free["margin_rel"]),
        "margin_true": _rel(true_plan, true_const["constant"]),
        "margin_true_free": _rel(true_plan, true_const["constant_free"]),
        "coverage": float(inside.mean()),
        "inside": int(inside.sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--horizon", type=int, default=13)
    ap.add_argument("--method", choices=["svi", "nuts"], default="svi")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--draws", type=int, default=100, help="posterior draws the planner uses")
    ap.add_argument("--max-change", type=float, default=0.3)
    ap.add_argument("--discount", type=float, default=0.001)
    ap.add_argument("--min-flight", type=int, default=None)
    args = ap.parse_args()
    print(f"forward plans: {args.horizon} weeks after {args.weeks}, 3 channels, fit {args.method}, "
          f"max change {args.max_change}, discount {args.discount}, dark week 5 for the first "
          f"channel, min flight {args.min_flight}")  # fmt: skip
    print("margins: the plan's discounted media KPI over the best constant weekly split under "
          "the same rules (model / truth), and over the best constant split without the pacing "
          "rules (model / truth)")  # fmt: skip
    head = (f"{'seed':>4} {'fit s':>7} {'status':>9} {'gap':>9} {'solve s':>8} "
            f"{'same rules':>17} {'no rules':>17} {'in 90% band':>12}")  # fmt: skip
    print(head)
    out = []
    for s in range(args.first_seed, args.first_seed + args.seeds):
        r = run_seed(s, args)
        out.append(r)
        print(f"{r['seed']:>4} {r['fit_s']:>7.1f} {r['status']:>9} {r['gap']:>9.2e} "
              f"{r['solve_s']:>8.2f} {_pct(r['margin_model']):>8}/{_pct(r['margin_true']):<8} "
              f"{_pct(r['margin_model_free']):>8}/{_pct(r['margin_true_free']):<8} "
              f"{r['inside']:>8}/{args.horizon}", flush=True)  # fmt: skip
    cov = np.mean([r["coverage"] for r in out])

    def med(key: str) -> str:
        v = np.array([r[key] for r in out], dtype=float)
        v = v[np.isfinite(v)]
        return (
            "n/a" if not v.size else f"median {100 * np.median(v):.2f}%, min {100 * v.min():.2f}%"
        )

    print(
        f"\nall: coverage of the 90% band {100 * cov:.1f}% ({sum(r['inside'] for r in out)}/"
        f"{args.horizon * len(out)} weeks); max gap {max(r['gap'] for r in out):.2e}; "
        f"median solve {np.median([r['solve_s'] for r in out]):.2f} s"
    )
    print(f"margin over the best constant split under the same rules: model {med('margin_model')}"
          f"; truth {med('margin_true')}")  # fmt: skip
    print(f"margin over the best constant split without the pacing rules: model "
          f"{med('margin_model_free')}; truth {med('margin_true_free')}")  # fmt: skip


if __name__ == "__main__":
    main()
