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
    help="YAML file with a data: section (command-line options override it).",
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
    fmt: str,
    strict: bool,
) -> None:
    """Validate DATA (CSV, Parquet, or a SQLAlchemy URL with --query) and print diagnostics.

    Example: mediamix check data.csv --date date --kpi sales --channels tv_spend,search_spend
    """
    from pathlib import Path

    from mediamix.data.dataset import Dataset, load_yaml
    from mediamix.data.diagnostics import diagnostics
    from mediamix.errors import SpecError

    section: dict = {}
    base_dir = None
    if config_path:
        cfg = load_yaml(config_path)
        section = dict(cfg.get("data", cfg))
        base_dir = Path(config_path).parent
    if data:
        section.pop("sql", None)
        section.pop("path", None)
        if query or "://" in data:
            if not query:
                raise SpecError(f"DATA '{data}' looks like a database URL; give --query.")
            section["sql"] = {"url": data, "query": query}
        else:
            section["path"] = str(Path(data).resolve())
    if date_col:
        section["date"] = date_col
    if kpi:
        section["kpi"] = kpi
    if channels:
        section["channels"] = _split(channels)
    if controls is not None:
        section["controls"] = _split(controls)
    if geo:
        section["geo"] = geo
    if "path" not in section and "sql" not in section:
        raise SpecError("no data given. Fix: pass DATA (a file or URL) or --config with data.path.")
    missing = [k for k in ("date", "kpi", "channels") if not section.get(k)]
    if missing:
        raise SpecError(
            "missing " + ", ".join(f"--{m}" for m in missing) + " (or set them in --config)."
        )
    dataset = Dataset.from_config({"data": section}, base_dir=base_dir)
    diag = diagnostics(dataset)
    if fmt == "json":
        click.echo(json.dumps({"dataset": dataset.summary(), **diag.to_dict()}, indent=2))
    else:
        _print_table(dataset, diag)
    if strict and diag.warnings:
        sys.exit(1)


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
