"""The log-mel front end of the reference (method.md §1.1): librosa mel power spectrogram, natural log, (T, F)."""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np


@dataclass(frozen=True)
class LogMelParams:
    sample_rate: int = 22050
    n_fft: int = 882  # int(0.04 · 22050): 40 ms
    hop_length: int = 441  # int(0.02 · 22050): 20 ms
    n_mels: int = 64
    log_floor: float = float(np.spacing(1))  # ε = 2.22e-16, as the reference
    peak_normalise: bool = False  # the reference's Flickr test loaders only (§1.1); off for training

    def n_frames(self, window_s: float) -> int:
        """T = 1 + floor(samples / hop): 5 s → 251, 1 s → 51."""
        return 1 + round(window_s * self.sample_rate) // self.hop_length


def log_mel(wave: np.ndarray, params: LogMelParams) -> np.ndarray:
    """(..., samples) mono float waveform(s) → float32 (..., T, n_mels) log-mel (time first, as the networks read it).

    A stack of equal windows is transformed in one librosa call; each window is still padded on its own, as the
    reference transforms each clip separately.
    """
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
