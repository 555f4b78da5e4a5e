"""The val split during training: every epoch's loss on the val rows and, where the val frames carry boxes (the
built-in scenes), the share of them the stage localises.

`val_loss` (and each `val_<term>`) is the training loss on rows never trained on: fixed batches, no flips, eval mode.
`val_success` is the multi-source protocol's class-agnostic success rate on the val frames that have sounding boxes:
the stage's own map (stage 1: the audio-weighted visual CAM; stage 2: the class-aware alignment map) with the
localisation defaults, upsampled to 256×256, binarised at 0.5 of its maximum, a success where its cIoU with the union
of the boxes reaches 0.5. It is a monitor with fixed thresholds: `evaluate.*` settings do not change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from msl_core import metrics
from msl_core.evaluation import EvalSettings, ground_truth, load_items
from msl_core.models.coarse_to_fine import CoarseToFine
from msl_core.models.localization import LocalizationConfig, cam_features, localize_features
from msl_core.models.losses import stage_losses
from msl_core.training.data import BatchReader, TrainingData, TrainingFiles, make_loader, open_training_data, read_index
from msl_core.training.trunk_cache import step_inputs

SCORING = EvalSettings("multi-source")  # its map threshold and success cIoU, at their defaults


@dataclass
class ValSplit:
    """The val rows and, for those with boxes, their ground truth on the 256×256 grid."""

    data: TrainingData
    truth: dict[int, np.ndarray] = field(default_factory=dict)  # HDF5 row -> (256, 256) union of sounding boxes


def open_val_split(files: TrainingFiles, boxes: str | Path | None = None) -> ValSplit | None:
    """The val rows of index.csv (None when there are none) and the ground truth of those with boxes in the COCO
    file `boxes` (images keyed by clip_id and second, as the scenes' annotations/val.json)."""
    splits = pd.read_csv(files.index, usecols=lambda c: c == "split", dtype=str, keep_default_na=False)
    if "split" not in splits or not (splits["split"] == "val").any():
        return None
    data = open_training_data(files, split="val")
    val = ValSplit(data)
    if boxes is not None:
        items = {item.key: item for item in load_items(boxes, SCORING.protocol)[0]}
        index = read_index(files.index, data.n_rows)
        for row in data.rows:
            item = items.get(f"{index.at[row, 'clip_id']}/{int(index.at[row, 'second'])}")
            if item is not None:
                val.truth[int(row)] = ground_truth(item, SCORING.protocol)
    return val


@torch.no_grad()
def validate(model: CoarseToFine, val: ValSplit, stage: int, batch_size: int, seed: int, loss_options: dict,
             device: torch.device) -> dict[str, float]:
    """`val_<term>` means of the stage's loss over the val rows (none when they make no batch: a batch needs rows of
    two clips, the correspondence loss a pair), and `val_success` where they have boxes."""
    model.eval()
    loader = make_loader(val.data, batch_size, seed, 0, pin_memory=False)
    loader.sampler.set_epoch(0)
    cuda, sums, samples = device.type == "cuda", {}, 0
    for batch in loader:
        n = batch["logmel"].shape[0]
        visual, from_trunk = step_inputs(model, batch, torch.zeros(n, dtype=torch.bool), device)  # never flipped
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            out = model(visual, batch["logmel"].to(device), stage=stage,
                        positions=loss_options["background_weight"] > 0, from_trunk=from_trunk)
        terms = stage_losses(out, batch["audio"].to(device), batch["visual"].to(device), stage, **loss_options)
        for k, v in terms.items():
            sums[f"val_{k}"] = sums.get(f"val_{k}", 0.0) + v.item() * n
        samples += n
    means = {k: v / samples for k, v in sums.items()} if samples else {}
    if val.truth:
        means["val_success"] = success(model, val, stage, batch_size, device)
    return means


def success(model: CoarseToFine, val: ValSplit, stage: int, batch_size: int, device: torch.device) -> float:
    """Share of the val rows with boxes whose map (stage 1: CAM; stage 2: alignment map) reaches cIoU 0.5."""
    return metrics.success_rate(val_cious(model, val, stage, batch_size, device), SCORING.success_ciou)


@torch.no_grad()
def val_cious(model: CoarseToFine, val: ValSplit, stage: int, batch_size: int, device: torch.device) -> np.ndarray:
    """cIoU of each val row with boxes (ascending row order). With a cached trunk the frames' features come from
    trunk.h5 (its unflipped view), as in the val loss."""
    rows = sorted(val.truth)
    reader, cfg, cious = BatchReader(val.data.files), LocalizationConfig(), []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        batch = reader[chunk]
        visual, from_trunk = step_inputs(model, batch, torch.zeros(len(chunk), dtype=torch.bool), device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            fv, fa = model.visual_features(visual, from_trunk), model.audio_features(batch["logmel"].to(device))
            maps = cam_features(model, fv, fa, cfg)["cam"] if stage == 1 else localize_features(model, fv, fa, cfg)["stage2"]
        predicted = metrics.binarise(metrics.upsample(maps.float().cpu().numpy()), SCORING.map_threshold)
        cious.append(metrics.ciou(predicted, np.stack([val.truth[r] for r in chunk])))
    return np.concatenate(cious)
