"""Experiment calibration on confounded data: the confounded channel's ROAS before and after
one lift test, over several seeds.

Each seed draws a data set from `mediamix.data.confounded` (weekly, 156 periods, three
channels; search's spend follows an unobserved demand factor, so the data alone credit search
with what demand did) with one lift test on search inside it: its spend doubled for 6 weeks,
to a saturated level, the lift measured over those weeks and a 4-week carry-over tail with a
10% standard error. Each data set is fitted twice with NUTS, without and with the experiment
(``fit(..., experiments=[test])``). Printed per seed and in total: search's true ROAS (over the
periods the fit's likelihood uses), the posterior mean and 90% interval, the absolute error,
whether the truth lies inside the interval, R-hat; then the error ratio (after / before) and
the coverage before and after, the same for the other channels, and the agreement of the
test with each fit.

    python bench/bench_calibration.py                      # 5 seeds, 2 chains x 300 draws
    python bench/bench_calibration.py --seeds 10 --draws 500 --change -1   # a pause
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mediamix


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--draws", type=int, default=300)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--change", type=float, default=1.0,
                   help="the test's spend change as a fraction of the natural spend (1: double, "
                        "-1: pause)")  # fmt: skip
    p.add_argument("--weeks", type=int, default=6)
    p.add_argument("--tail", type=int, default=4)
    p.add_argument("--se", type=float, default=0.1, help="lift standard error / true lift")
    p.add_argument("--demand-effect", type=float, default=0.1,
                   help="KPI sd from demand / base KPI")  # fmt: skip
    p.add_argument("--noise", type=float, default=0.03, help="KPI noise sd / base KPI")
    p.add_argument("--saturation", default="hill", help="the model's saturation family")
    return p.parse_args(argv)


def window_of(fitted):
    """The periods the fit's likelihood uses (``fitted.window`` where the model has one)."""
    w = getattr(fitted, "window", None)
    return slice(0, fitted.n_train) if w is None else w


def fit_once(ds, truth, sampler, experiments, seed, saturation="hill"):
    from mediamix.data.confounded import CHANNELS, true_roas
    from mediamix.estimator import MMM

    t0 = time.perf_counter()
    fitted = MMM(saturation=saturation).fit(ds, sampler, seed=seed, experiments=experiments,
                                            warn=False)  # fmt: skip
    seconds = time.perf_counter() - t0
    tr = true_roas(truth, window_of(fitted))
    out = fitted.to_json()
    rows = {}
    for ch in CHANNELS:
        r = out["channels"][ch]["roas"]
        rows[ch] = {
            "true": tr[ch], "mean": r["mean"], "lower": r["lower"], "upper": r["upper"],
            "error": abs(r["mean"] - tr[ch]), "covered": r["lower"] <= tr[ch] <= r["upper"],
        }  # fmt: skip
    return {
        "channels": rows,
        "rhat": out["diagnostics"].get("max_rhat"),
        "divergences": out["diagnostics"].get("divergences"),
        "experiments": out["experiments"],
        "seconds": seconds,
    }


def main(argv=None) -> None:
    args = parse_args(argv)
    mediamix.set_host_devices(args.chains)
    from mediamix.data.confounded import confounded, confounded_dataset
    from mediamix.estimator.fitted import FittedModel  # noqa: F401 (JAX up before timing)
    from mediamix.inference import NUTS

    sampler = NUTS(chains=args.chains, draws=args.draws, warmup=args.warmup)
    test = {"change": args.change, "weeks": args.weeks, "tail": args.tail, "se": args.se}
    print(f"confounded data, lift test on search: spend x{1 + args.change:g} for {args.weeks} "
          f"weeks + {args.tail}-week tail, se {args.se:.0%}; NUTS {args.chains} x {args.draws} "
          f"(warmup {args.warmup}); demand {args.demand_effect:.0%}, noise {args.noise:.0%} of "
          f"base KPI; model saturation {args.saturation}")  # fmt: skip
    hdr = f"{'seed':>4} {'fit':<7}{'true':>7}{'mean':>8}  {'90% interval':<17}{'error':>7}"
    print(hdr + f"{'in':>4}{'R-hat':>7}{'secs':>6}  test agrees")
    results = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        frame, truth = confounded(seed=seed, test=test, demand_effect=args.demand_effect,
                                  noise=args.noise)  # fmt: skip
        ds = confounded_dataset(frame)
        pair = {}
        for label, exps in (("before", None), ("after", [truth["experiment"]])):
            r = fit_once(ds, truth, sampler, exps, seed, args.saturation)
            pair[label] = r
            s = r["channels"]["search"]
            agree = r["experiments"][0]["agrees"] if r["experiments"] else ""
            ival = f"[{s['lower']:.2f}, {s['upper']:.2f}]"
            print(f"{seed:>4} {label:<7}{s['true']:>7.2f}{s['mean']:>8.2f}  {ival:<17}"
                  f"{s['error']:>7.2f}{'yes' if s['covered'] else 'no':>4}"
                  f"{(r['rhat'] or float('nan')):>7.3f}{r['seconds']:>6.0f}  {agree}")  # fmt: skip
        results.append(pair)
    err = {k: np.array([p[k]["channels"]["search"]["error"] for p in results])
           for k in ("before", "after")}  # fmt: skip
    cov = {k: np.mean([p[k]["channels"]["search"]["covered"] for p in results])
           for k in ("before", "after")}  # fmt: skip
    print()
    print(f"search: mean abs error before {err['before'].mean():.2f}, after "
          f"{err['after'].mean():.2f} (ratio {err['after'].mean() / err['before'].mean():.2f}); "
          f"per seed ratio {np.round(err['after'] / err['before'], 2).tolist()}")  # fmt: skip
    print(f"search: 90% coverage before {cov['before']:.0%}, after {cov['after']:.0%}")
    for ch in ("tv", "social"):
        e = {k: np.mean([p[k]["channels"][ch]["error"] for p in results]) for k in cov}
        c = {k: np.mean([p[k]["channels"][ch]["covered"] for p in results]) for k in cov}
        print(
            f"{ch}: mean abs error before {e['before']:.2f}, after {e['after']:.2f}; "
            f"coverage before {c['before']:.0%}, after {c['after']:.0%}"
        )
    ok = sum(p["after"]["experiments"][0]["agrees"] for p in results)
    print(f"the test agrees with the calibrated fit in {ok} of {len(results)} seeds")


if __name__ == "__main__":
    main()
