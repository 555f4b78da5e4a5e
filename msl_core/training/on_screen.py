"""The on-screen threshold of a stage-2 model: how high a raw map peak must be to trust that the source is visible.

A category's raw peak score is the largest value of its ReLU cosine map S_c (docs/method.md §3.1) before any
normalisation. On frames where category c is *not* visible (visual label < 0.5) every peak of S_c is a false
source, so the `quantile` of those peaks over the held-out split (val; train when there is none) is the score a
sound without a visible source rarely reaches: at 0.95, about 5 % of off-screen sounds are still called on screen.
"""

from __future__ import annotations

import numpy as np
import torch

from msl_core.models.coarse_to_fine import CoarseToFine
from msl_core.models.localization import LocalizationConfig, localize_batch
from msl_core.training.data import BatchReader, TrainingFiles, read_index
from msl_core.training.model_file import OnScreen

QUANTILE = 0.95


def class_peaks(class_maps: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) → (N, C) maximum of each map."""
    return class_maps.flatten(2).amax(-1)


@torch.no_grad()
def on_screen_threshold(model: CoarseToFine, files: TrainingFiles, n_rows: int, device: torch.device,
                        batch_size: int = 16, quantile: float = QUANTILE) -> OnScreen | None:
    """The threshold from the negatives of the val split (train when it has no val rows); None without negatives."""
    split = read_index(files.index, n_rows)["split"].to_numpy()
    name = "val" if (split == "val").any() else "train"
    rows = np.flatnonzero(split == name)
    reader, peaks, visible = BatchReader(files, pixels=True), [], []
    model.eval()
    for start in range(0, len(rows), batch_size):
        batch = reader[rows[start : start + batch_size].tolist()]
        frames = model.prepare_frames(batch["frames"].to(device))
        maps = localize_batch(model, frames, batch["logmel"].to(device), LocalizationConfig())
        peaks.append(class_peaks(maps["stage2_class"]).cpu().numpy())
        visible.append(batch["visual"].numpy() >= 0.5)
    if not peaks:
        return None
    negatives = np.concatenate(peaks)[~np.concatenate(visible)]
    if negatives.size == 0:
        return None
    return OnScreen(float(np.quantile(negatives, quantile)), name, int(negatives.size), quantile)
