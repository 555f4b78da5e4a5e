"""Rules train_stage1 / train_stage2: train one stage of the coarse-to-fine model in train.gpus processes
(msl_core.training.launch)."""

from pathlib import Path

from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)  # noqa: F821 - injected by Snakemake

from msl_core.config import settings
from msl_core.training.data import TrainingFiles
from msl_core.training.launch import TrainJob, train
from msl_core.training.loop import StageOutputs

inp, params, out = snakemake.input, snakemake.params, snakemake.output  # noqa: F821
config, dataset = snakemake.config, snakemake.wildcards.dataset  # noqa: F821
trunk = inp.get("trunk")  # the cached frozen trunk (train.cache_trunk)
job = TrainJob.of(
    TrainingFiles(Path(inp.frames), Path(inp.logmel), Path(inp.labels), Path(inp.index), Path(trunk) if trunk else None),
    params.model,
    params.train,
    StageOutputs(Path(out.model), Path(out.metrics), Path(out.curve), Path(out.model).with_name("checkpoint.pt"),
                 Path(out.card)),
    device=config["device"],
    workers=config["train"]["workers"],
    threads=snakemake.threads,  # noqa: F821
    vision_weights=inp.get("vision_weights"),
    stage1_model=inp.get("stage1"),
    audio_weights=inp.get("audio_weights"),
    val_boxes=inp.get("val_boxes"),
    dataset=dataset,
)
train(job, settings.train_gpus(config, dataset))
