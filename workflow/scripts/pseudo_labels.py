"""Rule pseudo_labels: index (+ frames, teachers) -> labels.h5 with audio and visual category labels."""

import torch

from msl_core.device import resolve_device
from msl_core.manifest import read_index
from msl_core.runlog import from_snakemake
from msl_core.stores.labels import write_labels
from msl_core.teachers.categories import category_set
from msl_core.teachers.pseudo_labels import LabelConfig, compute_labels

log = from_snakemake(snakemake)  # noqa: F821 - injected by Snakemake
inp, params = snakemake.input, snakemake.params  # noqa: F821
torch.set_num_threads(snakemake.threads)  # noqa: F821

overrides = {"image_classifier_weights": inp.classifier} if "classifier" in inp.keys() else {}  # noqa: SIM118
cfg = LabelConfig.from_config(params.settings, overrides)
index = read_index(inp.index)
categories = category_set(params.categories, index)
audio, visual = compute_labels(index, categories, cfg, frames_path=inp.get("frames"), proposals_path=inp.get("proposals"),
                               device=resolve_device(snakemake.config["device"]))  # noqa: F821
write_labels(snakemake.output[0], audio, visual, list(categories.names), categories.kind, index,  # noqa: F821
             attrs={"audio_source": cfg.audio_source, "visual_source": cfg.visual_source})
log.info("%d rows x %d categories (%s); mean audio %.3f, visual %.3f", len(index), len(categories),
         categories.kind, audio.mean() if audio.size else 0.0, visual.mean() if visual.size else 0.0)
