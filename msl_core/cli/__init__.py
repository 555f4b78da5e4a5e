"""The `msl` command: one subcommand per workflow step, calling the same msl_core functions as the rules."""

from __future__ import annotations

import importlib
import sys

import click

from msl_core.errors import MslError

# Each area registers its subcommands in its own module (msl_core/cli/<area>.py) via `register(group)`.
AREAS = ("ingest", "scenes", "train", "labels", "evaluate", "locate")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="msl-core")
def cli() -> None:
    """Multi-source visual sound localisation, coarse to fine."""


for _area in AREAS:
    try:
        _module = importlib.import_module(f"msl_core.cli.{_area}")
    except ModuleNotFoundError as exc:  # an area not built yet
        if exc.name != f"msl_core.cli.{_area}":
            raise
        continue
    _module.register(cli)


def main() -> None:
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MslError as exc:
        click.echo(f"msl: error: {exc}", err=True)
        sys.exit(2)
