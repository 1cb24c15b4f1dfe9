"""CLI commands: report, serve (the web planner)."""

from __future__ import annotations

import os

import click

# The shortest access token the servers accept (the planner's full rule:
# mediamix.app.server.check_token).
MIN_TOKEN_LENGTH = 16


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="Data directory (default: $MEDIAMIX_HOME or ~/.mediamix). "
    "$MEDIAMIX_DATABASE_URL selects another database (e.g. PostgreSQL).",
)
@click.option("--max-upload-mb", default=20.0, show_default=True, type=click.FloatRange(min=0.001))
def serve(host: str, port: int, home: str | None, max_upload_mb: float) -> None:
    """Start the web planner (Runs, Planner, Scenarios and the JSON API under /api).

    Listens on 127.0.0.1 unless --host says otherwise; any other address needs an access
    token in $MEDIAMIX_TOKEN, which every request must then send as
    `Authorization: Bearer <token>` (in a browser: sign in at /login). The port is bound
    before the store is opened, so a refused start (a busy port, a weak token) changes nothing
    in the store.
    """
    from mediamix.app.server import serve as run_server

    run_server(
        host,
        port,
        home=home,
        token=os.environ.get("MEDIAMIX_TOKEN") or None,
        max_upload_bytes=int(max_upload_mb * 2**20),
        echo=click.echo,
    )


@click.command("report")
@click.argument("run_dir", type=click.Path())
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    default=None,
    help="HTML file to write (default: RUN_DIR/report.html).",
)
@click.option("--title", default=None, help="Title shown at the top of the report.")
@click.option(
    "--png",
    "png_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Also write each figure as a PNG into this folder (needs the optional kaleido "
    "package and Chromium).",
)
def report(run_dir: str, out: str | None, title: str | None, png_dir: str | None) -> None:
    """Write one self-contained HTML report (works offline) for a fitted RUN_DIR.

    Sections appear when their data exists: data checks, fit vs actual, fit diagnostics,
    decomposition, ROAS and marginal ROAS, response and adstock curves, and the budget plan
    when RUN_DIR/plan.json exists. Example: mediamix report runs/demo --out report.html
    """
    from mediamix.report.html import output_path, run_figures, write_report
    from mediamix.report.png import ExportUnavailableError, export_png, png_support
    from mediamix.report.run import load_run

    if png_dir is not None and png_support() is not None:
        raise ExportUnavailableError(png_support())
    output_path(run_dir, out)  # a bad --out fails before the (slow) reading
    run = load_run(run_dir)
    for note in run.notes:  # a damaged file of the run: say so here too, not only in the HTML
        if "could not be" in note:
            click.echo(f"warning: {note}", err=True)
    path = write_report(run_dir, out, title=title, run=run)
    size = path.stat().st_size / 2**20
    click.echo(f"wrote {path} ({size:.1f} MiB); open it in a browser (no network needed)")
    if png_dir is not None:
        written = export_png(run_figures(run), png_dir)
        click.echo(f"wrote {len(written)} PNG file(s) to {png_dir}")


COMMANDS: list = [serve, report]
