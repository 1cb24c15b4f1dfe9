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
@click.option(
    "--geo",
    help="Geo column of a long table (one row per geo and period): checks it as a geo panel.",
)
@click.option("--population", help="Population column of a geo panel (one value per geo).")
@click.option(
    "--organic",
    help="Comma-separated organic activity columns (no spend); checks the data as a geo panel.",
)
@click.option(
    "--non-media",
    "non_media",
    help="Comma-separated non-media treatment columns (promotions, price); checks the data as "
    "a geo panel.",
)
@click.option(
    "--reach-frequency",
    "reach_frequency",
    help="Comma-separated reach-and-frequency channels as NAME:REACH:FREQUENCY:SPEND columns; "
    "checks the data as a geo panel.",
)
@click.option(
    "--only",
    help="Comma-separated geos of the panel to keep (with --write: the table of those geos).",
)
@click.option(
    "--write",
    "write_path",
    type=click.Path(dir_okay=False),
    help="Write the checked national table as CSV: for a geo panel its national roll-up (KPI "
    "and spend summed over the geos, controls averaged), or the rows of one geo with --only.",
)
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
    population: str | None,
    organic: str | None,
    non_media: str | None,
    reach_frequency: str | None,
    only: str | None,
    write_path: str | None,
    query: str | None,
    config_path: str | None,
    date_format: str | None,
    decimal: str | None,
    fmt: str,
    strict: bool,
) -> None:
    """Validate DATA (CSV, Parquet, or a SQLAlchemy URL with --query) and print diagnostics.

    Example: mediamix check data.csv --date date --kpi sales --channels tv_spend,search_spend

    A geo panel: mediamix check geo.csv --geo geo --population population --date time ...
    (per-geo summary, the panel checks, and the diagnostics of its national roll-up).
    Organic, non-media and reach-and-frequency columns (--organic, --non-media,
    --reach-frequency, as `mediamix fit` takes them) are checked the same way, national data
    as a one-geo panel.
    """
    from mediamix.data.diagnostics import diagnostics

    roles = dict(
        date=date_col or None,
        kpi=kpi or None,
        channels=_split(channels) if channels else None,
        controls=_split(controls) if controls is not None else None,
        geo=geo or None,
        query=query,
        date_format=date_format or None,
        decimal=decimal or None,
    )
    panel_roles = {
        k: _split(v)
        for k, v in (("organic", organic), ("non_media", non_media),
                     ("reach_frequency", reach_frequency))
        if v is not None
    }  # fmt: skip
    if geo or population or _config_is_panel(config_path, panel_roles):
        roles = {**roles, **panel_roles}
        _check_panel(data or None, config_path, roles, population, only, write_path, fmt, strict)
        return
    if only:
        raise click.UsageError("--only picks geos of a geo panel; give --geo <column> too.")
    dataset, spec = load_checked(data or None, config_path, **roles)
    diag = diagnostics(dataset, spec_parameter_count(spec, dataset) if spec else None)
    if write_path:
        _write(dataset, write_path)
    if fmt == "json":
        click.echo(json.dumps({"dataset": dataset.summary(), **diag.to_dict()}, indent=2))
    else:
        _print_table(dataset, diag)
        if write_path:
            click.echo(f"wrote {dataset.n_periods} rows to {write_path}.")
    if strict and diag.warnings:
        sys.exit(1)


def _config_is_panel(config_path: str | None, roles: dict | None = None) -> bool:
    """The data are a geo panel, as `mediamix fit` decides it: the config's data section
    with the command line's ``roles`` on top (``organic``, ``non_media``,
    ``reach_frequency``: lists of names; an empty list clears the config's) names a geo or
    population column, or an organic, non-media or reach-and-frequency role."""
    from mediamix.data.config import DataConfig, data_section
    from mediamix.data.dataset import load_yaml

    raw = load_yaml(config_path) if config_path else {}
    raw = {k: v for k, v in raw.items() if k != "experiments"} if isinstance(raw, dict) else raw
    section, where = data_section(raw)
    return DataConfig.parse(section, where).override(None, **(roles or {})).is_panel


def load_checked_panel(data: str | None, config_path: str | None, **overrides):
    """The panel of ``mediamix check --geo``: as `load_checked`, through
    `mediamix.data.panel.load_panel`; a config's ``model:`` section is checked against the
    panel's channels, controls and periods. Returns ``(panel, spec or None)``."""
    from pathlib import Path

    from mediamix.data.config import data_section
    from mediamix.data.dataset import load_yaml
    from mediamix.data.panel import load_panel

    raw: dict = {}
    base_dir = None
    if config_path:
        raw = load_yaml(config_path)
        base_dir = Path(config_path).parent
    raw = {k: v for k, v in raw.items() if k != "experiments"}
    section, where = data_section(raw)
    spec = None
    if "model" in raw:
        from mediamix.model.spec import split_config

        section, spec = split_config(raw)
    panel, events = load_panel(data, section, base_dir=base_dir, where=where, **overrides)
    if spec is not None:
        if events:
            spec = spec.replace(events=tuple(spec.events) + tuple(events))
        spec.validate_for(
            panel.channel_names, list(panel.control_names), panel.freq, n_periods=panel.n_periods
        )
    return panel, spec


def _check_panel(data, config_path, roles, population, only, write_path, fmt, strict) -> None:
    from mediamix.data.diagnostics import Diagnostics, diagnostics, panel_checks

    panel, spec = load_checked_panel(data, config_path, population=population or None, **roles)
    if only:
        panel = panel.select(_split(only))
    national = panel.national()
    national_diag = diagnostics(national, spec_parameter_count(spec, national) if spec else None)
    diag = Diagnostics(
        checks=panel_checks(panel) + national_diag.checks,
        channel_names=national_diag.channel_names,
        correlation=national_diag.correlation,
        notes=tuple(panel.notes),
    )
    if write_path:
        _write(national, write_path)
    if fmt == "json":
        out = {"panel": panel.summary(), "national": national.summary(), **diag.to_dict()}
        click.echo(json.dumps(out, indent=2))
    else:
        _print_panel(panel, diag)
        if write_path:
            what = (
                f"the rows of geo '{panel.geos[0]}'"
                if panel.n_geos == 1
                else f"the national roll-up of {panel.n_geos} geos"
            )
            click.echo(f"wrote {what} ({national.n_periods} rows) to {write_path}.")
    if strict and (diag.warnings or panel.warnings):
        sys.exit(1)


def _write(dataset, path: str) -> None:
    """The dataset's table as CSV (dates as YYYY-MM-DD), readable by `mediamix fit`."""
    frame = dataset.frame.copy()
    d = dataset.spec.date
    frame[d] = frame[d].dt.strftime("%Y-%m-%d")
    frame.to_csv(path, index=False)


def _short(x: float) -> str:
    """1234567 -> '1.23M' (k, M, B), for narrow tables."""
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def _role_text(panel) -> str:
    """The panel's organic, non-media and reach-and-frequency columns, for the header line
    ('' when it has none)."""
    parts = [(label, ", ".join(names)) for label, names in (
        ("organic", panel.organic_names), ("non-media", panel.non_media_names),
        ("reach and frequency", [f"{rf.name} ({rf.reach}, {rf.frequency}, {rf.spend})"
                                 for rf in panel.rf_channels]),
    ) if names]  # fmt: skip
    return "".join(f"; {label}: {text}" for label, text in parts)


def _print_panel(panel, diag) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(100, Console().width))
    s = panel.summary()
    pop = f"; population '{s['population']}'" if s["population"] else ""
    console.print(
        f"[bold]geo panel: {s['geos']} geo{'s' if s['geos'] != 1 else ''} in '{s['geo']}' x "
        f"{s['periods']} {s['freq']} "
        f"periods ({s['rows']} rows)[/bold] {s['start']} .. {s['end']}; KPI '{s['kpi']}'; "
        f"channels: {', '.join(panel.channel_names)}; "
        f"controls: {', '.join(panel.control_names) or 'none'}{_role_text(panel)}{pop}"
    )
    for note in panel.notes:
        console.print(f"note: {note}")
    table = Table(title="Per geo (totals over the periods)", show_lines=False)
    for col in ("geo", "rows", "KPI", *panel.channel_names):
        table.add_column(col, justify="left" if col == "geo" else "right")
    if panel.population is not None:
        table.add_column("population", justify="right")
    table.add_column("warnings", justify="right")
    for row in s["per_geo"]:
        cells = [row["geo"], str(row["rows"]), _short(row["kpi"])]
        cells += [_short(row["spend"][c]) for c in panel.channel_names]
        if panel.population is not None:
            cells.append(_short(row["population"]))
        cells.append(str(row["warnings"]) if row["warnings"] else "")
        table.add_row(*cells)
    console.print(table)
    for w in panel.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    checks = Table(title="Panel checks and checks of the national roll-up", show_lines=False)
    for col in ("check", "subject", "value", "threshold", "verdict", "advice"):
        checks.add_column(col, overflow="fold")
    for c in diag.checks:
        verdict = "[yellow]warn[/yellow]" if c.verdict == "warn" else "[green]ok[/green]"
        checks.add_row(c.name, c.subject, f"{c.value:.3g}", f"{c.threshold:g}", verdict, c.advice)
    console.print(checks)
    n = len(diag.warnings)
    console.print(f"{n} warning(s)." if n else "No warnings.")


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
