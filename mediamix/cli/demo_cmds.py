"""CLI command: `mediamix demo`, the main job end to end on built-in data.

simulate weekly data with known truth -> check it -> fit the model -> print the headline
numbers (ROAS with intervals, next to the truth) -> optimise the budget -> write a report.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.option("--out", "out_dir", default="demo_output", show_default=True)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--method", default="nuts", show_default=True, type=click.Choice(["nuts", "svi", "map"])
)
def demo(out_dir: str, seed: int, method: str) -> None:
    """Run the whole pipeline on simulated data and write everything under OUT."""
    from mediamix.data.dataset import Dataset
    from mediamix.data.diagnostics import diagnostics
    from mediamix.data.simulate import simulate, write_simulation

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    click.echo("1/5 simulating 156 weeks x 3 channels with known truth ...")
    frame, truth = simulate(n_periods=156, n_channels=3, seed=seed)
    data_dir = write_simulation(out / "data", frame, truth)
    channels = [c["spend_column"] for c in truth["channels"].values()]
    controls = [c for c in truth["controls"]]
    config = {
        "date": truth["date_column"],
        "kpi": truth["kpi_column"],
        "channels": channels,
        "controls": controls,
    }
    dataset = Dataset.from_frame(frame, **config)
    click.echo(f"    wrote {data_dir / 'data.csv'}")

    click.echo("2/5 checking the data ...")
    diag = diagnostics(dataset)
    for check in diag.warnings:
        click.echo(f"    warn: {check.name} {check.subject}: {check.advice}")
    click.echo(f"    {len(diag.checks)} checks, {len(diag.warnings)} warning(s)")


COMMANDS: list = [demo]
