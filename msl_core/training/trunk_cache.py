"""The frozen trunk, computed once: rule trunk_features writes trunk.h5, and training reads it instead of the frames.

The leading `model.freeze_vision_stages` stages of the vision backbone never train and keep their batch-norm
statistics, so their output for a frame never changes; without the cache every epoch recomputes it for every sample.
trunk.h5 (msl_core.stores.trunk) holds it for every row of frames.h5, and for the mirrored frame too when training
flips frames. A training step then takes each row's view with the same seeded flip decisions and runs only the
trainable rest (`CoarseToFine.forward_from_trunk`). The features are the very tensors the uncached step would
compute (same normalisation, flip, memory layout and float32 arithmetic; convolutions give each frame the same
numbers in any batch of two or more, see BATCH), so on CPU the losses and gradients are bit-identical
(tests/test_trunk_cache.py). Under bf16 autocast (CUDA) the uncached trunk runs in bf16 while the cache holds
float32: equal within bf16 rounding.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from msl_core.errors import BadInput
from msl_core.models.coarse_to_fine import CoarseToFine
from msl_core.stores.frames import FramesStore, RepeatedFrames
from msl_core.stores.trunk import TrunkStore, trunk_writer

BATCH = 32  # frames per trunk pass
# Why the cached features are the ones a training batch computes: PyTorch runs a float32 CPU convolution with oneDNN,
# whose result for a frame does not depend on the batch around it, except in two cases that take PyTorch's native
# kernel (equal within float rounding): a single frame whose input to a non-depthwise convolution is small (≤ 20 480
# values), and, on one thread, an unstrided 1×1 convolution of fewer than 16 frames. So trunk_features never
# computes a frame alone and training batches hold ≥ 2: bit-identical with ≥ 2 threads (the rules run 2); on one
# thread, in batches of ≥ 16 (a smaller last batch of an epoch then differs within rounding).


def augment(frames: Tensor, flips: Tensor) -> Tensor:
    """Horizontal flip of the frames selected by `flips` (N,) bool (docs/method.md §1.2; audio is not augmented)."""
    return torch.where(flips.to(frames.device)[:, None, None, None], frames.flip(-1), frames)


def pick_views(trunk: Tensor, flips: Tensor) -> Tensor:
    """Each row's cached features (N, V, C, h, w) → (N, C, h, w): view 1 (the mirrored frame) where `flips`."""
    flips = flips.to(trunk.device)
    if trunk.shape[1] == 1:
        if flips.any():
            raise ValueError("a flip was drawn, but the cached features have no flipped view (check_trunk)")
        return trunk[:, 0]
    return torch.where(flips[:, None, None, None], trunk[:, 1], trunk[:, 0])


def step_inputs(model: CoarseToFine, batch: dict[str, Tensor], flips: Tensor, device: torch.device) -> tuple[Tensor, bool]:
    """A batch's visual input and whether it is the trunk's output (the model's `from_trunk`): the cached trunk
    features of each row's view when the loader read trunk.h5, else the frames, normalised and flipped where `flips`
    says."""
    if "trunk" in batch:
        return pick_views(batch["trunk"].to(device, non_blocking=True), flips), True
    return augment(model.prepare_frames(batch["frames"].to(device, non_blocking=True)), flips), False


def frozen_digest(model: CoarseToFine) -> str:
    """sha256 (16 hex digits) of the frozen stages' weights and buffers: features cached by one model fit another
    only when these agree."""
    k = model.cfg.freeze_vision_stages
    digest = hashlib.sha256(f"{model.cfg.vision_backbone}:{k}".encode())
    for stage in model.vision.stages[:k]:
        for name, tensor in stage.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


@torch.no_grad()
def write_trunk_features(frames_path: str | Path, out: str | Path, model: CoarseToFine, flipped: bool,
                         device: torch.device, progress: bool = True) -> None:
    """trunk.h5 for every row of frames.h5: the frozen stages' features of each frame and, with `flipped`, of its
    mirror image. A frame identical to an earlier one takes that frame's features (`RepeatedFrames`)."""
    if model.cfg.freeze_vision_stages == 0:
        raise BadInput(frames_path, "no frozen vision stage to cache (model.freeze_vision_stages is 0)")
    frames = FramesStore(frames_path)
    pixels, n, views = frames.rows("frames"), len(frames), 2 if flipped else 1
    model = model.to(device).eval()
    h, w = frames.size
    shape = model.frozen_trunk(model.prepare_frames(torch.zeros(2, h, w, 3, dtype=torch.uint8, device=device))).shape
    copies: dict[int, list[int]] = {}  # first row of each distinct picture → every row that holds it
    for row, first in enumerate(_first_copies(pixels, n)):
        copies.setdefault(int(first), []).append(row)
    unique = np.array(list(copies), np.int64)
    with trunk_writer(out, frames.index_table(), (views, *shape[1:]), model.cfg.vision_backbone,
                      model.cfg.freeze_vision_stages, frozen_digest(model)) as trunk:
        # distinct pictures only, in full batches: on one thread a small batch would take another kernel (BATCH)
        for start in tqdm(range(0, len(unique), BATCH), desc="trunk features", unit="batch", file=sys.stderr,
                          disable=not progress):
            start = min(start, max(len(unique) - 2, 0))  # never one frame alone (see BATCH): the last two, then
            batch = unique[start : start + BATCH]
            for first, features in zip(batch, _trunk_views(model, pixels.read(batch), views, device)):
                for row in copies[int(first)]:
                    trunk[row] = features


def _first_copies(pixels, n: int, chunk: int = 256) -> np.ndarray:
    """(n,) for each row of frames.h5, the first row that holds the same picture."""
    repeats = RepeatedFrames()
    return np.concatenate([repeats.sources(np.arange(start, min(start + chunk, n)), pixels.data[start : start + chunk])
                           for start in range(0, n, chunk)] or [np.zeros(0, np.int64)])


def _trunk_views(model: CoarseToFine, block: np.ndarray, views: int, device: torch.device) -> np.ndarray:
    """(B, V, C, h, w) features of uint8 frames (B, H, W, 3). A lone frame goes through twice: never one frame alone
    (see BATCH)."""
    x = model.prepare_frames(torch.from_numpy(np.concatenate([block] * (2 if len(block) == 1 else 1))).to(device))
    features = [model.frozen_trunk(augment(x, torch.full((len(x),), bool(v)))) for v in range(views)]
    return torch.stack(features, 1)[: len(block)].cpu().numpy()


def check_trunk(path: str | Path, model: CoarseToFine, n_rows: int, flip_prob: float) -> None:
    """trunk.h5 must hold the features of this model's frozen stages for every row (and the flipped view if flips
    are on); otherwise training from it would not be training this model."""
    store = TrunkStore(path)
    if len(store) != n_rows:
        raise BadInput(path, f"has {len(store)} rows but frames.h5 has {n_rows}: rerun rule trunk_features")
    cfg = model.cfg
    if (store.vision_backbone, store.frozen_stages) != (cfg.vision_backbone, cfg.freeze_vision_stages):
        raise BadInput(path, f"holds the features of {store.frozen_stages} frozen {store.vision_backbone} stages, "
                             f"the model freezes {cfg.freeze_vision_stages} {cfg.vision_backbone} stages: rerun rule "
                             "trunk_features")
    if store.frozen_digest != frozen_digest(model):
        raise BadInput(path, "was computed with other weights than this model's frozen stages: rerun rule "
                             "trunk_features")
    if flip_prob > 0 and "flipped" not in store.views:
        raise BadInput(path, "holds no flipped view, but train.flip_prob > 0: rerun rule trunk_features")
