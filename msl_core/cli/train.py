"""`msl train` and `msl localize`: the same functions as rules train_stage1/2 and localize, on results/<dataset>/."""

from __future__ import annotations

from pathlib import Path

import click

from msl_core.cli.params import workflow_config
from msl_core.config import settings
from msl_core.device import resolve_device
from msl_core.runlog import setup_logging


@click.command("train")
@click.option("--dataset", "-d", required=True, help="Dataset name in config.yaml (reads results/<dataset>/).")
@click.option("--stage", type=click.Choice(["1", "2"]), required=True, help="2 starts from results/<dataset>/stage1.")
@click.option("--config", "config_path", default="config.yaml", show_default=True, type=click.Path(exists=True))
@click.option("--results", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--threads", default=2, show_default=True, help="CPU threads.")
def train_cmd(dataset: str, stage: str, config_path: str, results: str, threads: int) -> None:
    """Train one stage (resumes from <results>/<dataset>/stage<k>/checkpoint.pt when it matches) in train.gpus
    processes."""
    from msl_core.training.data import TrainingFiles
    from msl_core.training.launch import TrainJob, train
    from msl_core.training.loop import StageOutputs

    setup_logging()
    config, k, root = workflow_config(config_path), int(stage), Path(results) / dataset
    files = TrainingFiles(root / "frames.h5", root / "logmel.h5", root / "labels.h5", root / "index.csv")
    job = TrainJob.of(files, settings.model_settings(config, dataset, k), settings.train_settings(config, dataset, k),
                      StageOutputs.in_dir(root / f"stage{k}"), device=config["device"],
                      workers=config["train"]["workers"], threads=threads,
                      vision_weights=settings.vision_weights(config, dataset),
                      stage1_model=root / "stage1" / "model.pt" if k == 2 else None)
    train(job, settings.train_gpus(config, dataset))


@click.command("localize")
@click.option("--dataset", "-d", required=True, help="Dataset name in config.yaml (reads results/<dataset>/).")
@click.option("--config", "config_path", default="config.yaml", show_default=True, type=click.Path(exists=True))
@click.option("--results", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--split", default="test", show_default=True)
@click.option("--out", default=None, help="Output HDF5 (default <results>/<dataset>/maps.h5).")
def localize_cmd(dataset: str, config_path: str, results: str, split: str, out: str | None) -> None:
    """Write class-agnostic and class-specific maps (stage 2 and the stage-1 CAM baseline)."""
    from msl_core.models import LocalizationConfig
    from msl_core.training.inference import write_maps

    setup_logging()
    config, root = workflow_config(config_path), Path(results) / dataset
    write_maps(root / "frames.h5", root / "logmel.h5", root / "index.csv", root / "stage1" / "model.pt",
               root / "stage2" / "model.pt", Path(out) if out else root / "maps.h5",
               LocalizationConfig(**settings.localize_settings(config)),
               device=resolve_device(config["device"]), batch_size=config["train"]["batch_size"], split=split)


def register(group: click.Group) -> None:
    group.add_command(train_cmd)
    group.add_command(localize_cmd)
