"""Backbones: feature-map shapes (docs/method.md §1.6, §7.3), ImageNet loading, frozen stages and frozen folded BN."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from msl_core.errors import BadInput, ConfigError
from msl_core.models.backbones import build_audio_backbone, build_vision_backbone
from msl_core.models.trunks import MobileNetBackbone, ResNetBackbone, freeze_stages


@pytest.fixture(autouse=True)
def _threads(small_threads):
    torch.manual_seed(0)


def test_vision_resnet_256_gives_512x16x16():
    net = ResNetBackbone(3).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 256, 256)).shape == (1, 512, 16, 16)


@pytest.mark.parametrize(("t", "expected"), [(251, (16, 4)), (51, (4, 4)), (501, (32, 4)), (20, (2, 4))])
def test_audio_resnet_any_length(t, expected):
    net = build_audio_backbone().eval()
    assert net.conv1.in_channels == 1
    with torch.no_grad():
        assert net(torch.randn(2, 1, t, 64)).shape == (2, 512, *expected)


def test_layer4_runs_at_stride_one_without_dilation():
    net = ResNetBackbone(3)
    assert net.layer4[0].conv1.stride == (1, 1) and net.layer4[0].conv1.dilation == (1, 1)
    assert net.layer3[0].conv1.stride == (2, 2)


def test_resnet_gradients_reach_the_stem():
    net = ResNetBackbone(1)
    net(torch.randn(2, 1, 51, 64)).sum().backward()
    assert net.conv1.weight.grad is not None and net.conv1.weight.grad.abs().sum() > 0


def test_loads_torchvision_imagenet_state_dict(tmp_path):
    reference = resnet18()
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    net = build_vision_backbone("resnet18", path)
    assert torch.equal(net.layer3[1].conv2.weight, reference.layer3[1].conv2.weight)
    assert torch.equal(net.bn1.running_var, reference.bn1.running_var)


def test_rejects_a_foreign_state_dict(tmp_path):
    path = tmp_path / "other.pth"
    torch.save(nn.Linear(3, 3).state_dict(), path)
    with pytest.raises(BadInput, match="other.pth"):
        build_vision_backbone("resnet18", path)
    (tmp_path / "broken.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(BadInput, match="broken.pth"):
        build_vision_backbone("resnet18", tmp_path / "broken.pth")
    with pytest.raises(ConfigError, match="resnet18_weights"):
        build_vision_backbone("resnet18", tmp_path / "missing.pth")


def test_random_init_is_warned(caplog):
    build_vision_backbone("resnet18", None)
    assert "random" in caplog.text


def test_unknown_backbone():
    with pytest.raises(ConfigError, match="vgg"):
        build_vision_backbone("vgg", None)


def test_freeze_stages_stops_gradients():
    net = ResNetBackbone(3)
    freeze_stages(net, 2)
    net(torch.randn(1, 3, 64, 64)).sum().backward()
    assert net.conv1.weight.grad is None and net.layer1[0].conv1.weight.grad is None
    assert net.layer2[0].conv1.weight.grad is not None
    with pytest.raises(ConfigError):
        freeze_stages(net, 6)


def test_mobilenet_backbone_shape_and_frozen_batch_norm():
    net = build_vision_backbone("mobilenet_v2", None)
    assert isinstance(net, MobileNetBackbone) and len(net.stages) == 19
    net.train()
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    before = bns[0].running_mean.clone()
    out = net(torch.randn(2, 3, 256, 256))
    assert out.shape == (2, 1280, 16, 16)
    assert torch.equal(bns[0].running_mean, before)


def test_efficientat_audio_backbone_starts_from_the_audioset_tagger(assets):
    from msl_core.teachers.efficientat import load_tagger

    weights = assets / "weights" / "efficientat_mn04_as_mAP_432.pt"
    net = build_audio_backbone("efficientat_mn04", weights).eval()
    tagger = load_tagger(weights)
    assert torch.equal(net.features[0][0].weight, tagger.features[0][0].weight)
    # (N, 1, T, 128) time first → stride 16 (the last stride-2 block at stride 1): 100 × 128 → 7 × 8.
    out = net(torch.zeros(2, 1, 100, 128))
    assert out.shape == (2, net.out_channels, 7, 8) and net.out_channels == 384
    net.train()
    assert not any(m.training for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_efficientat_front_end_is_the_taggers_own():
    import numpy as np

    from msl_core.spectrogram import EfficientATParams, transform
    from msl_core.teachers.efficientat import LogMelFrontEnd

    wave = np.random.default_rng(0).normal(0, 0.1, (2, 32000)).astype(np.float32)
    ours = transform(wave, EfficientATParams())
    assert ours.shape == (2, EfficientATParams().n_frames(1.0), 128) == (2, 100, 128)
    theirs = LogMelFrontEnd()(torch.from_numpy(wave))[:, 0].transpose(1, 2).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
