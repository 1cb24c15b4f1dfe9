"""CLI commands: `mediamix loop simulate | compare | next` (the explore / exploit loop)."""

from __future__ import annotations

import json
import sys

import click

from mediamix.errors import SpecError

POLICY_CHOICES = ("thompson", "greedy", "optimistic", "fixed", "oracle")


def _bar(label: str, quiet: bool):
    """A progress function for `simulate` drawing one bar on stderr (None when quiet)."""
    if quiet:
        return None, None
    bar = click.progressbar(length=1, label=label, file=sys.stderr, show_pos=True)
    state = {"started": False}

    def update(done: int, total: int) -> None:
        if not state["started"]:
            bar.length = total
            bar.__enter__()
            state["started"] = True
        bar.update(done - bar.pos)
        if done >= total:
            bar.render_finish()

    return update, bar


def _split_names(text: str, option: str, allowed) -> list[str]:
    out = [v.strip() for v in text.split(",") if v.strip()]
    for v in out:
        if v not in allowed:
            raise SpecError(f"{option}: unknown policy {v!r}; policies: {', '.join(allowed)}")
    if not out:
        raise SpecError(f"{option}: give at least one policy, e.g. {option} thompson,greedy")
    return out


def _seeds(text: str) -> list[int]:
    try:
        out = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SpecError(f"--seeds {text!r}: expected integers, e.g. --seeds 1,2,3") from None
    if not out:
        raise SpecError("--seeds: give at least one seed, e.g. --seeds 1,2,3")
    return out


def _table(result) -> str:
    d = result.to_dict()
    lines = [
        f"policy {d['policy']}  seed {d['seed']}  periods {len(d['regret_by_period'])}"
        + (
            f"  refits {d['refits']} ({d['method']}, every {d['refit_every']})"
            if d["refits"]
            else ""
        ),
        f"expected KPI {d['total_kpi']:,.0f}   oracle {d['oracle_kpi']:,.0f}   "
        f"regret {d['regret']:,.0f} ({d['regret'] / max(d['oracle_kpi'], 1e-9):.2%})",
        f"seconds per decision period {d['seconds_per_period']:.2f}",
    ]
    names = list(result.names)
    lines.append("period  " + "  ".join(f"{n:>10s}" for n in names) + "      regret")
    step = max(1, len(result.allocations) // 13)
    for t in range(0, len(result.allocations), step):
        a = result.allocations[t]
        lines.append(
            f"{t + 1:6d}  " + "  ".join(f"{v:10,.0f}" for v in a)
            + f"  {result.regret_by_period[t]:10,.0f}"
        )  # fmt: skip
    return "\n".join(lines)


@click.group("loop")
def loop_group() -> None:
    """Allocate, observe, refit: the explore / exploit loop over budgets."""


@loop_group.command("simulate")
@click.argument("env_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--policy", type=click.Choice(POLICY_CHOICES), default="thompson", show_default=True)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--refit-every", default=4, show_default=True, type=click.IntRange(min=1),
              help="decision periods between refits of the model")  # fmt: skip
@click.option("--method", type=click.Choice(["svi", "nuts"]), default="svi", show_default=True,
              help="refit sampler (svi: warm-started guide; nuts: one chain, warm-up kept)")  # fmt: skip
@click.option("--max-move", type=click.FloatRange(min=0, min_open=True), default=None,
              help="guard-rail: the most a channel moves per period, as a share of its last "
              "spend  [default: the file's max_move, else none]")  # fmt: skip
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="SVI steps of the first fit  [default: 8000]")  # fmt: skip
@click.option("--warm-steps", type=click.IntRange(min=1), default=None,
              help="SVI steps of each warm refit  [default: 1000]")  # fmt: skip
@click.option("--figure", "figure", type=click.Path(dir_okay=False), default=None,
              help="write the cumulative regret as an offline HTML figure")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@click.option("--quiet", is_flag=True, help="no progress bar")
def simulate_cmd(env_file, policy, seed, refit_every, method, max_move, steps, warm_steps,
                 figure, fmt, quiet):  # fmt: skip
    """Run POLICY in the closed loop on the world of ENV_FILE and report its regret."""
    from mediamix.loop import Environment, RefitSettings, simulate

    env = Environment.from_yaml(env_file)
    opts = {k: v for k, v in {"steps": steps, "warm_steps": warm_steps}.items() if v}
    settings = RefitSettings(method=method, **opts)
    update, _ = _bar(f"{policy} seed {seed}", quiet)
    if not quiet and policy in ("thompson", "greedy", "optimistic"):
        click.echo(f"fitting the model on {env.history} periods of history ...", err=True)
    result = simulate(env, policy, seed, refit_every=refit_every, method=method,
                      settings=settings, max_move=max_move, progress=update)  # fmt: skip
    if figure:
        from mediamix.loop.figures import cumulative_regret, write_figure

        write_figure(cumulative_regret({policy: [result.regret_by_period]}), figure)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(_table(result))


@loop_group.command("compare")
@click.argument("env_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--policies", default="thompson,greedy,fixed", show_default=True)
@click.option("--seeds", default="1", show_default=True, help="comma-separated seeds")
@click.option("--refit-every", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--method", type=click.Choice(["svi", "nuts"]), default="svi", show_default=True)
@click.option("--max-move", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--figure", "figure", type=click.Path(dir_okay=False), default=None,
              help="write the cumulative regret per policy as an offline HTML figure")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@click.option("--quiet", is_flag=True, help="no progress lines")
def compare_cmd(env_file, policies, seeds, refit_every, method, max_move, figure, fmt, quiet):
    """Run several policies over several seeds on one world; regret side by side."""
    import numpy as np

    from mediamix.loop import Environment, LoopEngine, RefitSettings, oracle_path, simulate

    env = Environment.from_yaml(env_file)
    names = _split_names(policies, "--policies", POLICY_CHOICES)
    seed_list = _seeds(seeds)
    move = env.max_move if max_move is None else max_move
    oracle = oracle_path(env, move)
    engine = None
    out: dict[str, list] = {}
    for name in names:
        for seed in seed_list:
            if name in ("thompson", "greedy", "optimistic") and engine is None:
                engine = LoopEngine(env.names, env.initial, env.history, env.periods,
                                    RefitSettings(method=method), max_lag=env.max_lag)  # fmt: skip
            update, _ = _bar(f"{name} seed {seed}", quiet)
            r = simulate(env, name, seed, refit_every=refit_every, method=method,
                         max_move=move, engine=engine, oracle=oracle, progress=update)  # fmt: skip
            out.setdefault(name, []).append(r)
    if figure:
        from mediamix.loop.figures import cumulative_regret, write_figure

        regrets = {k: [r.regret_by_period for r in v] for k, v in out.items()}
        write_figure(cumulative_regret(regrets), figure)
    rows = []
    for name, runs in out.items():
        reg = np.array([r.regret for r in runs])
        q = len(runs[0].regret_by_period) // 4 or 1
        first = np.array([r.regret_by_period[:q].mean() for r in runs])
        last = np.array([r.regret_by_period[-q:].mean() for r in runs])
        rows.append({"policy": name, "seeds": [r.seed for r in runs],
                     "regret_mean": float(reg.mean()), "regret_min": float(reg.min()),
                     "regret_max": float(reg.max()), "regret": reg.tolist(),
                     "first_quarter_per_period": float(first.mean()),
                     "last_quarter_per_period": float(last.mean()),
                     "seconds_per_period": float(np.mean([r.seconds_per_period for r in runs]))})  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps({"policies": rows}, indent=2))
        return
    click.echo(f"{'policy':12s} {'regret mean':>12s} {'min':>10s} {'max':>10s} "
               f"{'1st quarter':>12s} {'last quarter':>12s} {'s/period':>9s}")  # fmt: skip
    for r in rows:
        click.echo(f"{r['policy']:12s} {r['regret_mean']:12,.0f} {r['regret_min']:10,.0f} "
                   f"{r['regret_max']:10,.0f} {r['first_quarter_per_period']:12,.0f} "
                   f"{r['last_quarter_per_period']:12,.0f} {r['seconds_per_period']:9.2f}")  # fmt: skip


@loop_group.command("next")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--budget", required=True, type=click.FloatRange(min=0, min_open=True),
              help="next period's budget")  # fmt: skip
@click.option("--policy", type=click.Choice(["thompson", "greedy", "optimistic", "fixed"]),
              default="thompson", show_default=True)  # fmt: skip
@click.option("--max-move", type=click.FloatRange(min=0, min_open=True), default=0.2,
              show_default=True, help="the most a channel moves from its last split (a share)")  # fmt: skip
@click.option("--bound", "bounds", multiple=True,
              help="a channel's bounds per period, CHANNEL=LOW:HIGH (repeat the option)")  # fmt: skip
@click.option("--seed", type=int, default=None,
              help="seed of the posterior draw  [default: a fresh draw every call]")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="plan, but do not record in RUN_DIR/loop.jsonl")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
def next_cmd(run_dir, budget, policy, max_move, bounds, seed, dry_run, fmt):
    """Next period's split for the fitted run RUN_DIR, within its guard-rails (recorded in
    RUN_DIR/loop.jsonl, so the next refit knows what was explored)."""
    from mediamix.loop.live import next_split, parse_bounds
    from mediamix.runs import RunDir

    names = [d.get("name") for d in RunDir(run_dir).read().responses]
    bmap = parse_bounds(bounds, names)
    row = next_split(run_dir, budget, policy, max_move=max_move, bounds=bmap, seed=seed,
                     record=not dry_run)  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps(row, indent=2))
        return
    click.echo(f"period {row['period']}  policy {policy}  budget {budget:,.0f}"
               + ("  (not recorded)" if dry_run else f"  recorded in {run_dir}/loop.jsonl"))  # fmt: skip
    click.echo(f"{'channel':12s} {'split':>10s} {'lower':>10s} {'upper':>10s} {'last':>10s}")
    for n in names:
        up = row["upper"][n]
        click.echo(f"{n:12s} {row['split'][n]:10,.0f} {row['lower'][n]:10,.0f} "
                   f"{'-' if up is None else f'{up:,.0f}':>10s} {row['reference'][n]:10,.0f}")  # fmt: skip


COMMANDS = [loop_group]
