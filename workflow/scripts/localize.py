"""Rule localize: class-agnostic and class-specific maps of the test rows (stage 2 and the stage-1 CAM baseline)."""

from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)  # noqa: F821 - injected by Snakemake

import torch

from msl_core.device import resolve_device
from msl_core.models import LocalizationConfig
from msl_core.training.inference import write_maps

inp = snakemake.input  # noqa: F821
torch.set_num_threads(snakemake.threads)  # noqa: F821
write_maps(
    inp.frames,
    inp.logmel,
    inp.index,
    inp.stage1,
    inp.stage2,
    snakemake.output[0],  # noqa: F821
    LocalizationConfig(**snakemake.params.localize),  # noqa: F821
    device=resolve_device(snakemake.config["device"]),  # noqa: F821
    batch_size=snakemake.config["train"]["batch_size"],  # noqa: F821
    whole_file_audio=inp.get("whole_file_audio"),
    proposals=inp.get("proposals"),
)
