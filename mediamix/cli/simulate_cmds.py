"""CLI commands: simulate (`mediamix simulate`)."""

from __future__ import annotations

import click


@click.command("simulate")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--channels", "n_channels", default=3, show_default=True, type=int)
@click.option(
    "--weeks",
    "--periods",
    "n_periods",
    default=156,
    show_default=True,
    type=int,
    help="Number of periods (weeks for --freq W, days for D, months for M).",
)
@click.option("--freq", default="W", show_default=True, type=click.Choice(["D", "W", "M"]))
@click.option("--adstock", default="geometric", show_default=True)
@click.option("--saturation", default="hill", show_default=True)
@click.option(
    "--snr", default=5.0, show_default=True, type=float, help="var(expected KPI) / var(noise)."
)
@click.option("--controls", "n_controls", default=2, show_default=True, type=int)
@click.option("--activity", is_flag=True, help="Add impressions columns (spend / cost per unit).")
def simulate_cmd(
    out_dir: str,
    seed: int,
    n_channels: int,
    n_periods: int,
    freq: str,
    adstock: str,
    saturation: str,
    snr: float,
    n_controls: int,
    activity: bool,
) -> None:
    """Simulate data with known truth: writes OUT/data.csv and OUT/truth.json."""
    from mediamix.data.simulate import simulate, write_simulation

    frame, truth = simulate(
        n_periods=n_periods,
        n_channels=n_channels,
        freq=freq,
        adstock=adstock,
        saturation=saturation,
        snr=snr,
        seed=seed,
        n_controls=n_controls,
        activity=activity,
    )
    out = write_simulation(out_dir, frame, truth)
    roas = ", ".join(f"{k} {v['roas']:.2f}" for k, v in truth["channels"].items())
    click.echo(
        f"wrote {out / 'data.csv'} ({len(frame)} rows, freq {freq}, {n_channels} channels, "
        f"{n_controls} controls) and {out / 'truth.json'}; true ROAS: {roas}"
    )


COMMANDS: list = [simulate_cmd]
