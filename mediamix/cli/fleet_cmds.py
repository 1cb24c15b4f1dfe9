"""CLI commands: fleets of fits (`mediamix fit-many`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mediamix.cli.model_cmds import (
    data_options,
    fit_options,
    sampler_options,
    sigterm_as_interrupt,
)

ENGINES = ("local", "ray", "batched", "sequential")


@click.command("fit-many")
@click.argument("data", type=click.Path(exists=True))
@click.option("--by", default=None,
              help="the columns naming the groups, comma-separated (e.g. market,brand); "
              "not with a folder of files (one file per group)")  # fmt: skip
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="fleet folder: one run folder per group, fleet.csv, fleet_roas.csv, "
              "fleet.html, fleet.log")  # fmt: skip
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="local: a process pool on this machine; ray: a Ray cluster (the fleet "
              "extra); batched: same-structure groups in one compiled run; sequential: one "
              "fit after another in this process")  # fmt: skip
@click.option("--address", default=None,
              help="Ray cluster to use (ray://host:10001 or host:6379); default: start a "
              "local one")  # fmt: skip
@click.option("--workers", type=int, default=None,
              help="fits at a time  [default: one per CPU core]")  # fmt: skip
@click.option("--cpus-per-fit", type=float, default=1, show_default=True,
              help="CPUs each fit asks for (Ray) and its JAX host devices")  # fmt: skip
@click.option("--gpus-per-fit", type=float, default=0, show_default=True,
              help="GPUs each fit asks for (Ray)")  # fmt: skip
@click.option("--max-retries", type=int, default=2, show_default=True,
              help="runs again of a group whose worker died")  # fmt: skip
@click.option("--fits-per-worker", type=int, default=1, show_default=True,
              help="fits a worker process serves before a fresh one replaces it (local and "
              "Ray; more than 1: later fits of one model structure compile nothing new)")  # fmt: skip
@click.option("--no-resume", is_flag=True,
              help="refit groups already done (with --force to replace their folders)")  # fmt: skip
@click.option("--config", type=click.Path(exists=True, dir_okay=False), help="model YAML")
@click.option("--force", is_flag=True,
              help="replace group run folders that another fit wrote (with other data or "
              "options)")  # fmt: skip
@sampler_options
@data_options
def fit_many_cmd(data, by, out, engine, address, workers, cpus_per_fit, gpus_per_fit,
                 max_retries, fits_per_worker, no_resume, config, force, method, chains,
                 draws, warmup, steps, seed, holdout, level, date, kpi, channels, controls,
                 experiments_path, time_varying, quiet, target_accept=None):  # fmt: skip
    """Fit one model per group of DATA and write the fleet folder OUT.

    DATA is one long table (CSV/Parquet) split by the --by columns, or a folder with one
    data file per group. Each group gets a complete run folder OUT/<group>/ (as `mediamix
    fit` writes it); OUT/fleet.csv has one row per group (status ok | failed |
    not_converged, the message of a failed group, fit seconds, R-hat, ESS, the review),
    OUT/fleet_roas.csv every group's ROAS with intervals, OUT/fleet.html compares them and
    OUT/fleet.log has a line per group event. A group with bad data fails with the message
    `mediamix fit` gives and the others go on; running the command again skips the groups
    already done. Exit status 1 when some group failed, 2 for a usage error.
    """
    from mediamix.fleet import fit_many
    from mediamix.report.fleet import write_fleet_report

    options = fit_options(config, method, chains, draws, warmup, steps, seed, holdout, level,
                          date, kpi, channels, controls, experiments_path, force,
                          time_varying, target_accept=target_accept)  # fmt: skip
    root = Path(out)
    with sigterm_as_interrupt():
        try:
            res = fit_many(data, root, by=by, options=options, engine=engine, workers=workers,
                           address=address, cpus_per_fit=cpus_per_fit,
                           gpus_per_fit=gpus_per_fit, max_retries=max_retries,
                           fits_per_worker=fits_per_worker,
                           resume=not no_resume, progress=not quiet)  # fmt: skip
        except KeyboardInterrupt:
            click.echo(f"interrupted; finished groups are in {root} (run again to resume)",
                       err=True)  # fmt: skip
            sys.exit(130)
    page = write_fleet_report(root)
    n = len(res.records)
    skipped = sum(1 for r in res.records if r.get("resumed"))
    click.echo(f"fitted {n - skipped} of {n} groups with {method} on {res.engine} in "
               f"{res.seconds:.1f} s ({skipped} already done)")  # fmt: skip
    click.echo(f"{len(res.ok)} ok, {len(res.not_converged)} not converged, "
               f"{len(res.failed)} failed")  # fmt: skip
    for r in res.records:
        if r.get("status") == "failed":
            click.echo(f"failed {r['group']}: {r.get('message')}")
    click.echo(f"wrote {root / 'fleet.csv'}, {root / 'fleet_roas.csv'} and {page}")
    if res.exit_status:
        sys.exit(res.exit_status)


COMMANDS: list = [fit_many_cmd]
