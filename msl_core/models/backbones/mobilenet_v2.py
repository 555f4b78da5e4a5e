"""The ImageNet MobileNetV2 converted from the shipped tflite release (msl_core.models.mobilenet_v2), last stage
dilated: 256×256 → 1280×16×16. Its weights are the workflow's conversion of the shipped asset (rule
convert_mobilenet), so it needs no user file."""

from __future__ import annotations

import logging

from msl_core.models.backbones import Backbone, Weights, register

log = logging.getLogger(__name__)


def _build(weights, *, warn_random: bool = True):
    from msl_core.models import mobilenet_v2 as mnv2
    from msl_core.models.trunks import MobileNetBackbone

    if weights is None:
        if warn_random:
            log.warning("no MobileNetV2 weights given: the vision MobileNetV2 starts from random weights")
        return MobileNetBackbone(mnv2.MobileNetV2Features(dilated=True))
    return MobileNetBackbone(mnv2.load_mobilenet_v2_features(weights))


# The TF-slim model was trained on (uint8 - 128) / 128; in [0, 1] units that is mean = std = 0.5.
VISION = register(Backbone("mobilenet_v2", "vision", _build, channels=1280,
                           weights=Weights(shipped="results/weights/mobilenet_v2_imagenet.pt"),
                           mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), stages=19))
