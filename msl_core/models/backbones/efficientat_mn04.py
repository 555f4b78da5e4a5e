"""EfficientAT's AudioSet-pretrained MobileNetV3 (width 0.4) as the audio backbone, from the tagger release at
`model.efficientat_weights`, reading the tagger's own 128-band front end (msl_core.models.trunks
`EfficientATBackbone`)."""

from __future__ import annotations

from msl_core.models.backbones import Backbone, Weights, register


def _build(weights, *, warn_random: bool = False):
    from msl_core.models.trunks import efficientat_trunk

    return efficientat_trunk(weights)


AUDIO = register(Backbone("efficientat_mn04", "audio", _build, channels=384,
                          weights=Weights(key="model.efficientat_weights"), front_end="efficientat"))
