"""The command line: `mediamix COMMAND ...`.

Each group of commands lives in its own module and is registered here. Heavy libraries
(JAX, cvxpy) are imported inside the commands so `mediamix --help` stays fast. Errors of
the project's own types are caught once here and printed as one message, no traceback (exit
status 2); Ctrl+C prints "interrupted" (exit status 130; `mediamix fit` names its folder).
"""

from __future__ import annotations

import sys

import click

from mediamix import __version__
from mediamix.errors import MediamixError


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MediamixError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:  # Ctrl+C: one line and the shell's status 128 + SIGINT
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="mediamix")
def cli() -> None:
    """mediamix: media mix models, budget plans, reports and real-time bidding."""
    from mediamix.devices import host_devices_for, jax_started, set_host_devices

    if not jax_started():  # one host device per NUTS chain (at least 4): chains in parallel
        set_host_devices(host_devices_for(sys.argv[1:]))


def _register() -> None:
    from mediamix.cli import (
        data_cmds,
        demo_cmds,
        fleet_cmds,
        geo_plan_cmds,
        loop_cmds,
        model_cmds,
        optimize_cmds,
        plan_cmds,
        refresh_cmds,
        report_cmds,
        rtb_cmds,
        simulate_cmds,
        validate_cmds,
    )

    for module in (
        data_cmds,
        simulate_cmds,
        model_cmds,
        fleet_cmds,
        optimize_cmds,
        geo_plan_cmds,
        plan_cmds,
        refresh_cmds,
        report_cmds,
        rtb_cmds,
        demo_cmds,
        validate_cmds,
        loop_cmds,
    ):
        for command in getattr(module, "COMMANDS", []):
            cli.add_command(command)


_register()


def main() -> None:
    cli()
