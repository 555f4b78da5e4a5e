"""Rule trunk_features: the frozen vision stages' features of every frame, once (msl_core.training.trunk_cache)."""

from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)  # noqa: F821 - injected by Snakemake

import torch

from msl_core.device import resolve_device
from msl_core.models import ModelConfig, build_model
from msl_core.training.trunk_cache import write_trunk_features

inp, settings = snakemake.input, snakemake.params.trunk  # noqa: F821
torch.set_num_threads(snakemake.threads)  # noqa: F821
# Only the frozen vision stages run: the heads and the audio network of this model are never used.
model = build_model(ModelConfig(num_classes=1, vision_backbone=settings["vision_backbone"],
                                freeze_vision_stages=settings["freeze_vision_stages"]), inp.get("vision_weights"))
write_trunk_features(inp.frames, snakemake.output[0], model, settings["flipped"],  # noqa: F821
                     resolve_device(snakemake.config["device"]))  # noqa: F821
