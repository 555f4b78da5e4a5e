"""Rule convert_mobilenet: the tflite MobileNetV2 -> a torchvision state dict (once per workflow)."""

import torch

from msl_core.models.mobilenet_v2 import convert_tflite
from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)  # noqa: F821 - injected by Snakemake

state = convert_tflite(snakemake.input.tflite)  # noqa: F821
torch.save(state, snakemake.output.weights)  # noqa: F821
log.info("converted %s: %d tensors -> %s", snakemake.input.tflite, len(state), snakemake.output.weights)  # noqa: F821
