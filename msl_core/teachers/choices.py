"""The teachers a config can choose (`labels.audio_source`, `labels.visual_source`, `labels.image_classifier`,
`proposals.backend`), each an entry that says what it reads; the label and proposal code and the workflow's input
functions ask the entry instead of comparing names. Plain data: the workflow plans from it without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msl_core.models.backbones import IMAGENET_MEAN, IMAGENET_STD
from msl_core.models.backbones.mobilenet_v2 import VISION as MOBILENET_V2
from msl_core.registry import Registry


@dataclass(frozen=True)
class LabelSource:
    """A source of audio or visual labels. `reads` ⊂ {tags: the index's tags; tagger: the AudioSet tagger on the
    audio; audio: the audio labels; frames, classifier: an image classifier on the frames; proposals: its crops}."""

    name: str
    reads: tuple[str, ...]


AUDIO_SOURCES: Registry[LabelSource] = Registry("audio label source", "labels.audio_source")
VISUAL_SOURCES: Registry[LabelSource] = Registry("visual label source", "labels.visual_source")
for _source in (LabelSource("tags", ("tags",)), LabelSource("audio_tagger", ("tagger",))):
    AUDIO_SOURCES.register(_source)
for _source in (LabelSource("tags", ("tags",)), LabelSource("image_classifier", ("frames", "classifier")),
                LabelSource("rois", ("frames", "classifier", "proposals")), LabelSource("from_audio", ("audio",))):
    VISUAL_SOURCES.register(_source)


@dataclass(frozen=True)
class ImageClassifierSpec:
    """An ImageNet classifier teacher: how it is loaded and fed, and where its weights come from."""

    name: str
    load: Callable[[str | Path], Any] = field(repr=False)  # weights file -> eval-mode network (N, 3, 224, 224)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    shipped: str | None = None  # workflow file converted from the shipped asset; else labels.image_classifier_weights
    background: bool = False  # its first logit is a background class (TF-slim's 1001), dropped


def _mobilenet_v2(weights):
    from msl_core.models.mobilenet_v2 import load_mobilenet_v2_classifier

    return load_mobilenet_v2_classifier(weights)


def _torchvision(name: str):
    def load(weights):
        import torchvision.models

        from msl_core.weights import load_state_dict_file, load_strict

        model = getattr(torchvision.models, name)()
        load_strict(model, load_state_dict_file(weights), weights, what=f"torchvision {name}")
        return model.eval()

    return load


IMAGE_CLASSIFIERS: Registry[ImageClassifierSpec] = Registry("image classifier", "labels.image_classifier")
for _classifier in (
    ImageClassifierSpec("mobilenet_v2", _mobilenet_v2, MOBILENET_V2.mean, MOBILENET_V2.std,
                        shipped=MOBILENET_V2.weights.shipped, background=True),
    ImageClassifierSpec("resnet18", _torchvision("resnet18"), IMAGENET_MEAN, IMAGENET_STD),
    ImageClassifierSpec("resnet50", _torchvision("resnet50"), IMAGENET_MEAN, IMAGENET_STD),
):
    IMAGE_CLASSIFIERS.register(_classifier)


@dataclass(frozen=True)
class ProposalBackend:
    """A box proposer: the `proposals:` keys whose files the rule reads (by rule input name), those it cannot run
    without, and its constructor (ProposalConfig, device) -> proposer (msl_core.teachers.proposals)."""

    name: str
    files: dict[str, str]
    required: tuple[str, ...]
    make: Callable[..., Any] = field(repr=False)


def _yolo(cfg, device):
    from msl_core.teachers.proposals import YoloFastest

    return YoloFastest(cfg.yolo_cfg, cfg.yolo_weights, cfg.yolo_size)


def _faster_rcnn(cfg, device):
    from msl_core.teachers.proposals import FasterRCNNProposer

    return FasterRCNNProposer(cfg.faster_rcnn_weights, cfg.faster_rcnn_arch, device)


PROPOSAL_BACKENDS: Registry[ProposalBackend] = Registry("proposal backend", "proposals.backend")
for _backend in (
    ProposalBackend("yolo-fastest", {"cfg": "yolo_cfg", "weights": "yolo_weights"}, (), _yolo),
    ProposalBackend("faster-rcnn", {"weights": "faster_rcnn_weights"}, ("faster_rcnn_weights",), _faster_rcnn),
):
    PROPOSAL_BACKENDS.register(_backend)


def make_proposer(cfg, device="cpu"):
    """The proposer of `cfg.backend` (a teachers.proposals.ProposalConfig); an unknown backend is a ConfigError
    naming the known ones."""
    return PROPOSAL_BACKENDS.get(cfg.backend).make(cfg, device)
