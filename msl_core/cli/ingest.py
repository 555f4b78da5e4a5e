"""`msl manifest | index | frames | logmel`: the ingestion steps outside Snakemake."""

from __future__ import annotations

import click
import yaml

from msl_core.adapters import build_manifest
from msl_core.ingest import write_frames, write_logmels
from msl_core.manifest import build_index, load_manifest, read_index, write_index
from msl_core.runlog import setup_logging
from msl_core.spectrogram import LogMelParams


@click.command("manifest")
@click.option("--kind", type=click.Choice(["flickr", "ave", "audioset_instrument"]), required=True)
@click.option("--root", type=click.Path(exists=True, file_okay=False), required=True, help="Raw dataset folder.")
@click.option("--tags", type=click.Path(exists=True, dir_okay=False), help="AudioSet-instrument tag pickle.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Manifest CSV to write.")
def manifest_cmd(kind: str, root: str, tags: str | None, out: str) -> None:
    """Build a manifest CSV from a raw dataset layout."""
    setup_logging()
    manifest = build_manifest(kind, {"kind": kind, "root": root, "tags": tags})
    manifest.to_csv(out, index=False)
    click.echo(f"{len(manifest)} clips → {out}")


@click.command("index")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("--window", "window_s", type=float, default=1.0, show_default=True, help="Seconds of audio per frame.")
@click.option("--skip-bad-inputs", is_flag=True, help="Skip unusable clips instead of failing.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="index.csv to write.")
@click.option("--rejected", type=click.Path(dir_okay=False), help="rejected.csv (default: beside --out).")
def index_cmd(manifest: str, window_s: float, skip_bad_inputs: bool, out: str, rejected: str | None) -> None:
    """Probe every clip of MANIFEST and write one row per (clip, window)."""
    setup_logging()
    index, rejections = build_index(load_manifest(manifest), window_s, skip_bad_inputs)
    rejected = rejected or str(click.format_filename(out)).replace("index.csv", "rejected.csv")
    if rejected == out:
        rejected = out + ".rejected.csv"
    write_index(index, rejections, out, rejected)
    click.echo(f"{len(index)} rows from {index['clip_id'].nunique()} clips; {len(rejections)} rejected")


@click.command("frames")
@click.argument("index", type=click.Path(exists=True, dir_okay=False))
@click.option("--size", type=int, default=256, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="frames.h5 to write.")
def frames_cmd(index: str, size: int, out: str) -> None:
    """Decode one frame per window of every INDEX row into an HDF5 file."""
    setup_logging()
    write_frames(read_index(index), out, size)
    click.echo(f"frames → {out}")


@click.command("logmel")
@click.argument("index", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="A config.yaml whose `audio:` section sets the parameters (default: the reference values).")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="logmel.h5 to write.")
def logmel_cmd(index: str, config_path: str | None, out: str) -> None:
    """Compute the log-mel window of every INDEX row into an HDF5 file."""
    setup_logging()
    params = LogMelParams()
    if config_path:
        with open(config_path) as handle:
            params = LogMelParams(**yaml.safe_load(handle).get("audio", {}))
    write_logmels(read_index(index), out, params)
    click.echo(f"log-mel → {out}")


def register(group: click.Group) -> None:
    for command in (manifest_cmd, index_cmd, frames_cmd, logmel_cmd):
        group.add_command(command)
