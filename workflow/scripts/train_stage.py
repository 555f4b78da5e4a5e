"""Rules train_stage1 / train_stage2: train one stage of the coarse-to-fine model (msl_core.training.loop)."""

from pathlib import Path

from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)  # noqa: F821 - injected by Snakemake

import torch

from msl_core.device import resolve_device
from msl_core.models import ModelConfig
from msl_core.training.data import TrainingFiles, check_front_end, open_training_data
from msl_core.training.loop import RunOptions, StageOutputs, TrainConfig, train_stage
from msl_core.training.validation import open_val_split

inp, params = snakemake.input, snakemake.params  # noqa: F821
torch.set_num_threads(snakemake.threads)  # noqa: F821
trunk = inp.get("trunk")  # the cached frozen trunk (train.cache_trunk)
files = TrainingFiles(Path(inp.frames), Path(inp.logmel), Path(inp.labels), Path(inp.index),
                      Path(trunk) if trunk else None)
data = open_training_data(files, split="train")
model_cfg = ModelConfig(num_classes=data.num_classes, categories=data.categories, **params.model)
check_front_end(files.logmel, model_cfg.audio_backbone)
train_cfg = TrainConfig(**params.train)
val = open_val_split(files, inp.get("val_boxes"))  # None without val rows
opts = RunOptions(
    device=resolve_device(snakemake.config["device"]),  # noqa: F821
    workers=snakemake.config["train"]["workers"],  # noqa: F821
)
out = snakemake.output  # noqa: F821
train_stage(
    data,
    model_cfg,
    train_cfg,
    StageOutputs(Path(out.model), Path(out.metrics), Path(out.curve), Path(out.model).with_name("checkpoint.pt"),
                 Path(out.card)),
    opts,
    vision_weights=inp.get("vision_weights"),
    stage1_model=inp.get("stage1"),
    audio_weights=inp.get("audio_weights"),
    val=val,
    dataset=snakemake.wildcards.dataset,  # noqa: F821
)
