"""`msl scenes stamps | build | contact-sheet | classes`: the built-in demo dataset outside Snakemake."""

from __future__ import annotations

from pathlib import Path

import click

from msl_core.cli.params import COUNT, OUT_FILE, workflow_config
from msl_core.runlog import setup_logging
from msl_core.scenes.build import build_dataset
from msl_core.scenes.config import PRESETS, from_config
from msl_core.scenes.contact_sheet import contact_sheet, summary
from msl_core.scenes.stamps import build_catalogue, class_table, obtain_stamps

CATALOGUE = Path("stamps") / "catalogue.csv"


def _catalogue(stamps_dir: str | None, cache_dir: str) -> Path:
    """Obtain the stamps and write the catalogue into `cache_dir` (reused when already there)."""
    path = Path(cache_dir) / CATALOGUE
    if stamps_dir or not path.is_file():
        root = obtain_stamps(stamps_dir, cache_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        build_catalogue(root, class_table()).to_csv(path, index=False)
    return path


_stamps_dir = click.option("--stamps-dir", type=click.Path(file_okay=False),
                           help="Unpacked tuxpaint-stamps-default tree (default: scenes.stamps_dir, else apt-get).")
_cache_dir = click.option("--cache-dir", help="Download/unpack folder (default: scenes.cache_dir).")
_config_opt = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                           help="config.yaml to read the `scenes:` section from (default: ./config.yaml, else the schema's defaults).")


@click.command("stamps")
@_stamps_dir
@_cache_dir
@_config_opt
def stamps_cmd(stamps_dir: str | None, cache_dir: str | None, config_path: str | None) -> None:
    """Obtain tuxpaint-stamps-default and write the stamp catalogue."""
    setup_logging()
    scenes = workflow_config(config_path)["scenes"]
    path = _catalogue(stamps_dir or scenes["stamps_dir"], cache_dir or scenes["cache_dir"])
    click.echo(f"catalogue → {path}")


@click.command("build")
@click.option("--preset", type=click.Choice(PRESETS), default="default", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), required=True,
              help="Dataset folder: videos/ (MP4s + manifest.csv), annotations/, contact_sheet.png.")
@click.option("--seed", type=int, help="Overrides the config's top-level seed.")
@click.option("--workers", type=COUNT, default=2, show_default=True, help="Clips rendered in parallel.")
@_stamps_dir
@_cache_dir
@_config_opt
def build_cmd(preset: str, out: str, seed: int | None, workers: int, stamps_dir: str | None,
              cache_dir: str | None, config_path: str | None) -> None:
    """Render the scenes of PRESET into OUT, with ground truth and a contact sheet."""
    setup_logging()
    config = workflow_config(config_path, {"preset": preset} | ({"seed": seed} if seed is not None else {}))
    scenes = config["scenes"]
    catalogue = _catalogue(stamps_dir or scenes["stamps_dir"], cache_dir or scenes["cache_dir"])
    out_dir = Path(out)
    manifest = build_dataset(from_config(config), catalogue, out_dir / "videos", out_dir / "annotations",
                             workers=workers)
    contact_sheet(out_dir / "videos" / "manifest.csv", out_dir / "annotations", out_dir / "contact_sheet.png")
    click.echo(f"{len(manifest)} clips → {out_dir}")
    click.echo(summary(out_dir / "videos" / "manifest.csv").to_string())


@click.command("contact-sheet")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=OUT_FILE, help="PNG to write (default: DATASET/contact_sheet.png).")
def contact_sheet_cmd(dataset: str, out: str | None) -> None:
    """Draw sample frames of a built DATASET folder with their ground-truth boxes."""
    setup_logging()
    root = Path(dataset)
    contact_sheet(root / "videos" / "manifest.csv", root / "annotations", out or root / "contact_sheet.png")


@click.command("classes")
def classes_cmd() -> None:
    """List the scene classes with their AudioSet category and stamps."""
    table = class_table()
    for name, rows in table.groupby("class", sort=False):
        click.echo(f"{name:12s} {rows['audioset_category'].iloc[0]:17s} {len(rows):2d}  {', '.join(rows['stamp'])}")


@click.group("scenes")
def scenes_group() -> None:
    """The built-in demo dataset composed from Tux Paint stamps."""


for _command in (stamps_cmd, build_cmd, contact_sheet_cmd, classes_cmd):
    scenes_group.add_command(_command)


def register(group: click.Group) -> None:
    group.add_command(scenes_group)
