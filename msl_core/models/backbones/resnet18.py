"""ResNet-18, layer4 at stride 1 (docs/method.md §3.1): the reference's vision backbone (torchvision's ImageNet weights,
from `model.resnet18_weights`) and its audio backbone (1-channel stem, trained from scratch on the librosa log-mel).
"""

from __future__ import annotations

import logging

from msl_core.models.backbones import IMAGENET_MEAN, IMAGENET_STD, Backbone, Weights, register

log = logging.getLogger(__name__)


def _vision(weights, *, warn_random: bool = True):
    from msl_core.models.trunks import ResNetBackbone, load_resnet18_imagenet

    backbone = ResNetBackbone(3)
    if weights is None:
        if warn_random:
            log.warning("model.resnet18_weights is not set: the vision ResNet-18 starts from random weights")
    else:
        load_resnet18_imagenet(backbone, weights)
    return backbone


def _audio(weights, *, warn_random: bool = False):
    from msl_core.models.trunks import ResNetBackbone

    return ResNetBackbone(1)  # random init, as the reference trains it from scratch


VISION = register(Backbone("resnet18", "vision", _vision, channels=512, weights=Weights(key="model.resnet18_weights"),
                           mean=IMAGENET_MEAN, std=IMAGENET_STD, stages=5))
AUDIO = register(Backbone("resnet18", "audio", _audio, channels=512, front_end="librosa"))
