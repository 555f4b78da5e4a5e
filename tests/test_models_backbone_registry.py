"""The backbone registry: every registered entry describes the network its `build` makes, and resolves its weights,
normalisation and front end without torch (the workflow plans from it)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from msl_core.errors import ConfigError
from msl_core.models.backbones import AUDIO_BACKBONES, VISION_BACKBONES, audio_backbone, vision_backbone
from msl_core.spectrogram import FRONT_ENDS, front_end

ENTRIES = [*VISION_BACKBONES, *AUDIO_BACKBONES]


@pytest.fixture(autouse=True)
def _threads(small_threads):
    torch.manual_seed(0)


@pytest.mark.parametrize("spec", ENTRIES, ids=lambda s: f"{s.modality}-{s.name}")
def test_entry_describes_the_network_it_builds(spec):
    net = spec.build(None, warn_random=False).eval()
    x = torch.randn(1, 3, 64, 96) if spec.modality == "vision" else torch.randn(1, 1, 64, 96)
    with torch.no_grad():
        out = net(x)
    assert net.out_channels == spec.channels == out.shape[1]
    assert out.shape[2:] == (64 // spec.stride, 96 // spec.stride)
    if spec.modality == "vision":
        assert len(net.stages) == spec.stages
        assert len(spec.mean) == len(spec.std) == 3 and all(s > 0 for s in spec.std)
    else:
        assert spec.front_end in FRONT_ENDS


def test_weights_come_from_one_place():
    """Shipped (converted by the workflow) or a config key, never both; the from-scratch audio net needs neither."""
    for spec in ENTRIES:
        assert not (spec.weights.key and spec.weights.shipped), spec.name
    assert vision_backbone("mobilenet_v2").weights.shipped == "results/weights/mobilenet_v2_imagenet.pt"
    assert vision_backbone("resnet18").weights.key == "model.resnet18_weights"
    assert not audio_backbone("resnet18").weights.pretrained
    assert audio_backbone("efficientat_mn04").weights.key == "model.efficientat_weights"


def test_front_end_follows_the_audio_backbone():
    assert front_end("resnet18", {"n_mels": 128}).n_mels == 128  # the `audio:` section applies
    assert front_end("efficientat_mn04", {"n_mels": 64}).n_mels == 128  # the trunk's own, fixed


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ConfigError, match="model.audio_backbone.*vgg.*efficientat_mn04, resnet18"):
        audio_backbone("vgg")
    with pytest.raises(ConfigError, match="vision_backbone.*mobilenet_v2, resnet18"):
        vision_backbone("resnet50")


def test_registry_reads_without_torch():
    code = ("import sys; from msl_core.models.backbones import VISION_BACKBONES as V, AUDIO_BACKBONES as A; "
            "V.names(), A.names(); from msl_core.spectrogram import front_end; front_end('resnet18'); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
