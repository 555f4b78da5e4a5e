"""ROI pseudo labels (docs/method.md §2.5, §3.2): the image teacher classifies each proposal crop, not the whole frame.

A frame holds several objects; a whole-frame classifier spreads its probability over them and over the background,
so the smaller objects never reach a label. The reference's original version classifies each of its 8 proposals
instead ("perform classification on each ROI region to improve the quality of pseudo labels"). Here each crop's
softmax mass on a category's ImageNet classes is that ROI's evidence, and the frame's visual label is the strongest
evidence over its ROIs: several objects give several categories, a background crop (whose classes belong to no
category) gives none.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from msl_core.stores.frames import RepeatedFrames
from msl_core.stores.hdf5 import H5Rows
from msl_core.stores.proposals import ProposalsStore

MIN_SIDE = 8  # pixels: a thinner proposal holds no recognisable object


def crop_boxes(frame: np.ndarray, boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(K, size, size, 3) uint8 crops of an RGB frame at normalised [x1, y1, x2, y2] boxes, and which boxes hold a
    crop (K,) bool: a degenerate box (a padded proposal slot) gives zeros and no evidence."""
    h, w = frame.shape[:2]
    crops = np.zeros((len(boxes), size, size, 3), np.uint8)
    valid = np.zeros(len(boxes), bool)
    for k, (x1, y1, x2, y2) in enumerate(np.clip(boxes, 0.0, 1.0)):
        left, top, right, bottom = round(x1 * w), round(y1 * h), round(x2 * w), round(y2 * h)
        if right - left >= MIN_SIDE and bottom - top >= MIN_SIDE:
            crops[k] = cv2.resize(frame[top:bottom, left:right], (size, size), interpolation=cv2.INTER_AREA)
            valid[k] = True
    return crops, valid


def roi_evidence(probs: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """probs (N, K, 1000) softmax per crop, membership (C, 1000) → (N, C): the largest category mass over the crops."""
    return (probs @ membership.T).max(axis=1).clip(0.0, 1.0).astype(np.float32)


def roi_labels(frames_path: str | Path, proposals_path: str | Path, classifier, membership: np.ndarray,
               batch_frames: int = 8) -> np.ndarray:
    """(N, C) visual labels: the ROI evidence of every stored frame (crops classified a few frames at a time, so
    memory stays (batch, K, 1000) however many frames the dataset has). A frame identical to an earlier one, with
    the same boxes, takes that frame's labels: a static shot repeats its picture every second, and the classifier
    gives a crop the same numbers in any batch (msl_core.training.trunk_cache, BATCH), so nothing changes."""
    from tqdm import tqdm

    from msl_core.teachers.image_classifier import INPUT_SIZE

    frames = H5Rows(frames_path, "frames")
    boxes = ProposalsStore(proposals_path).for_frames(len(frames)).read("boxes")
    n, k = boxes.shape[:2]
    labels = np.zeros((n, len(membership)), np.float32)
    repeats = RepeatedFrames()
    for start in tqdm(range(0, n, batch_frames), desc="ROI labels", unit="batch", mininterval=10):
        rows = np.arange(start, min(start + batch_frames, n))
        block = frames.data[rows[0]:rows[-1] + 1]
        source = repeats.sources(rows, block, boxes[rows])
        new = source == rows
        if new.any():
            crops, valid = map(np.concatenate, zip(*(crop_boxes(f, b, INPUT_SIZE) for f, b in zip(block[new], boxes[rows[new]]))))
            probs = classifier(crops, whole=True) * valid[:, None]
            labels[rows[new]] = roi_evidence(probs.reshape(int(new.sum()), k, -1), membership)
        labels[rows[~new]] = labels[source[~new]]
    return labels
