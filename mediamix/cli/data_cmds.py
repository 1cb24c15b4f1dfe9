"""CLI commands: data (`mediamix check`)."""

from __future__ import annotations

import json
import sys

import click


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


@click.command("check")
@click.argument("data", required=False)
@click.option("--date", "date_col", help="Date column.")
@click.option("--kpi", help="KPI column.")
@click.option(
    "--channels",
    help="Comma-separated spend columns; 'spend:activity' uses an activity column as input.",
)
@click.option("--controls", help="Comma-separated control columns.")
@click.option("--geo", help="Geo column (optional).")
@click.option("--query", help="SQL query when DATA is a SQLAlchemy URL.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="YAML file with a data: section (command-line options override it); its model: "
    "section, if any, is checked against the data too.",
)
@click.option(
    "--date-format",
    help="strftime format of the date column, e.g. '%d/%m/%Y' (default: detected; one format "
    "for the whole column).",
)
@click.option(
    "--decimal",
    type=click.Choice([".", ","]),
    help="Decimal mark of the numbers in a CSV (default: detected from the file).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any check warns.")
def check(
    data: str | None,
    date_col: str | None,
    kpi: str | None,
    channels: str | None,
    controls: str | None,
    geo: str | None,
    query: str | None,
    config_path: str | None,
    date_format: str | None,
    decimal: str | None,
    fmt: str,
    strict: bool,
) -> None:
    """Validate DATA (CSV, Parquet, or a SQLAlchemy URL with --query) and print diagnostics.

    Example: mediamix check data.csv --date date --kpi sales --channels tv_spend,search_spend
    """
    from mediamix.data.diagnostics import diagnostics

    dataset, spec = load_checked(
        data or None,
        config_path,
        date=date_col or None,
        kpi=kpi or None,
        channels=_split(channels) if channels else None,
        controls=_split(controls) if controls is not None else None,
        geo=geo or None,
        query=query,
        date_format=date_format or None,
        decimal=decimal or None,
    )
    diag = diagnostics(dataset, spec_parameter_count(spec, dataset) if spec else None)
    if fmt == "json":
        click.echo(json.dumps({"dataset": dataset.summary(), **diag.to_dict()}, indent=2))
    else:
        _print_table(dataset, diag)
    if strict and diag.warnings:
        sys.exit(1)


def load_checked(
    data: str | None,
    config_path: str | None,
    **overrides,
):
    """The dataset of ``mediamix check``: DATA and the flags over the config's data section.

    With a config that has a ``model:`` section, the model settings are validated too, and
    checked against the data's channels and controls (prior sites, signs, events), so a
    config that would fail at fit fails here, and the row rule counts that model's parameters.
    Returns ``(dataset, spec or None)``.
    """
    from pathlib import Path

    from mediamix.data.config import data_section
    from mediamix.data.dataset import load_dataset, load_yaml

    raw: dict = {}
    base_dir = None
    if config_path:
        raw = load_yaml(config_path)
        base_dir = Path(config_path).parent
    section, where = data_section(raw)
    spec = None
    if "model" in raw:
        from mediamix.model.spec import split_config

        section, spec = split_config(raw)
    dataset, events = load_dataset(data, section, base_dir=base_dir, where=where, **overrides)
    if spec is not None:
        if events:
            spec = spec.replace(events=tuple(spec.events) + tuple(events))
        n_t = dataset.n_periods // max(len(dataset.geos or []), 1)
        # the model's own terms for the rows-per-parameter rule (`ModelSpec.check_rows`)
        spec.validate_for(dataset.channel_names, dataset.control_names, dataset.freq, n_periods=n_t)
    return dataset, spec


def spec_parameter_count(spec, dataset) -> int:
    """The parameters the model of ``spec`` fits on ``dataset``
    (`mediamix.model.spec.count_parameters`), for the history-length diagnostic."""
    from mediamix.model.spec import count_parameters

    return count_parameters(spec, dataset.channel_names, dataset.control_names, dataset.freq)


def _print_table(dataset, diag) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(100, Console().width))
    s = dataset.summary()
    console.print(
        f"[bold]{s['rows']} {s['freq']} rows[/bold] {s['start']} .. {s['end']}; "
        f"KPI '{s['kpi']}'; channels: {', '.join(dataset.channel_names)}; "
        f"controls: {', '.join(dataset.control_names) or 'none'}"
    )
    for note in dataset.notes:
        console.print(f"note: {note}")
    table = Table(title="Diagnostics", show_lines=False)
    for col in ("check", "subject", "value", "threshold", "verdict", "advice"):
        table.add_column(col, overflow="fold")
    for c in diag.checks:
        verdict = "[yellow]warn[/yellow]" if c.verdict == "warn" else "[green]ok[/green]"
        table.add_row(c.name, c.subject, f"{c.value:.3g}", f"{c.threshold:g}", verdict, c.advice)
    console.print(table)
    n = len(diag.warnings)
    console.print(f"{n} warning(s)." if n else "No warnings.")


COMMANDS: list = [check]
