"""Box proposals: YOLO-Fastest on rendered demo frames against their ground-truth boxes, Faster R-CNN's path."""

from __future__ import annotations

from pathlib import Path

import cv2
import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn
from torchvision.ops import box_iou

from msl_core.errors import BadInput, ConfigError
from msl_core.scenes.compose import object_boxes, render_frame, sample_scene
from msl_core.scenes.config import ScenesConfig
from msl_core.scenes.stamps import load_stamp
from msl_core.stores.proposals import ProposalsStore, write_proposals
from msl_core.teachers.choices import make_proposer
from msl_core.teachers.proposals import (
    ProposalConfig,
    frame_proposals,
    propose,
    top_k_nms,
)
from support.stamps import write_catalogue


def recall_at_iou(proposals: np.ndarray, truth: np.ndarray, iou: float) -> float:
    """Fraction of ground-truth boxes (G, 4) matched by some proposal (K, 4) with IoU >= iou."""
    overlap = box_iou(torch.from_numpy(truth).float(), torch.from_numpy(proposals).float()).numpy()
    return float((overlap.max(axis=1, initial=0.0) >= iou).mean())


@pytest.fixture(scope="module")
def yolo_cfg(assets) -> ProposalConfig:
    return ProposalConfig(yolo_cfg=str(assets / "weights/yolo-fastest-1.1-xl.cfg"),
                          yolo_weights=str(assets / "weights/yolo-fastest-1.1-xl.weights"))


@pytest.fixture(scope="module")
def demo_frames(tmp_path_factory) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rendered 256x256 demo frames (one stamp per class) with their visible-object boxes, normalised."""
    catalogue = pd.read_csv(write_catalogue(tmp_path_factory.mktemp("catalogue")))
    stamps = [load_stamp(row, 22050) for _, row in catalogue.groupby("class").head(1).iterrows()]
    by_name, cfg, rng = {s.name: s for s in stamps}, ScenesConfig(), np.random.default_rng(0)
    out = []
    for _ in range(10):
        chosen = [stamps[i] for i in rng.choice(len(stamps), 3, replace=False)]
        frame, labels = render_frame(sample_scene(rng, "c", "test", chosen, cfg), by_name, cfg.width, cfg.height)
        scale = np.array([cfg.width, cfg.height, cfg.width, cfg.height], np.float32)
        truth = np.array([[x, y, x + w, y + h] for entry in object_boxes(labels, 3) if entry
                          for x, y, w, h in [entry[0]]], np.float32) / scale
        out.append((cv2.resize(frame, (256, 256), interpolation=cv2.INTER_LINEAR), truth))
    return out


def test_yolo_fastest_recall_on_demo_frames(yolo_cfg, demo_frames):
    proposer = make_proposer(yolo_cfg)
    recalls = []
    for frame, truth in demo_frames:
        boxes, scores = propose(proposer, frame, yolo_cfg)
        assert boxes.shape == (8, 4) and scores.shape == (8,)
        assert (boxes >= 0).all() and (boxes <= 1).all() and (np.diff(scores) <= 0).all()
        recalls.append(recall_at_iou(boxes, truth, 0.5))
    recall = float(np.mean(recalls))
    print(f"YOLO-Fastest recall@8 (IoU 0.5) on {len(recalls)} demo frames: {recall:.2f}")
    assert recall >= 0.5  # measured 0.73 on these 10 frames (0.82 on 20)


def test_frames_h5_to_proposals_h5(tmp_path, yolo_cfg, demo_frames):
    frames_path = tmp_path / "frames.h5"
    with h5py.File(frames_path, "w") as h5:
        h5["frames"] = np.stack([f for f, _ in demo_frames[:3]])
        h5["second"] = np.arange(3, dtype=np.int32)
    five = ProposalConfig(**{**yolo_cfg.__dict__, "top_k": 5})
    boxes, scores = frame_proposals(frames_path, five, make_proposer(five))
    assert boxes.shape == (3, 5, 4) and scores.shape == (3, 5)
    index = pd.DataFrame({"clip_id": ["c"] * 3, "second": range(3), "split": ["test"] * 3})
    write_proposals(tmp_path / "proposals.h5", boxes, scores, index)
    stored = ProposalsStore(tmp_path / "proposals.h5")
    assert stored.shape("boxes") == (3, 5, 4) and stored.index_table()["second"].tolist() == [0, 1, 2]


def test_a_repeated_picture_is_proposed_once(tmp_path, yolo_cfg, demo_frames):
    """A static shot: the same picture every second gets the detector once and the same boxes on every row."""
    a, b = demo_frames[0][0], demo_frames[1][0]
    with h5py.File(tmp_path / "frames.h5", "w") as h5:
        h5["frames"] = np.stack([a, a, b, a, b])
    detector, seen = make_proposer(yolo_cfg), []
    counting = lambda frame: seen.append(frame) or detector(frame)  # the real detector, counted
    boxes, scores = frame_proposals(tmp_path / "frames.h5", yolo_cfg, counting)
    assert len(seen) == 2 and not np.array_equal(boxes[0], boxes[2])
    for row, picture in enumerate((a, a, b, a, b)):  # every row: what the detector gives its picture on its own
        expected = propose(detector, picture, yolo_cfg)
        assert np.array_equal(boxes[row], expected[0]) and np.array_equal(scores[row], expected[1])


def test_top_k_nms_pads_and_suppresses():
    boxes = np.array([[0, 0, 0.5, 0.5], [0, 0, 0.5, 0.49], [0.5, 0.5, 1, 1]], np.float32)
    kept, scores = top_k_nms(boxes, np.array([0.9, 0.8, 0.7], np.float32), k=4, iou=0.5)
    assert scores.tolist() == pytest.approx([0.9, 0.7, 0.0, 0.0])
    assert kept[1].tolist() == [0.5, 0.5, 1, 1] and not kept[2:].any()


def test_faster_rcnn_path_with_saved_random_weights(tmp_path, demo_frames, small_threads):
    torch.manual_seed(0)
    model = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, num_classes=3)
    path = tmp_path / "frcnn.pt"
    torch.save(model.state_dict(), path)
    cfg = ProposalConfig(backend="faster-rcnn", faster_rcnn_weights=str(path), faster_rcnn_arch="mobilenet_v3_large_fpn",
                         min_score=0.0)
    boxes, _ = propose(make_proposer(cfg), demo_frames[0][0], cfg)
    assert boxes.shape == (8, 4) and (boxes >= 0).all() and (boxes <= 1).all()
    wrong = ProposalConfig(backend="faster-rcnn", faster_rcnn_weights=str(path), faster_rcnn_arch="resnet50_fpn")
    with pytest.raises(BadInput, match=r"frcnn\.pt: state dict has \d+ keys, fasterrcnn_resnet50_fpn expects"):
        make_proposer(wrong)


def test_bad_configuration_and_files(tmp_path, yolo_cfg):
    with pytest.raises(ConfigError, match="proposals.backend"):
        make_proposer(ProposalConfig(backend="ssd"))
    with pytest.raises(BadInput, match="weights file not found"):
        make_proposer(ProposalConfig(**{**yolo_cfg.__dict__, "yolo_weights": str(tmp_path / "none.weights")}))
    truncated = tmp_path / "yolo.weights"
    truncated.write_bytes(Path(yolo_cfg.yolo_weights).read_bytes()[:100_000])
    with pytest.raises(BadInput, match=r"yolo\.weights: holds \d+ weights, yolo-fastest-1.1-xl.cfg needs 923486"):
        make_proposer(ProposalConfig(**{**yolo_cfg.__dict__, "yolo_weights": str(truncated)}))
