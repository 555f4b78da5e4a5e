"""The network as `msl locate` runs it: batch norms folded and stride-1 SAME pads moved into the convolution compute
the same function as the network as stored (MobileNetV2 and ResNet-18 backbones with non-trivial statistics)."""

from __future__ import annotations

import torch
from torch import nn

from msl_core.models.inference_rewrites import for_inference
from msl_core.models.mobilenet_v2 import Conv2dSame, MobileNetV2Features
from msl_core.models.trunks import ResNetBackbone


def _with_statistics(net: nn.Module) -> nn.Module:
    """Random batch-norm statistics and affine parameters (the released ones are trivial), in eval mode."""
    gen = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)
    return net.eval()


def test_mobilenet_folded_and_padded_in_the_convolution_is_the_same_function():
    torch.manual_seed(0)
    net = _with_statistics(MobileNetV2Features(dilated=True))
    x = torch.randn(2, 3, 64, 48)
    with torch.inference_mode():
        want = net(x)
        got = for_inference(net)(x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    same = [m for m in net.modules() if isinstance(m, Conv2dSame)]
    assert same and all(m.stride == (2, 2) for m in same)  # only stride 2 keeps TensorFlow's one-sided pad
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-5 * want.abs().max().item())


def test_resnet_folded_is_the_same_function():
    torch.manual_seed(0)
    net = _with_statistics(ResNetBackbone(1))
    x = torch.randn(2, 1, 51, 64)
    with torch.inference_mode():
        want = net(x)
        got = for_inference(net)(x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-5 * want.abs().max().item())
