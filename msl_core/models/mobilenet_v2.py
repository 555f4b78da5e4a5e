"""MobileNetV2 converted from the 8-bit TF-slim tflite release, as an image backbone and an ImageNet teacher.

The tflite file (`../shared/assets/weights/mobilenet_v2_1.0_224_quant.tflite`) holds the only openly licensed
ImageNet MobileNetV2 we may ship a path to. `convert_tflite` dequantises it once into a torchvision
`mobilenet_v2(num_classes=1001)` state dict; the modules below run that state dict the way TensorFlow did:

- TF "SAME" padding pads stride-2 convolutions only at the bottom/right (symmetric padding loses 3 of 14
  top-1 agreements on real photos, assets/README.md);
- batch norm is already folded into the convolutions, so each BN is an identity plus the folded bias and must stay
  in eval mode even while the rest of the network trains;
- input is (uint8 - 128) / 128, i.e. mean = std = 0.5 after scaling to [0, 1].

`MobileNetV2Features` is the dilated backbone (stride 16: 256x256 frame -> 1280x16x16, like the reference's
stride-1 ResNet layer4); `MobileNetV2Classifier` is the undilated 1001-way classifier used as a pseudo-label teacher.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import mobilenet_v2
from torchvision.models.mobilenetv2 import InvertedResidual

from msl_core.errors import BadInput
from msl_core.weights import load_state_dict_file, load_strict

__all__ = [
    "TFLITE_SHA256_PREFIX",
    "MobileNetV2Classifier",
    "MobileNetV2Features",
    "convert_tflite",
    "load_mobilenet_v2_classifier",
    "load_mobilenet_v2_features",
    "load_state_dict_file",
    "mobilenet_v2_classifier",
    "mobilenet_v2_features",
]

TFLITE_SHA256_PREFIX = "7aad0c74c5e3c06e"
NUM_CLASSES = 1001  # index 0 = background, then the 1000 ImageNet classes in torchvision order
OUT_CHANNELS = 1280
# torchvision indices of the blocks the dilated backbone changes (stride 32 -> 16, as the reference's ResNet layer4).
STRIDE_ONE_BLOCK = 14
DILATED_BLOCKS = (15, 16, 17)


# ---------------------------------------------------------------------------------------------------------------------
# Building blocks


class Conv2dSame(nn.Conv2d):
    """`nn.Conv2d` with TensorFlow "SAME" padding: the odd pixel of padding goes to the bottom/right.

    Same parameters (and state-dict keys) as `nn.Conv2d`; its own `padding` is ignored and computed per input size.
    """

    def _same_pad(self, size: int, dim: int) -> tuple[int, int]:
        stride, dilation, kernel = self.stride[dim], self.dilation[dim], self.kernel_size[dim]
        total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
        return total // 2, total - total // 2

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        top, bottom = self._same_pad(x.shape[-2], 0)
        left, right = self._same_pad(x.shape[-1], 1)
        x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class AtrousBlock(nn.Module):
    """An inverted-residual block whose depthwise conv is atrous (rate r), run as TensorFlow runs atrous convs: on
    the r² interleaved sub-grids of the expanded activation (space-to-batch), where it is an ordinary 3x3 conv.

    A rate-r conv at stride 1 only ever combines pixels r apart, so each sub-grid is convolved on its own, and a
    sub-grid padded by 1 holds exactly the zeros that the full grid padded by r would. The same function, up to
    float rounding (oneDNN may sum in another order for the sub-grids' shapes); on CPU a dilated depthwise conv's
    backward pass is ~5x an undilated one's, and the trainable tail of the demo's backbone (blocks 14-18) trains
    ~1.3x as fast this way (bench/atrous_tail.py). A size the rate does not divide runs the dilated conv as it is
    (`dilated`). Same submodules, so the same state-dict keys.
    """

    def __init__(self, block: InvertedResidual, rate: int) -> None:
        super().__init__()
        self.conv, self.use_res_connect, self.rate = block.conv, block.use_res_connect, rate

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        if x.shape[-2] % self.rate or x.shape[-1] % self.rate:
            return self.dilated(x)
        expand, (depthwise, *rest), *project = self.conv  # the layers after the depthwise conv act per pixel
        y = _undilated(depthwise, _sub_grids(expand(x), self.rate))
        for layer in (*rest, *project):
            y = layer(y)
        return self._residual(x, _whole_grid(y, self.rate))

    def dilated(self, x: Tensor) -> Tensor:
        """The block as torchvision runs it: its own layers, the depthwise conv dilated."""
        return self._residual(x, self.conv(x))

    def _residual(self, x: Tensor, y: Tensor) -> Tensor:
        return x + y if self.use_res_connect else y


def _sub_grids(x: Tensor, r: int) -> Tensor:
    """(B, C, H, W) → (B·r², C, H/r, W/r): sub-grid (i, j) holds the pixels at rows i + r·k, columns j + r·l."""
    b, c, h, w = x.shape
    return x.reshape(b, c, h // r, r, w // r, r).permute(0, 3, 5, 1, 2, 4).reshape(b * r * r, c, h // r, w // r)


def _whole_grid(y: Tensor, r: int) -> Tensor:
    """The inverse of `_sub_grids`."""
    n, c, h, w = y.shape
    return y.reshape(n // (r * r), r, r, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(n // (r * r), c, h * r, w * r)


def _undilated(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """A stride-1 conv's weights applied without dilation, zero-padded to keep the size (odd kernel)."""
    pad = conv.kernel_size[0] // 2
    return F.conv2d(x, conv.weight, conv.bias, 1, pad, 1, conv.groups)


def _to_same(conv: nn.Conv2d, *, stride: int | None = None, dilation: int = 1) -> Conv2dSame:
    new = Conv2dSame(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride if stride is None else stride,
        padding=0,
        dilation=dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    return new


def _depthwise_conv(block: InvertedResidual) -> nn.Conv2d:
    """The 3x3 depthwise conv of a torchvision InvertedResidual (index 0 without expansion, 1 with)."""
    for module in block.conv.modules():
        if isinstance(module, nn.Conv2d) and module.groups > 1:
            return module
    raise AssertionError("InvertedResidual without a depthwise conv")


def _replace_depthwise(block: InvertedResidual, conv: nn.Conv2d) -> None:
    layer = block.conv[0] if len(block.conv) == 3 else block.conv[1]
    layer[0] = conv


def _tf_features(*, dilated: bool) -> nn.Sequential:
    """torchvision's `mobilenet_v2().features` with SAME padding, optionally dilated to stride 16."""
    features = mobilenet_v2(num_classes=NUM_CLASSES).features
    features[0][0] = _to_same(features[0][0])
    for index in range(1, 18):
        block = features[index]
        conv = _depthwise_conv(block)
        if dilated and index == STRIDE_ONE_BLOCK:
            new = _to_same(conv, stride=1)
        elif dilated and index in DILATED_BLOCKS:
            new = _to_same(conv, stride=1, dilation=2)
        else:
            new = _to_same(conv)
        _replace_depthwise(block, new)
        if dilated and index in DILATED_BLOCKS:
            features[index] = AtrousBlock(block, rate=2)
    return features


def _freeze_batch_norm(module: nn.Module) -> None:
    for child in module.modules():
        if isinstance(child, nn.BatchNorm2d):
            child.eval()


# ---------------------------------------------------------------------------------------------------------------------
# Models


class MobileNetV2Features(nn.Module):
    """MobileNetV2 feature trunk with TF padding and folded, frozen batch norm.

    Args:
        dilated: block 14's depthwise conv at stride 1 and blocks 15-17 dilated by 2, so the output stride is 16
            (256x256 -> 16x16) instead of 32. The ImageNet weights still give the same top-1 at 224 either way.

    Shapes: input (B, 3, H, W) normalised with the backbone entry's mean/std (msl_core.models.backbones.mobilenet_v2); output (B, 1280, H/16, W/16) when dilated,
    (B, 1280, H/32, W/32) otherwise.

    Modes: `train()` leaves every BatchNorm in eval mode, because their "statistics" are the folded identity
    (mean 0, var 1 - eps) and training-mode statistics would replace them (top-1 drops to 0 of 14 on real photos).
    """

    out_channels: int = OUT_CHANNELS

    def __init__(self, *, dilated: bool = True) -> None:
        super().__init__()
        self.dilated = dilated
        self.features = _tf_features(dilated=dilated)

    def train(self, mode: bool = True) -> MobileNetV2Features:
        super().train(mode)
        _freeze_batch_norm(self)
        return self

    def forward(self, x: Tensor) -> Tensor:  # (B, 3, H, W) -> (B, 1280, h, w)
        return self.features(x)


class MobileNetV2Classifier(nn.Module):
    """The undilated 1001-way ImageNet classifier (logits; index 0 = background), for the image teacher.

    State-dict keys are torchvision's `mobilenet_v2` keys, so `convert_tflite`'s output loads with `strict=True`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = _tf_features(dilated=False)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(OUT_CHANNELS, NUM_CLASSES))

    def train(self, mode: bool = True) -> MobileNetV2Classifier:
        super().train(mode)
        _freeze_batch_norm(self)
        return self

    def forward(self, x: Tensor) -> Tensor:  # (B, 3, H, W) -> (B, 1001)
        x = self.features(x)  # (B, 1280, h, w)
        x = x.mean(dim=(2, 3))  # (B, 1280)
        return self.classifier(x)


# ---------------------------------------------------------------------------------------------------------------------
# Conversion from tflite


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_tflite(path: Path) -> None:
    if not path.is_file():
        raise BadInput(path, "MobileNetV2 tflite file not found (expected mobilenet_v2_1.0_224_quant.tflite)")
    actual = _sha256(path)
    if not actual.startswith(TFLITE_SHA256_PREFIX):
        raise BadInput(
            path,
            f"sha256 {actual[:16]}... differs from the expected {TFLITE_SHA256_PREFIX}... of "
            "mobilenet_v2_1.0_224_quant.tflite (truncated or a different model)",
        )


def _dequantise(details: dict, values: np.ndarray) -> np.ndarray:
    scale, zero_point = details["quantization"]
    if scale == 0.0:
        return values.astype(np.float32)
    return ((values.astype(np.int64) - zero_point) * scale).astype(np.float32)


def _tflite_convolutions(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(op type, float weight, float bias) of every conv op in graph order."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError as exc:
        raise BadInput(path, "reading a tflite file needs ai-edge-litert (pip install 'msl-core[convert]')") from exc

    interpreter = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    convolutions = []
    for op in interpreter._get_ops_details():
        if op["op_name"] not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        _, weight_index, bias_index = op["inputs"]
        weight = _dequantise(tensors[weight_index], interpreter.get_tensor(weight_index))
        bias = _dequantise(tensors[bias_index], interpreter.get_tensor(bias_index))
        convolutions.append((op["op_name"], weight, bias))
    return convolutions


def _torch_conv_weight(op_name: str, weight: np.ndarray) -> Tensor:
    if op_name == "DEPTHWISE_CONV_2D":  # (1, kh, kw, C) -> (C, 1, kh, kw)
        return torch.from_numpy(weight.transpose(3, 0, 1, 2).copy())
    return torch.from_numpy(weight.transpose(0, 3, 1, 2).copy())  # (O, kh, kw, I) -> (O, I, kh, kw)


def convert_tflite(path: str | Path) -> dict[str, Tensor]:
    """Dequantise the MobileNetV2 tflite file into a torchvision `mobilenet_v2(num_classes=1001)` state dict.

    Each conv's folded batch norm becomes an identity BN (weight 1, running mean 0, running var 1 - eps) whose bias is
    the folded bias, so the state dict loads into torchvision's model (or ours) with `strict=True`.
    """
    path = Path(path)
    _check_tflite(path)
    convolutions = _tflite_convolutions(path)
    reference = mobilenet_v2(num_classes=NUM_CLASSES)
    state = OrderedDict((key, value.clone()) for key, value in reference.state_dict().items())
    # torchvision's named_modules order is the graph order: every Conv2d is followed by its BatchNorm2d.
    modules = [(name, module) for name, module in reference.named_modules() if isinstance(module, (nn.Conv2d, nn.BatchNorm2d))]
    conv_bn = [(modules[i], modules[i + 1]) for i in range(0, len(modules), 2)]
    if len(convolutions) != len(conv_bn) + 1:
        raise BadInput(path, f"has {len(convolutions)} convolutions; MobileNetV2 1.0 has {len(conv_bn) + 1}")
    for ((conv_name, conv), (bn_name, bn)), (op_name, weight, bias) in zip(conv_bn, convolutions[:-1]):
        torch_weight = _torch_conv_weight(op_name, weight)
        if torch_weight.shape != conv.weight.shape or not isinstance(bn, nn.BatchNorm2d):
            raise BadInput(path, f"tensor for {conv_name} has shape {tuple(torch_weight.shape)}, expected {tuple(conv.weight.shape)}")
        state[f"{conv_name}.weight"] = torch_weight
        state[f"{bn_name}.weight"] = torch.ones_like(bn.weight)
        state[f"{bn_name}.bias"] = torch.from_numpy(bias)
        state[f"{bn_name}.running_mean"] = torch.zeros_like(bn.running_mean)
        state[f"{bn_name}.running_var"] = torch.full_like(bn.running_var, 1.0 - bn.eps)
    op_name, weight, bias = convolutions[-1]  # the 1x1 logits conv -> Linear(1280, 1001)
    state["classifier.1.weight"] = _torch_conv_weight(op_name, weight).reshape(NUM_CLASSES, OUT_CHANNELS)
    state["classifier.1.bias"] = torch.from_numpy(bias)
    return dict(state)


# ---------------------------------------------------------------------------------------------------------------------
# Loading


def mobilenet_v2_features(*, state_dict: dict[str, Tensor] | None = None, dilated: bool = True) -> MobileNetV2Features:
    """Build the backbone; `state_dict` is a converted torchvision state dict (its `classifier.*` keys are ignored)."""
    model = MobileNetV2Features(dilated=dilated)
    if state_dict is not None:
        features = {k: v for k, v in state_dict.items() if k.startswith("features.")}
        load_strict(model, features, "<state dict>", what="MobileNetV2Features")
    return model.eval()


def load_mobilenet_v2_features(state_dict_path: str | Path, *, dilated: bool = True) -> MobileNetV2Features:
    """The dilated backbone with the converted ImageNet weights of `state_dict_path` (from `convert_tflite`)."""
    state = load_state_dict_file(state_dict_path)
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    model = MobileNetV2Features(dilated=dilated)
    load_strict(model, features, state_dict_path, what="MobileNetV2Features (torchvision mobilenet_v2 features.*)")
    return model.eval()


def mobilenet_v2_classifier(*, state_dict: dict[str, Tensor] | None = None) -> MobileNetV2Classifier:
    model = MobileNetV2Classifier()
    if state_dict is not None:
        load_strict(model, state_dict, "<state dict>", what="MobileNetV2Classifier")
    return model.eval()


def load_mobilenet_v2_classifier(state_dict_path: str | Path) -> MobileNetV2Classifier:
    """The 1001-way classifier (logits, background first) from a `convert_tflite` state dict file."""
    model = MobileNetV2Classifier()
    load_strict(model, load_state_dict_file(state_dict_path), state_dict_path, what="MobileNetV2Classifier (1001 classes)")
    return model.eval()
