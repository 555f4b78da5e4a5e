"""ImageNet classifiers as visual teachers: stored 256x256 frames -> (N, 1000) class probabilities.

`mobilenet_v2` (default) runs the converted tflite MobileNetV2 (`results/weights/mobilenet_v2_imagenet.pt`), whose
background logit is dropped; `resnet18`/`resnet50` run torchvision's models from a user's ImageNet state dict (the
reference used ResNet-50, docs/method.md §2.4). Each frame is centre-cropped to 87.5 % (224 of 256) — the evaluation
crop both model families were published with — and normalised the way each was trained.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from msl_core.errors import ConfigError
from msl_core.models.inference_rewrites import for_inference
from msl_core.teachers.choices import IMAGE_CLASSIFIERS

CLASSIFIERS = IMAGE_CLASSIFIERS.names()
CROP_FRACTION = 0.875
INPUT_SIZE = 224


class ImageClassifier:
    """Frames uint8 (N, H, W, 3) RGB -> softmax probabilities (N, 1000) over the ImageNet classes (torchvision order)."""

    def __init__(self, name: str, weights: str | Path | None, device: torch.device | str = "cpu") -> None:
        self.spec = IMAGE_CLASSIFIERS.get(name)
        if not weights:
            raise ConfigError("labels.image_classifier_weights", f"{name} needs a weights file (no random weights)")
        self.name, self.device = name, torch.device(device)
        self.model = for_inference(self.spec.load(weights).to(self.device))  # batch norms folded: same function
        self.mean = torch.tensor(self.spec.mean, device=self.device)[:, None, None]
        self.std = torch.tensor(self.spec.std, device=self.device)[:, None, None]

    def _prepare(self, frames: np.ndarray, whole: bool) -> Tensor:  # (B, H, W, 3) uint8 -> (B, 3, 224, 224)
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        h, w = x.shape[-2:]
        fraction = 1.0 if whole else CROP_FRACTION
        ch, cw = round(h * fraction), round(w * fraction)
        top, left = (h - ch) // 2, (w - cw) // 2
        x = x[:, :, top:top + ch, left:left + cw]
        if (ch, cw) != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std

    @torch.no_grad()
    def __call__(self, frames: np.ndarray, batch_size: int = 32, whole: bool = False) -> np.ndarray:
        """`whole`: classify the whole image (an ROI crop already framed on its object), not its central 87.5 %."""
        out = []
        for start in range(0, len(frames), batch_size):
            logits = self.model(self._prepare(frames[start:start + batch_size], whole))
            if self.spec.background:
                logits = logits[:, 1:]  # drop the background class
            out.append(torch.softmax(logits, dim=1).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, 1000), np.float32)
