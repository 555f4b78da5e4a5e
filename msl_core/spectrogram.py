"""The log-mel front end of the reference (docs/method.md §1.1): librosa mel power spectrogram, natural log, (T, F)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from msl_core.config import default


@dataclass(frozen=True)
class LogMelParams:
    """The reference's log-mel (§1.1); its defaults are the schema's `audio:` section."""

    sample_rate: int = default("audio.sample_rate")
    n_fft: int = default("audio.n_fft")  # int(0.04 · 22050): 40 ms
    hop_length: int = default("audio.hop_length")  # int(0.02 · 22050): 20 ms
    n_mels: int = default("audio.n_mels")
    log_floor: float = default("audio.log_floor")  # ε = np.spacing(1) = 2.22e-16, as the reference
    peak_normalise: bool = default("audio.peak_normalise")  # the reference's Flickr test loaders only (§1.1)

    def n_frames(self, window_s: float) -> int:
        """T = 1 + floor(samples / hop): 5 s → 251, 1 s → 51."""
        return 1 + round(window_s * self.sample_rate) // self.hop_length


def log_mel(wave: np.ndarray, params: LogMelParams) -> np.ndarray:
    """(..., samples) mono float waveform(s) → float32 (..., T, n_mels) log-mel (time first, as the networks read it).

    A stack of equal windows is transformed in one librosa call; each window is still padded on its own, as the
    reference transforms each clip separately.
    """
    import librosa  # seconds of lazy imports: paid by the jobs that transform, not by every `import msl_core`

    wave = np.asarray(wave, dtype=np.float32)
    if params.peak_normalise:
        wave = wave / (np.abs(wave).max(axis=-1, keepdims=True) + params.log_floor)
    mel = librosa.feature.melspectrogram(
        y=wave, sr=params.sample_rate, n_fft=params.n_fft, hop_length=params.hop_length, n_mels=params.n_mels
    )  # (..., n_mels, T)
    return np.log(mel + params.log_floor).swapaxes(-1, -2).astype(np.float32)


def windows(wave: np.ndarray, n_windows: int, window_s: float, sample_rate: int) -> np.ndarray:
    """Split into `n_windows` consecutive windows of exactly window_s (zero-padding a short tail): (n, samples)."""
    length = round(window_s * sample_rate)
    needed = n_windows * length
    if wave.size < needed:
        wave = np.pad(wave, (0, needed - wave.size))
    return wave[:needed].reshape(n_windows, length)


# ---------------------------------------------------------------------------------------------------------------------
# Front ends: each audio backbone declares the input it was trained on; the log-mel rule computes that one.


@dataclass(frozen=True)
class EfficientATParams:
    """The input of the AudioSet-pretrained EfficientAT trunk (`teachers.efficientat.LogMelFrontEnd`): 32 kHz mono,
    pre-emphasis, 1024-point STFT every 320 samples, 128 Kaldi mel bands, (log(x + 1e-5) + 4.5) / 5."""

    sample_rate: int = 32000
    hop_length: int = 320
    n_mels: int = 128

    def n_frames(self, window_s: float) -> int:
        """T = 1 + (samples − 1) // hop (pre-emphasis drops one sample): 1 s → 100."""
        return 1 + (round(window_s * self.sample_rate) - 1) // self.hop_length


def transform(wave: np.ndarray, params: LogMelParams | EfficientATParams) -> np.ndarray:
    """(..., samples) mono float waveform(s) → float32 (..., T, n_mels) under the chosen front end."""
    if isinstance(params, LogMelParams):
        return log_mel(wave, params)
    import torch

    from msl_core.teachers.efficientat import LogMelFrontEnd

    wave = np.asarray(wave, dtype=np.float32)
    flat = torch.from_numpy(wave.reshape(-1, wave.shape[-1]))
    with torch.no_grad():
        mel = LogMelFrontEnd(n_mels=params.n_mels, sample_rate=params.sample_rate, hop_length=params.hop_length)(flat)
    out = mel[:, 0].transpose(1, 2).numpy()  # (B, T, n_mels)
    return out.reshape(*wave.shape[:-1], *out.shape[1:]).astype(np.float32)


# The front ends by name; each audio backbone names the one it reads (msl_core.models.backbones, `front_end`).
FRONT_ENDS = {
    "librosa": lambda audio: LogMelParams(**(audio or {})),  # the reference's, set by the `audio:` section
    "efficientat": lambda audio: EfficientATParams(),  # a pretrained trunk's own, fixed
}


def front_end(audio_backbone: str, audio: dict | None = None) -> LogMelParams | EfficientATParams:
    """The front end an audio backbone reads: the reference's librosa log-mel (`audio:` section) for the ResNet-18
    trained from scratch, EfficientAT's own for its pretrained trunk."""
    from msl_core.models.backbones import audio_backbone as backbone  # plain data: no torch

    return FRONT_ENDS[backbone(audio_backbone).front_end](audio)


def front_end_name(params: LogMelParams | EfficientATParams) -> str:
    return "librosa" if isinstance(params, LogMelParams) else "efficientat"
