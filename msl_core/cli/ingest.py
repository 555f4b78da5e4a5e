"""`msl manifest | ingest`: the ingestion steps outside Snakemake."""

from __future__ import annotations

import click

from msl_core.adapters import build_manifest, check_splits
from msl_core.cli.params import COUNT, OUT_FILE, POSITIVE_SECONDS, frame_size
from msl_core.config import default, load_config
from msl_core.config.settings import front_end_settings
from msl_core.ingest import Outputs, Settings, ingest, write_logmels
from msl_core.manifest import load_manifest
from msl_core.runlog import setup_logging
from msl_core.spectrogram import front_end
from msl_core.splits import describe, split_counts


@click.command("manifest")
@click.option("--kind", type=click.Choice(["flickr", "ave", "audioset_instrument"]), required=True)
@click.option("--root", type=click.Path(exists=True, file_okay=False), required=True, help="Raw dataset folder.")
@click.option("--split", "split_file", type=click.Path(exists=True, dir_okay=False),
              help="Flickr test list (gtest.txt or an LVS/SLAVC csv).")
@click.option("--train-tags", type=click.Path(exists=True, dir_okay=False),
              help="AudioSet-instrument training tag pickle (train_audio.pkl).")
@click.option("--test-tags", type=click.Path(exists=True, dir_okay=False),
              help="AudioSet-instrument test tag pickle (val_audio.pkl).")
@click.option("--val-fraction", type=click.FloatRange(0, 0.9), default=default("datasets.<name>.val_fraction"), show_default=True,
              help="Seeded share of the training clips held out for validation (Flickr, AudioSet-instrument).")
@click.option("--seed", type=int, default=default("seed"), show_default=True)
@click.option("--out", type=OUT_FILE, required=True, help="Manifest CSV to write.")
def manifest_cmd(kind: str, root: str, split_file: str | None, train_tags: str | None, test_tags: str | None,
                 val_fraction: float, seed: int, out: str) -> None:
    """Build a manifest CSV from a raw dataset layout, with the dataset's own splits."""
    setup_logging()
    settings = {"kind": kind, "root": root, "train_tags": train_tags, "test_tags": test_tags,
                "val_fraction": val_fraction, "annotations": {"split": split_file}}
    manifest = build_manifest(kind, settings, seed)
    for warning in check_splits(manifest, kind, skip_bad_inputs=True):
        click.echo(f"warning: {warning}", err=True)
    manifest.to_csv(out, index=False)
    click.echo(f"{len(manifest)} clips ({describe(split_counts(manifest), 'clips')}) → {out}")


@click.command("ingest")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--window", "window_s", type=POSITIVE_SECONDS, default=default("datasets.<name>.window_s"), show_default=True,
              help="Seconds of audio per frame.")
@click.option("--size", type=int, default=default("frames.size"), show_default=True, callback=frame_size,
              help="Frame side in pixels (a multiple of 16).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="A config.yaml whose audio backbone and `audio:` section set the log-mel (default: the reference's).")
@click.option("--skip-bad-inputs", is_flag=True, help="Skip unusable clips (listed in rejected.csv) instead of failing.")
@click.option("--workers", type=COUNT, default=1, show_default=True, help="Clips decoded at once.")
@click.option("--out-dir", type=click.Path(file_okay=False, writable=True, exists=True), required=True,
              help="Existing folder for index.csv, rejected.csv, frames.h5, audio.h5 and logmel.h5.")
def ingest_cmd(manifest: str, window_s: float, size: int, config_path: str | None, skip_bad_inputs: bool,
               workers: int, out_dir: str) -> None:
    """Decode every clip of MANIFEST once: one row per (clip, window) in index.csv, its frame and audio window
    (frames.h5, audio.h5), then the windows' log-mel (logmel.h5)."""
    setup_logging()
    # The front end of the config's audio backbone (the `audio:` section for the reference's); without --config, the
    # schema's defaults, which are the reference's.
    settings = front_end_settings(load_config(config_path))
    params = front_end(settings["audio_backbone"], settings["audio"])
    out = Outputs.in_folder(out_dir)
    index, rejections = ingest(load_manifest(manifest), out, Settings(window_s, size, params.sample_rate),
                               skip_bad_inputs, workers)
    write_logmels(out.audio, out.audio.with_name("logmel.h5"), params)
    click.echo(f"{len(index)} rows from {index['clip_id'].nunique()} clips; {len(rejections)} rejected → {out_dir}")


def register(group: click.Group) -> None:
    for command in (manifest_cmd, ingest_cmd):
        group.add_command(command)
