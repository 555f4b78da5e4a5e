"""Feature extractors: ResNet-18 (vision and audio, layer4 at stride 1), the converted MobileNetV2 and the
EfficientAT trunk. Which config value builds which trunk, with which weights: `msl_core.models.backbones`.

Every backbone maps its input to a (N, D, H, W) feature map and exposes:
- `out_channels` (D), and
- `stages`: the ordered list of sub-modules, so that the first k can be frozen (`freeze_stages`).
A vision backbone also runs in two parts, `forward_to(x, k)` (its first k stages) and `forward_from(h, k)` (the
rest; the two compose to `forward` op for op), so frozen leading stages can be computed once and cached (trunk.h5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from torch import Tensor, nn
from torchvision.models import resnet18

from msl_core.errors import ConfigError
from msl_core.weights import load_state_dict_file, load_strict

log = logging.getLogger(__name__)


class Staged:
    """A trunk that is a chain of steps, step k being stage k: `forward` runs them all, `forward_to(x, k)` the first
    k and `forward_from(h, k)` the rest."""

    def steps(self) -> list[Callable[[Tensor], Tensor]]:
        raise NotImplementedError

    def forward_to(self, x: Tensor, k: int) -> Tensor:
        for step in self.steps()[:k]:
            x = step(x)
        return x

    def forward_from(self, x: Tensor, k: int) -> Tensor:
        for step in self.steps()[k:]:
            x = step(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_from(x, 0)


class ResNetBackbone(Staged, nn.Module):
    """torchvision ResNet-18 trunk up to layer4, with layer4 at stride 1 (docs/method.md §3.1, §1.6).

    Input: vision (N, 3, 256, 256) → (N, 512, 16, 16); audio (N, 1, T, n_mels) → (N, 512, ⌈T/16⌉, ⌈n_mels/16⌉)
    (251 → 16, 51 → 4). No avgpool/fc: pooling belongs to the heads.
    """

    out_channels = 512

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        net = resnet18(weights=None)  # torchvision's init: Kaiming fan_out convs, BN γ=1 β=0 (as the reference)
        if in_channels != 3:
            # The reference's audio net has its own 1-channel stem (`conv1_a`), same geometry as conv1.
            net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
            nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
        # Stride 1 without dilation in layer4 (the reference's choice; torchvision's
        # replace_stride_with_dilation would also dilate, which the reference does not).
        net.layer4[0].conv1.stride = (1, 1)
        net.layer4[0].downsample[0].stride = (1, 1)
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4

    @property
    def stages(self) -> list[nn.Module]:
        return [nn.ModuleList([self.conv1, self.bn1]), self.layer1, self.layer2, self.layer3, self.layer4]

    def stem(self, x: Tensor) -> Tensor:
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4)

    def steps(self) -> list[Callable[[Tensor], Tensor]]:
        # layer1 (N, 64, H/4, W/4), layer2 (N, 128, H/8, W/8), layer3 and layer4 (N, 512, H/16, W/16)
        return [self.stem, self.layer1, self.layer2, self.layer3, self.layer4]


def load_resnet18_imagenet(backbone: ResNetBackbone, path: str | Path) -> None:
    """Load torchvision's `resnet18` ImageNet state dict (e.g. resnet18-5c106cde.pth); the fc keys are dropped."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("model.resnet18_weights", f"{path} does not exist")
    state = load_state_dict_file(path)
    if "state_dict" in state:
        state = state["state_dict"]
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    load_strict(backbone, state, path, what="torchvision resnet18 (without fc)")


class KeepsBatchNormStatistics(nn.Module):
    """A pretrained trunk whose batch-norm statistics stay as released (eval mode) in every mode of the module."""

    def train(self, mode: bool = True) -> KeepsBatchNormStatistics:
        super().train(mode)
        for m in self.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
        return self


class MobileNetBackbone(Staged, KeepsBatchNormStatistics):
    """The converted ImageNet MobileNetV2 (msl_core.models.mobilenet_v2), last stage dilated: 256 → 1280×16×16.

    Its batch-norm layers hold the tflite model's folded constants, so they stay in eval mode in every mode of
    this module (in train mode their statistics would be overwritten; assets README).
    """

    out_channels = 1280

    def __init__(self, features: nn.Module) -> None:
        super().__init__()
        self.features = features

    @property
    def stages(self) -> list[nn.Module]:
        body = getattr(self.features, "features", self.features)
        return list(body.children())

    def steps(self) -> list[Callable[[Tensor], Tensor]]:
        return self.stages  # the features blocks in order: (N, 1280, H/16, W/16) after the last


class EfficientATBackbone(KeepsBatchNormStatistics):
    """The AudioSet-pretrained EfficientAT MobileNetV3 trunk (`teachers.efficientat`) as the audio backbone — the
    reference's original version also started its audio network from its AudioSet tagger (docs/method.md §3.2).

    Input: its own front end's log-mel, time first like every msl audio input, (N, 1, T, 128) → (N, D, ⌈T/16⌉, 8).
    The last stride-2 block runs at stride 1 (as the reference's ResNet layer4) for a finer class map. Batch-norm
    keeps the AudioSet statistics (eval mode): small batches of one dataset would overwrite them.
    """

    # Fine-tuned at a tenth of the learning rate, as the reference's original version trained its pretrained
    # backbones at 1e-4 against 1e-3 for the new heads (docs/method.md §4); at the full rate SGD blows the trunk up.
    lr_scale = 0.1

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        self.features = features
        self.out_channels = features[-1][0].out_channels

    @property
    def stages(self) -> list[nn.Module]:
        return list(self.features.children())

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x.transpose(2, 3)).transpose(2, 3)  # the trunk reads (mel, time)


def efficientat_trunk(weights: str | Path | None) -> EfficientATBackbone:
    """The EfficientAT mn04 trunk from the AudioSet tagger release at `weights` (random when None, e.g. when a
    checkpoint replaces the weights anyway), its last stride-2 block at stride 1."""
    from msl_core.teachers.efficientat import EfficientATTagger, load_tagger

    tagger = load_tagger(weights) if weights else EfficientATTagger(width=0.4)
    features = tagger.features
    last_stride_2 = max(i for i, block in enumerate(features) if _depthwise_stride(block) == 2)
    _set_depthwise_stride(features[last_stride_2], 1)
    return EfficientATBackbone(features)


def _depthwise(block: nn.Module) -> nn.Conv2d | None:
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    return convs[0] if convs else None


def _depthwise_stride(block: nn.Module) -> int:
    conv = _depthwise(block)
    return conv.stride[0] if conv is not None else 1


def _set_depthwise_stride(block: nn.Module, stride: int) -> None:
    _depthwise(block).stride = (stride, stride)


def freeze_stages(backbone: nn.Module, n: int) -> None:
    """Freeze the first `n` stages: no gradient, and their batch-norm statistics no longer move."""
    stages = backbone.stages
    if not 0 <= n <= len(stages):
        raise ConfigError("model.freeze_vision_stages", f"{n} is outside 0..{len(stages)} for this backbone")
    for stage in stages[:n]:
        for p in stage.parameters():
            p.requires_grad_(False)
