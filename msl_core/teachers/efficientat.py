"""The EfficientAT MobileNetV3 AudioSet taggers (Schmid et al., ICASSP 2023), rebuilt from torchvision's blocks.

The released state dicts (e.g. `mn04_as_mAP_432.pt`, MIT licence) load with `strict=True` into `EfficientATTagger`:
torchvision's MobileNetV3-Large layout (`Conv2dNormActivation`, inverted residuals under `features.N.block`),
one input channel, BN eps 1e-3, channel squeeze-excitation with a *sigmoid* gate (torchvision's uses a hard sigmoid)
stored as `conc_se_layers.0.fc{1,2}` Linear layers, and an MLP head (`classifier.2`, `classifier.5`).

`LogMelFrontEnd` is the published preprocessing: 32 kHz mono, pre-emphasis 0.97, 1024-point STFT of an 800-sample
symmetric Hann window every 320 samples (centred, reflect padding), power, 128 Kaldi-style mel bands 0-15 kHz,
log(x + 1e-5), then (x + 4.5) / 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models._utils import _make_divisible
from torchvision.ops.misc import Conv2dNormActivation

from msl_core.errors import BadInput
from msl_core.weights import load_state_dict_file, load_strict

SAMPLE_RATE = 32000
N_CLASSES = 527
# Known releases: sha256 prefix -> width multiplier (the file name carries it too: mn04 -> 0.4).
KNOWN_RELEASES = {"899a8c6217063f69": 0.4}


# ---------------------------------------------------------------------------------------------------------------------
# Preprocessing


def kaldi_mel_banks(n_mels: int, n_fft: int, sample_rate: int, fmin: float, fmax: float) -> Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters on Kaldi's mel scale 1127·ln(1 + f/700), Nyquist bin zero."""

    def mel(freq):
        return 1127.0 * np.log1p(np.asarray(freq, np.float64) / 700.0)

    low, high = mel(fmin), mel(fmax)
    delta = (high - low) / (n_mels + 1)
    bins = np.arange(n_mels)[:, None]
    left, centre, right = low + bins * delta, low + (bins + 1) * delta, low + (bins + 2) * delta
    fft_mel = mel(sample_rate / n_fft * np.arange(n_fft // 2))[None, :]
    up = (fft_mel - left) / (centre - left)
    down = (right - fft_mel) / (right - centre)
    weights = np.maximum(0.0, np.minimum(up, down))
    return torch.from_numpy(np.pad(weights, ((0, 0), (0, 1))).astype(np.float32))


class LogMelFrontEnd(nn.Module):
    """Waveform (B, L) at 32 kHz -> normalised log-mel (B, 1, 128, 1 + (L - 1) // 320)."""

    def __init__(self, *, n_mels: int = 128, sample_rate: int = SAMPLE_RATE, n_fft: int = 1024, win_length: int = 800,
                 hop_length: int = 320, fmin: float = 0.0, fmax: float = 15000.0) -> None:
        super().__init__()
        self.n_fft, self.win_length, self.hop_length = n_fft, win_length, hop_length
        self.register_buffer("window", torch.hann_window(win_length, periodic=False), persistent=False)
        self.register_buffer("mel_banks", kaldi_mel_banks(n_mels, n_fft, sample_rate, fmin, fmax), persistent=False)

    def forward(self, wave: Tensor) -> Tensor:  # (B, L)
        wave = wave[:, 1:] - 0.97 * wave[:, :-1]  # pre-emphasis
        spec = torch.stft(wave, self.n_fft, hop_length=self.hop_length, win_length=self.win_length,
                          window=self.window, center=True, pad_mode="reflect", return_complex=True)
        power = spec.real**2 + spec.imag**2  # (B, n_fft/2+1, T)
        mel = torch.matmul(self.mel_banks, power)  # (B, n_mels, T)
        return ((torch.log(mel + 1e-5) + 4.5) / 5.0).unsqueeze(1)  # (B, 1, n_mels, T)


# ---------------------------------------------------------------------------------------------------------------------
# Network


class ChannelSqueezeExcitation(nn.Module):
    """Squeeze-excitation over channels with Linear layers and a sigmoid gate (EfficientAT's variant)."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(channels, squeeze)
        self.fc2 = nn.Linear(squeeze, channels)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, F, T)
        scale = x.mean(dim=(2, 3))  # (B, C)
        scale = torch.sigmoid(self.fc2(F.relu(self.fc1(scale))))
        return x * scale[:, :, None, None]


class ConcurrentSE(nn.Module):
    """EfficientAT's container for SE over several axes; the AudioSet releases use only the channel axis."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.conc_se_layers = nn.ModuleList([ChannelSqueezeExcitation(channels, _make_divisible(channels // reduction, 8))])

    def forward(self, x: Tensor) -> Tensor:
        return self.conc_se_layers[0](x)


@dataclass(frozen=True)
class BlockConfig:
    """One MobileNetV3-Large bottleneck at width 1.0 (paper Table 1)."""

    in_channels: int
    kernel: int
    expanded: int
    out_channels: int
    use_se: bool
    hardswish: bool
    stride: int


LARGE = [
    BlockConfig(16, 3, 16, 16, False, False, 1),
    BlockConfig(16, 3, 64, 24, False, False, 2),
    BlockConfig(24, 3, 72, 24, False, False, 1),
    BlockConfig(24, 5, 72, 40, True, False, 2),
    BlockConfig(40, 5, 120, 40, True, False, 1),
    BlockConfig(40, 5, 120, 40, True, False, 1),
    BlockConfig(40, 3, 240, 80, False, True, 2),
    BlockConfig(80, 3, 200, 80, False, True, 1),
    BlockConfig(80, 3, 184, 80, False, True, 1),
    BlockConfig(80, 3, 184, 80, False, True, 1),
    BlockConfig(80, 3, 480, 112, True, True, 1),
    BlockConfig(112, 3, 672, 112, True, True, 1),
    BlockConfig(112, 5, 672, 160, True, True, 2),
    BlockConfig(160, 5, 960, 160, True, True, 1),
    BlockConfig(160, 5, 960, 160, True, True, 1),
]


class Bottleneck(nn.Module):
    def __init__(self, cfg: BlockConfig, width: float, norm: type[nn.Module]) -> None:
        super().__init__()
        cin, mid, cout = (_make_divisible(c * width, 8) for c in (cfg.in_channels, cfg.expanded, cfg.out_channels))
        act = nn.Hardswish if cfg.hardswish else nn.ReLU
        self.use_residual = cfg.stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if mid != cin:
            layers.append(Conv2dNormActivation(cin, mid, kernel_size=1, norm_layer=norm, activation_layer=act))
        layers.append(Conv2dNormActivation(mid, mid, kernel_size=cfg.kernel, stride=cfg.stride, groups=mid,
                                           norm_layer=norm, activation_layer=act))
        if cfg.use_se:
            layers.append(ConcurrentSE(mid))
        layers.append(Conv2dNormActivation(mid, cout, kernel_size=1, norm_layer=norm, activation_layer=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return out + x if self.use_residual else out


class EfficientATTagger(nn.Module):
    """MobileNetV3 AudioSet tagger.

    Args:
        width: channel multiplier of the release (mn04 -> 0.4, mn10 -> 1.0).
        num_classes: 527 for the AudioSet releases (order of class_labels_indices.csv).

    Shapes: input log-mel (B, 1, 128, T) from `LogMelFrontEnd`; output logits (B, num_classes) (sigmoid -> probability).
    """

    def __init__(self, *, width: float = 0.4, num_classes: int = N_CLASSES) -> None:
        super().__init__()
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        first = _make_divisible(16 * width, 8)
        layers: list[nn.Module] = [Conv2dNormActivation(1, first, kernel_size=3, stride=2, norm_layer=norm,
                                                        activation_layer=nn.Hardswish)]
        layers += [Bottleneck(cfg, width, norm) for cfg in LARGE]
        last_in = _make_divisible(160 * width, 8)
        layers.append(Conv2dNormActivation(last_in, 6 * last_in, kernel_size=1, norm_layer=norm,
                                           activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        hidden = _make_divisible(1280 * width, 8)
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(start_dim=1),
            nn.Linear(6 * last_in, hidden),
            nn.Hardswish(),
            nn.Dropout(p=0.2),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:  # (B, 1, 128, T) -> (B, num_classes)
        return self.classifier(self.features(x))


# ---------------------------------------------------------------------------------------------------------------------
# Loading and tagging


def width_from_state_dict(state: dict[str, Tensor]) -> float:
    """The release's width multiplier, read off the head's hidden layer (1280·width units: 512 at 0.4)."""
    return state["classifier.2.weight"].shape[0] / 1280.0


def load_tagger(path: str | Path) -> EfficientATTagger:
    """An EfficientAT AudioSet release from `path`, loaded strictly, in eval mode; `BadInput` otherwise."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, "EfficientAT tagger weights not found (expected e.g. efficientat_mn04_as_mAP_432.pt)")
    state = load_state_dict_file(path)
    if "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict) or "classifier.2.weight" not in state:
        keys = list(state)[:3] if isinstance(state, dict) else type(state).__name__
        raise BadInput(path, f"not an EfficientAT MobileNetV3 state dict with an MLP head (no 'classifier.2.weight'; "
                             f"has {len(state) if isinstance(state, dict) else 0} keys, starting {keys})")
    width = width_from_state_dict(state)
    num_classes = state["classifier.5.bias"].shape[0] if "classifier.5.bias" in state else N_CLASSES
    model = EfficientATTagger(width=width, num_classes=num_classes)
    load_strict(model, state, path, what=f"EfficientAT MobileNetV3 (width {width:g})")
    return model.eval()


class AudioTagger:
    """Front end + network: waveforms at 32 kHz -> (B, 527) clip-level probabilities."""

    def __init__(self, weights: str | Path, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.model = load_tagger(weights).to(self.device)
        self.front_end = LogMelFrontEnd().to(self.device)

    @torch.no_grad()
    def __call__(self, waves: np.ndarray | Tensor, batch_size: int = 32) -> np.ndarray:
        waves = torch.as_tensor(np.asarray(waves, np.float32))
        if waves.ndim == 1:
            waves = waves[None]
        # Below ~0.33 s the network's stride-32 trunk has no time step left; pad with silence to 1 s.
        if waves.shape[1] < SAMPLE_RATE:
            waves = F.pad(waves, (0, SAMPLE_RATE - waves.shape[1]))
        out = []
        for start in range(0, len(waves), batch_size):
            batch = waves[start:start + batch_size].to(self.device)
            out.append(torch.sigmoid(self.model(self.front_end(batch))).cpu())
        return torch.cat(out).numpy()


def tag_file(tagger: AudioTagger, path: str | Path, *, start_s: float = 0.0, duration_s: float | None = None,
             window_s: float = 10.0) -> np.ndarray:
    """(527,) probabilities of a whole file: max over consecutive `window_s` windows (the releases saw 10-s clips)."""
    from msl_core.media import decode_audio

    wave = decode_audio(path, SAMPLE_RATE, start_s=start_s, duration_s=duration_s)
    if wave.size == 0:
        raise BadInput(path, "decoded audio is empty")
    step = int(window_s * SAMPLE_RATE)
    n = max(1, math.ceil(len(wave) / step))
    windows = np.zeros((n, step), np.float32)
    for i in range(n):
        chunk = wave[i * step:(i + 1) * step]
        windows[i, :len(chunk)] = chunk
    return tagger(windows).max(axis=0)
