"""Localisation metrics: box rasterisation, consensus ground truth, cIoU, success rate and AUC.

Definitions follow docs/method.md §5.2 (SoundNet-Flickr) and §5.4 (AudioSet-instrument). Everything is vectorised over
items and pixels (NumPy); no per-pixel Python loops.

Boxes are COCO `[x, y, w, h]` already scaled to the evaluation grid (256×256). One rasteriser covers both reference
rules: a box covers rows floor(y) … floor(y + h) − 1 and columns floor(x) … floor(x + w) − 1. With the Flickr converter
writing `[xmin−1, ymin−1, xmax−xmin, ymax−ymin]` this reproduces the reference's dropped last row/column (§5.2), and
with normalised AudioSet boxes written as 256·[x, y, w, h] it is exactly the §5.4 mask.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

GRID = 256
# Reference AUC: 21 cIoU thresholds 0, 0.05, …, 1.0 (computed as 0.05·i, as the reference does).
AUC_POINTS = 21


def box_masks(boxes: np.ndarray, size: int = GRID) -> np.ndarray:
    """Rasterise K boxes `[x, y, w, h]` (grid pixels) to K binary masks `(K, size, size)` (bool)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x0 = np.floor(boxes[:, 0])
    y0 = np.floor(boxes[:, 1])
    x1 = np.floor(boxes[:, 0] + boxes[:, 2])
    y1 = np.floor(boxes[:, 1] + boxes[:, 3])
    grid = np.arange(size)
    rows = (grid >= y0[:, None]) & (grid < y1[:, None])  # (K, size)
    cols = (grid >= x0[:, None]) & (grid < x1[:, None])  # (K, size)
    return rows[:, :, None] & cols[:, None, :]  # (K, size, size)


def consensus_map(boxes: np.ndarray, size: int = GRID, annotators_for_full: float = 2.0) -> np.ndarray:
    """Consensus ground truth of §5.2: count of boxes covering each pixel / 2, clipped at 1 → values {0, 0.5, 1}."""
    counts = box_masks(boxes, size).sum(axis=0, dtype=np.float64)  # (size, size)
    return np.minimum(counts / annotators_for_full, 1.0)


def union_map(boxes: np.ndarray, size: int = GRID) -> np.ndarray:
    """Binary ground truth of §5.4 and of the multi-source protocol: 1 inside any box."""
    return box_masks(boxes, size).any(axis=0).astype(np.float64)  # (size, size)


def binarise(maps: np.ndarray, threshold: float, relative: bool = True, inclusive: bool = False) -> np.ndarray:
    """Predicted region P of each map `(N, H, W)`.

    relative: compare against `threshold · max(map)` after clipping negatives to 0 (the reference's max-normalised
    maps, §5.2 new/main.py with τ = 0.5, and §5.4's `> 0.1·max`). A map whose maximum is ≤ 0 predicts nothing.
    inclusive: `≥` instead of the reference's strict `>` (original gtscore.py used `≥ 0.1`).
    """
    maps = np.asarray(maps, dtype=np.float64)
    if relative:
        maps = np.clip(maps, 0.0, None)
        peak = maps.reshape(len(maps), -1).max(axis=1)  # (N,)
        safe = np.where(peak > 0, peak, 1.0)
        maps = np.where((peak > 0)[:, None, None], maps / safe[:, None, None], 0.0)
        if not inclusive:
            # Exact reference semantics for relative thresholds: L/max > τ.
            return maps > threshold
        return (maps >= threshold) & (peak > 0)[:, None, None]
    return maps >= threshold if inclusive else maps > threshold


def ciou(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """cIoU of §5.2 for binary predictions `(N, H, W)` against ground truth maps `(N, H, W)` with values in [0, 1].

    cIoU = Σ_{p∈P} G(p) / (Σ_p G(p) + |{p ∈ P : G(p) = 0}|). Items whose ground truth is empty are an error of the
    caller (they carry no box); they raise instead of giving 0/0.
    """
    pred = np.asarray(pred, dtype=bool)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction shape {pred.shape} != ground-truth shape {gt.shape}")
    flat_p = pred.reshape(len(pred), -1)
    flat_g = gt.reshape(len(gt), -1)
    hit = (flat_g * flat_p).sum(axis=1)
    false_pos = (flat_p & (flat_g == 0)).sum(axis=1)
    total = flat_g.sum(axis=1)
    if np.any(total <= 0):
        raise ValueError(f"{int(np.sum(total <= 0))} item(s) have an empty ground-truth map")
    return hit / (total + false_pos)


def success_rate(cious: np.ndarray, threshold: float = 0.5) -> float:
    """Fraction of items with cIoU ≥ threshold (the papers' "cIoU@0.5")."""
    cious = _check_scores(cious)
    return float(np.mean(cious >= threshold))


def auc(cious: np.ndarray, n_points: int = AUC_POINTS) -> float:
    """Area under the success-rate curve over cIoU thresholds 0, 1/(n−1), …, 1 (trapezoidal; §5.2)."""
    cious = _check_scores(cious)
    step = 1.0 / (n_points - 1)
    thresholds = step * np.arange(n_points)  # (n_points,) — 0.05·i in floating point, as the reference
    rates = (cious[None, :] >= thresholds[:, None]).mean(axis=1)
    return float(np.sum(step * (rates[:-1] + rates[1:]) / 2.0))


def summarise(cious: np.ndarray, success_threshold: float = 0.5) -> dict[str, float]:
    """`success_rate`, `auc` and `mean_ciou` of a set of per-item cIoUs."""
    return {
        "success_rate": success_rate(cious, success_threshold),
        "auc": auc(cious),
        "mean_ciou": float(np.mean(_check_scores(cious))),
    }


def binarise_top_half(maps: np.ndarray, rule: str = "ge") -> np.ndarray:
    """Predicted region of the LVS family: min-max normalise each map `(N, H, W)`, t = its value at sorted index
    ⌊H·W/2⌋ (ascending), then one of the three comparisons the public codes use:

    ge:        L ≥ t (EZ-VSL, SLAVC `--relative_prediction`, FNAC: `cal_CIOU(pred, gt, t)` keeps `infer >= t`);
    gt_or_max: L > t, plus the map's maximum (LVS: `pred[pred > t] = 1; pred[pred < 1] = 0`, then `≥ 0.5`);
    gt:        L > t (IS3 / SSL-Align's `Evaluator_iiou.cal_CIOU` keeps `infer > t`).
    A constant map is left as it is by the reference normalisation and predicts per the same comparisons.
    """
    maps = np.asarray(maps, dtype=np.float64)
    flat = maps.reshape(len(maps), -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    span = high - low
    flat = np.where((span > 0)[:, None], (flat - low[:, None]) / np.where(span > 0, span, 1.0)[:, None], flat)
    t = np.sort(flat, axis=1)[:, flat.shape[1] // 2][:, None]  # (N, 1)
    if rule == "ge":
        pred = flat >= t
    elif rule == "gt_or_max":
        pred = (flat > t) | (flat == 1.0)
    elif rule == "gt":
        pred = flat > t
    else:
        raise ValueError(f"unknown top-half rule '{rule}'")
    return pred.reshape(maps.shape)


def top_quarter_confidence(raw: np.ndarray) -> np.ndarray:
    """SLAVC's per-item confidence: mean of the ⌊n/4⌋ largest values of each un-normalised map `(N, H, W)` → (N,)."""
    flat = np.sort(np.asarray(raw, dtype=np.float64).reshape(len(raw), -1), axis=1)
    return flat[:, -(flat.shape[1] // 4):].mean(axis=1)


def precision_recall(confidence: np.ndarray, positive: np.ndarray, hit: np.ndarray,
                     thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SLAVC's detection-style precision and recall at each confidence threshold (items with confidence ≥ t fire).

    A firing positive is a true positive if localised (`hit`: cIoU ≥ 0.5), else a false positive; a firing negative
    is a false positive; a silent positive is a false negative. P = 1 (R = 1) when its denominator is 0.
    """
    conf = np.asarray(confidence, dtype=np.float64)
    positive, hit = np.asarray(positive, bool), np.asarray(hit, bool) & np.asarray(positive, bool)
    t = np.asarray(thresholds, dtype=np.float64)[:, None]
    fires = conf[None, :] >= t  # (T, N)
    tp = (fires & hit).sum(axis=1)
    fp = (fires & ~hit).sum(axis=1)
    fn = (~fires & positive).sum(axis=1)
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 1.0)
    recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 1.0)
    return precision, recall


def average_precision(confidence, positive, hit, legacy: bool = False) -> float:
    """Area under the interpolated precision–recall curve over items.

    Default: every distinct confidence is a threshold (highest first), recall starts from 0 and precision is
    interpolated as the best precision at any higher recall (the all-point definition).
    legacy: SLAVC's `calc_ap` as released: thresholds = sorted confidences without the largest, every ⌈N/200⌉-th
    from the top; the recall gained up to the first threshold is not counted.
    """
    conf = np.asarray(confidence, dtype=np.float64)
    if legacy:
        thresholds = np.sort(conf)[:-1][:: -max(1, len(conf) // 200)]
        precision, recall = precision_recall(conf, positive, hit, thresholds)
        best = np.maximum.accumulate(precision[::-1])[::-1]
        return float(np.sum(best[:-1] * np.diff(recall)))
    thresholds = np.unique(conf)[::-1]
    precision, recall = precision_recall(conf, positive, hit, thresholds)
    best = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * best))


def max_f1(confidence, positive, hit, legacy: bool = False) -> float:
    """Best F1 over confidence thresholds: every distinct confidence, or (legacy, SLAVC `finalize_stats`) every
    ⌊N/10⌋-th sorted confidence."""
    conf = np.asarray(confidence, dtype=np.float64)
    thresholds = np.sort(conf)[:: max(1, len(conf) // 10)] if legacy else np.unique(conf)
    precision, recall = precision_recall(conf, positive, hit, thresholds)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0.0)
    return float(f1.max())


def share_above(maps: np.ndarray, threshold: float) -> np.ndarray:
    """Fraction of each map's pixels `(N, H, W)` strictly above an absolute threshold → (N,)."""
    maps = np.asarray(maps, dtype=np.float64)
    return (maps.reshape(len(maps), -1) > threshold).mean(axis=1)


def upsample(maps: np.ndarray, size: int = GRID) -> np.ndarray:
    """Bilinear resize (align_corners=False) of maps `(N, S, S)` → `(N, size, size)` float32."""
    tensor = torch.as_tensor(np.asarray(maps, dtype=np.float32))
    if tensor.shape[-2:] == (size, size):
        return tensor.numpy()
    out = F.interpolate(tensor[:, None], size=(size, size), mode="bilinear", align_corners=False)
    return out[:, 0].numpy()


def centre_prior(size: int = GRID, sigma: float = 0.25) -> np.ndarray:
    """Centre Gaussian baseline `(size, size)`: exp(−d²/2σ²), σ a fraction of the side, peak 1 at the centre."""
    coords = (np.arange(size) + 0.5) / size - 0.5
    d2 = coords[:, None] ** 2 + coords[None, :] ** 2
    return np.exp(-d2 / (2.0 * sigma**2))


def _check_scores(cious: np.ndarray) -> np.ndarray:
    cious = np.asarray(cious, dtype=np.float64).ravel()
    if cious.size == 0:
        raise ValueError("no items to score")
    if np.any(~np.isfinite(cious)):
        raise ValueError(f"{int(np.sum(~np.isfinite(cious)))} non-finite cIoU value(s)")
    return cious
