"""Localisation maps (docs/method.md §3.1 `Location`): the one function that evaluation and inference both call.

Stage 2: S_c(p) = ReLU(⟨e^a_c, e^v(p)⟩) between the audio embedding of category c and the projected visual
feature at each position. CAM baseline: the stage-1 visual class activation maps ReLU(W_v,c · F^v).
Both are combined with audio-probability weights: w_c = σ(z^a_c), categories with w_c > threshold plus the
arg-max; L = Σ w_c S_c / Σ w_c, then L / max L.
msl extension `snap: proposals`: each category's map becomes its best-covering object proposals (`snap_to_boxes`).
msl extension `contrast_heard: λ`: each heard category's class-specific map is drawn from its audio embedding minus λ
times the other heard categories' (`contrast_heard`); the class-agnostic map keeps the plain embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from msl_core.config import default
from msl_core.errors import ConfigError
from msl_core.models.coarse_to_fine import CoarseToFine

GATES = ("none", "cam")
SNAPS = ("none", "proposals")
SNAP_GRID = 64  # snapped maps are drawn on a 64-cell grid: a box edge within 4 px of a 256-px frame


@dataclass(frozen=True)
class LocalizationConfig:
    class_threshold: float = default("evaluate.class_threshold")
    # The reference applies σ twice at test time (σ(σ(z)) ∈ (0.5, 0.731): every category is always kept);
    # true reproduces that bug for comparison with its published numbers (docs/method.md §6.2).
    reference_double_sigmoid: bool = default("evaluate.reference_double_sigmoid")
    map_size: int = default("evaluate.map_size")
    # msl extension: `cam` multiplies each category's alignment map by that category's own max-normalised visual
    # CAM (the model's stage-2 visual head), so a category's map keeps only where its object is seen. The original
    # AudioSet version multiplies by the strongest CAM of any category (docs/method.md §3.3); `none` is the simplified
    # one.
    gate: str = default("evaluate.gate")
    # msl extension: `proposals` redraws every category map (stage 2 and the CAM alike) as the frame's object
    # proposals, each filled with its score for that category (`snap_to_boxes`); `none` is the reference.
    snap: str = default("evaluate.snap")
    # msl extension: the sounds of a mixture pool much of the same audio, so their embeddings share a component
    # that lights every sounding object alike. λ > 0 draws each heard category's class-specific map from its
    # embedding minus λ × the other heard categories' weighted mean (`contrast_heard`); 0 is the reference.
    contrast_heard: float = default("evaluate.contrast_heard")

    def __post_init__(self) -> None:
        if self.gate not in GATES:
            raise ConfigError("evaluate.gate", f"'{self.gate}' is not one of {', '.join(GATES)}")
        if self.snap not in SNAPS:
            raise ConfigError("evaluate.snap", f"'{self.snap}' is not one of {', '.join(SNAPS)}")
        if self.contrast_heard < 0:
            raise ConfigError("evaluate.contrast_heard", f"must be ≥ 0, got {self.contrast_heard}")

    @property
    def output_size(self) -> int:
        """Side of the maps written: the feature-grid size, or the snapping grid."""
        return SNAP_GRID if self.snap == "proposals" else self.map_size


def class_weights(audio_logits: Tensor, threshold: float, double_sigmoid: bool) -> Tensor:
    """(N, C) logits → (N, C) weights: the probability where kept (> threshold, or the arg-max), else 0."""
    w = torch.sigmoid(audio_logits.float())
    if double_sigmoid:
        w = torch.sigmoid(w)
    kept = w > threshold
    kept[torch.arange(w.shape[0], device=w.device), w.argmax(1)] = True
    return w * kept


def contrast_heard(embeddings: Tensor, weights: Tensor, strength: float) -> Tensor:
    """Audio embeddings (N, C, E) of unit length and category weights (N, C) ≥ 0 (`class_weights`: 0 = not heard)
    → e_c − λ · Σ_{c'≠c} w_c' e_c' / Σ_{c'≠c} w_c', renormalised, for every category (heard or not) of a clip that
    hears two or more; the embeddings of a clip that hears one are returned as they are."""
    total = torch.einsum("nc,nce->ne", weights, embeddings)[:, None]  # (N, 1, E)
    others_weight = weights.sum(1, keepdim=True) - weights  # (N, C)
    others = (total - weights[..., None] * embeddings) / others_weight.clamp_min(1e-12)[..., None]
    contrasted = F.normalize(embeddings - strength * others, dim=-1)
    several = ((weights > 0).sum(1) > 1)[:, None, None]
    return torch.where(several, contrasted, embeddings)


def max_normalise(maps: Tensor) -> Tensor:
    """Divide each (…, H, W) map by its maximum; an all-zero map stays zero."""
    peak = maps.flatten(-2).amax(-1)[..., None, None]
    return torch.where(peak > 0, maps / peak.clamp_min(1e-12), torch.zeros_like(maps))


def weighted_class_mean(class_maps: Tensor, weights: Tensor) -> Tensor:
    """class_maps (N, C, H, W) ≥ 0, weights (N, C) ≥ 0 → Σ w_c S_c / Σ w_c (N, H, W), on the class maps' scale."""
    return torch.einsum("nchw,nc->nhw", class_maps, weights) / weights.sum(1).clamp_min(1e-12)[:, None, None]


def combine_class_maps(class_maps: Tensor, weights: Tensor) -> Tensor:
    """class_maps (N, C, H, W) ≥ 0, weights (N, C) ≥ 0 → class-agnostic (N, H, W) in [0, 1]."""
    return max_normalise(weighted_class_mean(class_maps, weights))


def resize_maps(maps: Tensor, size: int) -> Tensor:
    """Bilinear resize of (N, C, h, w) to (N, C, size, size) (framework default corners, as the reference)."""
    if maps.shape[-2:] == (size, size):
        return maps
    return F.interpolate(maps, size=(size, size), mode="bilinear", align_corners=False)


def box_masks(boxes: Tensor, size: int) -> Tensor:
    """(N, K, 4) normalised [x1, y1, x2, y2] → (N, K, size, size) float masks of the cells whose centres they cover."""
    centres = (torch.arange(size, device=boxes.device, dtype=torch.float32) + 0.5) / size
    x1, y1, x2, y2 = (boxes[..., i, None] for i in range(4))  # (N, K, 1) each
    cols = (centres >= x1) & (centres <= x2)  # (N, K, size)
    rows = (centres >= y1) & (centres <= y2)
    return (rows[..., :, None] & cols[..., None, :]).float()


def snap_to_boxes(class_maps: Tensor, boxes: Tensor, objectness: Tensor, size: int = SNAP_GRID) -> Tensor:
    """Category maps (N, C, h, w) ≥ 0 redrawn as object proposals (N, K, 4) with objectness (N, K) → (N, C, S, S).

    A box's score for category c is the mean of c's map inside it times √objectness: the mean prefers a box that
    fits the lit object over one that also holds background, and objectness breaks the tie between a whole object
    and a lit part of it (the root keeps a confident part from beating the whole). Each cell takes the best score
    of the boxes covering it. Slots with objectness 0 (fewer than K proposals) are empty; a frame without any
    proposal keeps its map, resized.
    """
    maps = resize_maps(class_maps.float(), size)  # (N, C, S, S)
    masks = box_masks(boxes.float(), size) * (objectness > 0)[..., None, None]  # (N, K, S, S)
    area = masks.sum((2, 3)).clamp_min(1.0)  # (N, K)
    score = torch.einsum("nchw,nkhw->nck", maps, masks) / area[:, None] * objectness.float().clamp_min(0).sqrt()[:, None]
    snapped = (score[..., None, None] * masks[:, None]).amax(2)  # (N, C, S, S)
    has_box = masks.flatten(1).any(1)[:, None, None, None]
    return torch.where(has_box, snapped, maps)


@torch.no_grad()
def localize_batch(
    stage2: CoarseToFine, frames: Tensor, logmel: Tensor, cfg: LocalizationConfig, stage1: CoarseToFine | None = None,
    proposals: tuple[Tensor, Tensor] | None = None, frame_of_row: Tensor | None = None,
) -> dict[str, Tensor]:
    """Maps for one batch; frames are prepared (normalised NCHW), logmel (N, T, n_mels); models in eval mode.
    With `frame_of_row` (N,), `frames` holds each distinct picture once and row n sees frames[frame_of_row[n]].

    Returns (float32, on the models' device):
      stage2 (N, S, S) in [0, 1]; stage2_raw (N, S, S) = the same before L / max L (its scale says how strongly
      anything is heard in view: SLAVC's confidence and PIA read it); stage2_class (N, C, S, S) = ReLU cosine maps
      in [0, 1];
      audio_prob (N, C) = σ(z^a) and visual_prob (N, C) = σ(z^v) of the stage-2 model;
      with `stage1`: cam (N, S, S) in [0, 1], cam_raw before normalisation; cam_class (N, C, S, S) = ReLU(W_v · F^v) divided by the
      clip's largest class value (keeps the classes' relative strength and fits float16).
    With `snap: proposals`, `proposals` = the frames' boxes (N, K, 4) and objectness (N, K), and every map is
    snapped to them at `cfg.output_size`.
    """
    def features(model: CoarseToFine) -> tuple[Tensor, Tensor]:
        fv, fa = model.backbone_features(frames, logmel)
        return (fv if frame_of_row is None else fv[frame_of_row]), fa

    out = localize_features(stage2, *features(stage2), cfg, proposals)
    if stage1 is not None:
        out |= cam_features(stage1, *features(stage1), cfg, proposals)
    return out


def cam_features(stage1: CoarseToFine, fv: Tensor, fa: Tensor, cfg: LocalizationConfig,
                 proposals: tuple[Tensor, Tensor] | None = None) -> dict[str, Tensor]:
    """The stage-1 maps of `localize_batch` (cam, cam_raw, cam_class) from the stage-1 model's F^v and F^a."""
    vmap1, amap1 = stage1.class_maps(fv, fa)
    cam = snapped(resize_maps(F.relu(vmap1.float()), cfg.map_size), cfg, proposals)  # (N, C, S, S)
    w1 = class_weights(amap1.float().mean((2, 3)), cfg.class_threshold, cfg.reference_double_sigmoid)
    raw = weighted_class_mean(cam, w1)
    peak = cam.flatten(1).amax(1).clamp_min(1e-12)[:, None, None, None]
    return {"cam_raw": raw, "cam": max_normalise(raw), "cam_class": cam / peak}


@torch.no_grad()
def localize_features(stage2: CoarseToFine, fv: Tensor, fa: Tensor, cfg: LocalizationConfig,
                      proposals: tuple[Tensor, Tensor] | None = None) -> dict[str, Tensor]:
    """The stage-2 part of `localize_batch` from backbone features F^v (N, Dv, h, w) and F^a (N, Da, t, f)."""
    vmap, amap = stage2.class_maps(fv, fa)
    audio_logits = amap.float().mean((2, 3))  # (N, C)
    weights = class_weights(audio_logits, cfg.class_threshold, cfg.reference_double_sigmoid)
    ea = stage2.embed_audio(fa, amap).float()  # (N, C, E)
    ev = stage2.embed_positions(fv).float()  # (N, E, h, w)
    gate = resize_maps(max_normalise(F.relu(vmap.float())), cfg.map_size).clamp(0.0, 1.0) if cfg.gate == "cam" else None

    def category_maps(embeddings: Tensor) -> Tensor:  # (N, C, E) → (N, C, S, S)
        sim = resize_maps(F.relu(torch.einsum("nce,nehw->nchw", embeddings, ev)), cfg.map_size).clamp(0.0, 1.0)
        return snapped(sim if gate is None else sim * gate, cfg, proposals)

    sim = category_maps(ea)
    raw = weighted_class_mean(sim, weights)
    specific = category_maps(contrast_heard(ea, weights, cfg.contrast_heard)) if cfg.contrast_heard > 0 else sim
    return {"stage2": max_normalise(raw), "stage2_raw": raw, "stage2_class": specific,
            "audio_prob": torch.sigmoid(audio_logits), "visual_prob": torch.sigmoid(vmap.float().mean((2, 3)))}


def snapped(class_maps: Tensor, cfg: LocalizationConfig, proposals: tuple[Tensor, Tensor] | None) -> Tensor:
    """The category maps as `cfg.snap` asks: unchanged, or snapped to the proposals."""
    if cfg.snap == "none":
        return class_maps
    if proposals is None:
        raise ConfigError("evaluate.snap", "'proposals' needs each frame's object proposals (proposals.h5)")
    boxes, objectness = proposals
    return snap_to_boxes(class_maps, boxes.to(class_maps.device), objectness.to(class_maps.device), cfg.output_size)
