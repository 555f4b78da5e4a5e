"""Class-agnostic box proposals per frame: the reference's 8 RoIs (docs/method.md §1.4), from a COCO detector.

Backends:
- `yolo-fastest`: YOLO-Fastest 1.1 XL (darknet cfg + weights) through OpenCV's DNN module at 320x320;
  the box score is the objectness.
- `faster-rcnn`: torchvision's `fasterrcnn_resnet50_fpn` or `fasterrcnn_mobilenet_v3_large_fpn` from a state dict;
  the box score is the best class score of the detection head.
Boxes of all classes are pooled, suppressed with one class-agnostic NMS and cut to the top K; rows with fewer boxes
are zero-padded (score 0). Coordinates are [x1, y1, x2, y2] normalised to [0, 1].
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torchvision.ops import nms

from msl_core.config import default
from msl_core.errors import BadInput, ConfigError
from msl_core.stores.frames import RepeatedFrames
from msl_core.stores.hdf5 import H5Rows

log = logging.getLogger(__name__)

FASTER_RCNN_ARCHS = ("resnet50_fpn", "mobilenet_v3_large_fpn")


@dataclass(frozen=True)
class ProposalConfig:
    """The `proposals:` config section."""

    backend: str = default("proposals.backend")
    top_k: int = default("proposals.top_k")
    nms_iou: float = default("proposals.nms_iou")
    min_score: float = default("proposals.min_score")
    yolo_cfg: str | None = None
    yolo_weights: str | None = None
    yolo_size: int = default("proposals.yolo_size")
    faster_rcnn_weights: str | None = None
    faster_rcnn_arch: str = default("proposals.faster_rcnn_arch")

    def __post_init__(self) -> None:
        if self.faster_rcnn_arch not in FASTER_RCNN_ARCHS:
            raise ConfigError("proposals.faster_rcnn_arch", f"'{self.faster_rcnn_arch}' is not one of {FASTER_RCNN_ARCHS}")
        if self.top_k < 1:
            raise ConfigError("proposals.top_k", f"must be >= 1, got {self.top_k}")
        if not 0.0 < self.nms_iou <= 1.0:
            raise ConfigError("proposals.nms_iou", f"must be in (0, 1], got {self.nms_iou}")

    @classmethod
    def from_config(cls, section: dict, **overrides) -> ProposalConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in {**section, **overrides}.items() if k in known})


def top_k_nms(boxes: np.ndarray, scores: np.ndarray, k: int, iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Class-agnostic NMS then the k best: (M, 4), (M,) -> (k, 4), (k,), zero-padded."""
    out_boxes, out_scores = np.zeros((k, 4), np.float32), np.zeros(k, np.float32)
    if len(boxes):
        keep = nms(torch.as_tensor(boxes, dtype=torch.float32), torch.as_tensor(scores, dtype=torch.float32), iou)
        keep = keep[:k].numpy()
        out_boxes[:len(keep)], out_scores[:len(keep)] = boxes[keep], scores[keep]
    return out_boxes, out_scores


def _darknet_sections(cfg_path: Path) -> list[tuple[str, dict[str, str]]]:
    sections: list[tuple[str, dict[str, str]]] = []
    for raw in cfg_path.read_text().splitlines():
        line = raw.split("#")[0].strip()
        if line.startswith("["):
            sections.append((line.strip("[]"), {}))
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1][1][key.strip()] = value.strip()
    return sections


def darknet_parameter_count(cfg_path: str | Path) -> int:
    """Float32 values a darknet .weights file must hold for this .cfg (conv weights + BN or bias), after the header.

    OpenCV reads a truncated file without complaint (missing weights stay zero), so we check the size ourselves.
    """
    sections = _darknet_sections(Path(cfg_path))
    if not sections or sections[0][0] != "net":
        raise BadInput(cfg_path, "not a darknet .cfg (no [net] section first)")
    channels: list[int] = []  # output channels of each layer
    current, total = int(sections[0][1].get("channels", 3)), 0
    for kind, opts in sections[1:]:
        if kind == "convolutional":
            filters, size, groups = int(opts["filters"]), int(opts.get("size", 1)), int(opts.get("groups", 1))
            total += filters * (current // groups) * size * size
            total += 4 * filters if int(opts.get("batch_normalize", 0)) else filters
            current = filters
        elif kind == "route":
            layers = [int(v) for v in opts["layers"].split(",")]
            current = sum(channels[v if v >= 0 else len(channels) + v] for v in layers)
        channels.append(current)
    return total


def check_darknet_weights(cfg_path: str | Path, weights_path: str | Path) -> None:
    expected = darknet_parameter_count(cfg_path)
    with open(weights_path, "rb") as handle:
        major, minor = np.frombuffer(handle.read(8), np.int32)
    header = 20 if major * 10 + minor >= 2 else 16  # `seen` became int64 in darknet 0.2
    actual = (Path(weights_path).stat().st_size - header) // 4
    if actual != expected:
        raise BadInput(weights_path, f"holds {actual} weights, {Path(cfg_path).name} needs {expected} "
                                     "(truncated, or weights of another network)")


class YoloFastest:
    """YOLO-Fastest through OpenCV DNN: RGB uint8 (H, W, 3) -> boxes (M, 4) normalised, objectness (M,)."""

    def __init__(self, cfg_path: str | Path, weights_path: str | Path, size: int = 320) -> None:
        import cv2

        for path, what in ((cfg_path, "darknet .cfg"), (weights_path, "darknet .weights")):
            if not path or not Path(path).is_file():
                raise BadInput(str(path), f"YOLO-Fastest {what} weights file not found" if what.endswith("weights") else f"YOLO-Fastest {what} file not found")
        check_darknet_weights(cfg_path, weights_path)
        try:
            self.net = cv2.dnn.readNetFromDarknet(str(cfg_path), str(weights_path))
        except cv2.error as exc:
            raise BadInput(weights_path, f"OpenCV cannot load it with {cfg_path} as YOLO-Fastest "
                                         f"({str(exc).strip().splitlines()[-1]})") from exc
        if self.net.empty():
            raise BadInput(weights_path, "OpenCV loaded an empty network")
        self.outputs = self.net.getUnconnectedOutLayersNames()
        self.size = size
        self.weights_path = str(weights_path)

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        blob = cv2.dnn.blobFromImage(frame, 1 / 255.0, (self.size, self.size), swapRB=False, crop=False)
        self.net.setInput(blob)
        try:
            rows = np.concatenate([out.reshape(-1, out.shape[-1]) for out in self.net.forward(self.outputs)])
        except cv2.error as exc:
            raise BadInput(self.weights_path, f"YOLO-Fastest forward pass failed ({str(exc).strip()[-200:]})") from exc
        centre, size, objectness = rows[:, 0:2], rows[:, 2:4], rows[:, 4]
        boxes = np.clip(np.concatenate([centre - size / 2, centre + size / 2], axis=1), 0.0, 1.0)
        return boxes.astype(np.float32), objectness.astype(np.float32)


class FasterRCNNProposer:
    """torchvision Faster R-CNN from a state dict: RGB uint8 (H, W, 3) -> boxes (M, 4) normalised, scores (M,)."""

    def __init__(self, weights_path: str | Path, arch: str = "resnet50_fpn", device="cpu") -> None:
        from torchvision.models import detection

        from msl_core.weights import load_state_dict_file, load_strict

        if not weights_path:
            raise ConfigError("proposals.faster_rcnn_weights", "the faster-rcnn backend needs a state dict file")
        if not Path(weights_path).is_file():
            raise BadInput(weights_path, "Faster R-CNN weights file not found")
        builder = {"resnet50_fpn": detection.fasterrcnn_resnet50_fpn,
                   "mobilenet_v3_large_fpn": detection.fasterrcnn_mobilenet_v3_large_fpn}[arch]
        state = load_state_dict_file(weights_path)
        num_classes = state["roi_heads.box_predictor.cls_score.bias"].shape[0] \
            if "roi_heads.box_predictor.cls_score.bias" in state else 91
        # Low thresholds and many detections: proposals are class-agnostic and cut to K after our own NMS.
        model = builder(weights=None, weights_backbone=None, num_classes=num_classes, box_score_thresh=0.0,
                        box_detections_per_img=100)
        load_strict(model, state, weights_path, what=f"fasterrcnn_{arch}")
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)

    @torch.no_grad()
    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = frame.shape[:2]
        x = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).float().div(255).to(self.device)
        out = self.model([x])[0]
        boxes = out["boxes"].cpu().numpy() / np.array([w, h, w, h], np.float32)
        return np.clip(boxes, 0.0, 1.0).astype(np.float32), out["scores"].cpu().numpy().astype(np.float32)


def propose(proposer, frame: np.ndarray, cfg: ProposalConfig) -> tuple[np.ndarray, np.ndarray]:
    """(K, 4) normalised boxes and (K,) scores of one RGB frame."""
    boxes, scores = proposer(frame)
    keep = scores >= cfg.min_score
    return top_k_nms(boxes[keep], scores[keep], cfg.top_k, cfg.nms_iou)


def frame_proposals(frames_path: str | Path, cfg: ProposalConfig, proposer) -> tuple[np.ndarray, np.ndarray]:
    """Proposals for every frame of frames.h5 by `proposer` (teachers.choices.make_proposer): boxes (N, K, 4),
    scores (N, K). A frame identical to an earlier one takes that frame's proposals (`RepeatedFrames`)."""
    frames = H5Rows(frames_path, "frames")
    boxes = np.zeros((len(frames), cfg.top_k, 4), np.float32)
    scores = np.zeros((len(frames), cfg.top_k), np.float32)
    repeats = RepeatedFrames()
    for i in range(len(frames)):
        frame = frames.data[i]
        first = repeats.first(i, frame)
        boxes[i], scores[i] = propose(proposer, frame, cfg) if first == i else (boxes[first], scores[first])
    return boxes, scores
