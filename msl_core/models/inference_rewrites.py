"""A network as inference runs it (`msl locate`, the image teacher), rewritten once at load for speed on CPU:

- every batch norm folded into the convolution before it (an eval-mode batch norm is an affine map per channel);
- the converted MobileNetV2's stride-1 "SAME" convolutions padded by the convolution itself (their padding is
  symmetric; only stride 2 needs TensorFlow's extra bottom/right pixel, so those keep their separate pad).

Both compute the same function: the outputs differ by float rounding (about 1e-6 relative), which the per-second
sources (rounded to 4 decimals) do not show. Together with one frame per forward pass (the 256×256 activations
then stay in cache) they cut the backbones' CPU time by about half (bench/locate_throughput.py); the image teacher classifies
1.65× as many crops per second.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn.utils import skip_init
from torch.nn.utils.fusion import fuse_conv_bn_weights
from torchvision.models.resnet import BasicBlock, Bottleneck

from msl_core.models.mobilenet_v2 import Conv2dSame
from msl_core.models.trunks import ResNetBackbone

# Modules whose forward applies bnK right after convK (the rest are folded only inside nn.Sequential).
_NAMED_PAIRS = (BasicBlock, Bottleneck, ResNetBackbone)


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """In place: conv → batch norm pairs become one convolution (and an Identity). Eval mode only."""
    for child in module.children():
        fold_batch_norms(child)
    pairs = []
    if isinstance(module, nn.Sequential):
        pairs = list(itertools.pairwise(name for name, _ in module.named_children()))
    elif isinstance(module, _NAMED_PAIRS):
        pairs = [(name, "bn" + name[4:]) for name, _ in module.named_children() if name.startswith("conv")]
    for conv, norm in pairs:
        a, b = getattr(module, conv), getattr(module, norm, None)
        if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
            a.weight, a.bias = fuse_conv_bn_weights(a.weight, a.bias, b.running_mean, b.running_var, b.eps, b.weight,
                                                    b.bias)
            setattr(module, norm, nn.Identity())
    return module


def pad_in_convolution(module: nn.Module) -> nn.Module:
    """In place: each stride-1 `Conv2dSame` becomes an `nn.Conv2d` with the same, symmetric, zero padding."""
    for name, child in module.named_children():
        if isinstance(child, Conv2dSame) and child.stride == (1, 1) and _symmetric(child):
            pad = [d * (k - 1) // 2 for d, k in zip(child.dilation, child.kernel_size, strict=True)]
            conv = skip_init(nn.Conv2d, child.in_channels, child.out_channels, child.kernel_size, 1, pad,
                             child.dilation, child.groups, child.bias is not None, device=child.weight.device,
                             dtype=child.weight.dtype)
            conv.load_state_dict(child.state_dict())
            setattr(module, name, conv)
        else:
            pad_in_convolution(child)
    return module


def _symmetric(conv: nn.Conv2d) -> bool:
    """At stride 1 "SAME" pads d·(k − 1) in all: the same on both sides when that is even."""
    return all(d * (k - 1) % 2 == 0 for d, k in zip(conv.dilation, conv.kernel_size, strict=True))


@torch.no_grad()
def for_inference(model: nn.Module) -> nn.Module:
    """The model in eval mode with both rewrites applied (in place), its convolution weights in channels-last
    memory like its inputs (`Locator` passes them so), which spares a reorder of every weight at every pass."""
    model.eval()
    return pad_in_convolution(fold_batch_norms(model)).to(memory_format=torch.channels_last)
