"""Argument types shared by the `msl` subcommands: bad arguments fail in click with one `Error:` line, before any
file is written."""

from __future__ import annotations

import os
from pathlib import Path

import click


class OutputFile(click.Path):
    """A file to write: not a folder, and its folder must exist and be writable."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False)

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        folder = Path(os.fsdecode(path)).parent
        if not folder.is_dir():
            self.fail(f"folder {str(folder)!r} does not exist", param, ctx)
        if not os.access(folder, os.W_OK):
            self.fail(f"folder {str(folder)!r} is not writable", param, ctx)
        return path


OUT_FILE = OutputFile()
POSITIVE_SECONDS = click.FloatRange(min=0, min_open=True)
FRACTION = click.FloatRange(0, 1)
COUNT = click.IntRange(min=1)


def frame_size(ctx, param, value: int) -> int:
    """Frame side in pixels: a positive multiple of the backbones' stride 16."""
    if value < 16 or value % 16:
        raise click.BadParameter(f"{value} is not a positive multiple of 16", ctx, param)
    return value


def workflow_config(path: str | None, overrides: dict | None = None) -> dict:
    """The resolved workflow config (msl_core.config): `--config PATH`, else ./config.yaml when there is one, else
    the schema's defaults; unknown keys and wrong values fail naming the key, as they do in the workflow."""
    from msl_core.config import load_config

    if path is None and Path("config.yaml").is_file():
        path = "config.yaml"
    return load_config(path, overrides)
