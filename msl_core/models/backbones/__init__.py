"""The backbones a config can name (`datasets.<ds>.vision_backbone`, `model.audio_backbone`), one module each.

Each module registers a `Backbone`: what the rest of msl needs to know about it without building it — channels and
stride of its feature map, the input normalisation (vision), the front end it reads (audio), where its starting
weights come from — and `build`, which makes the network (msl_core.models.trunks). The modules stay torch-free at
import, because the workflow plans from these entries. Adding a backbone is one module here plus its test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msl_core.registry import Registry

# torchvision's ImageNet input normalisation (docs/method.md §1.2), in [0, 1] units.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Weights:
    """Where a backbone's starting weights come from; neither field set: trained from scratch (the reference's
    audio ResNet-18)."""

    key: str | None = None  # config key naming the user's file (e.g. model.resnet18_weights)
    shipped: str | None = None  # workflow file converted from the shipped assets (e.g. by rule convert_mobilenet)

    @property
    def pretrained(self) -> bool:
        return bool(self.key or self.shipped)


@dataclass(frozen=True)
class Backbone:
    """A registered backbone. `build(weights, warn_random=...)` returns a trunk with `out_channels` and `stages`
    (msl_core.models.trunks); `weights` is the file its `Weights` point at, or None for random weights."""

    name: str
    modality: str  # vision | audio
    build: Callable[..., Any] = field(repr=False)
    channels: int  # D of the (N, D, H/stride, W/stride) feature map
    stride: int = 16
    weights: Weights = Weights()
    mean: tuple[float, float, float] | None = None  # vision: RGB input normalisation, [0, 1] units
    std: tuple[float, float, float] | None = None
    stages: int | None = None  # vision: how many leading stages `model.freeze_vision_stages` may freeze
    front_end: str | None = None  # audio: the log-mel it reads (msl_core.spectrogram FRONT_ENDS)


VISION_BACKBONES: Registry[Backbone] = Registry("vision backbone", "datasets.<ds>.vision_backbone", __name__)
AUDIO_BACKBONES: Registry[Backbone] = Registry("audio backbone", "model.audio_backbone", __name__)
_BY_MODALITY = {"vision": VISION_BACKBONES, "audio": AUDIO_BACKBONES}


def register(backbone: Backbone) -> Backbone:
    return _BY_MODALITY[backbone.modality].register(backbone)


def vision_backbone(name: str) -> Backbone:
    return VISION_BACKBONES.get(name)


def audio_backbone(name: str) -> Backbone:
    return AUDIO_BACKBONES.get(name)


def build_vision_backbone(name: str, weights: str | Path | None, *, warn_random: bool = True):
    """The vision trunk `name`, from `weights` (random when None; `warn_random=False` when a checkpoint is about
    to replace them anyway)."""
    return vision_backbone(name).build(weights, warn_random=warn_random)


def build_audio_backbone(name: str = "resnet18", weights: str | Path | None = None):
    """The audio trunk `name`; a pretrained one starts from `weights` (random when None, e.g. when a checkpoint
    replaces the weights anyway)."""
    return audio_backbone(name).build(weights, warn_random=False)
