"""The soundtrack of a scene: each sounding object's recording per second, at its gain, plus background noise.

Every 1-s piece of a recording gets 5-ms raised-cosine fades so that changing segments at second boundaries
does not click; the ground truth is then exact: second s of the mix = the sum of its sounding tracks + noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from msl_core.scenes.compose import Scene
from msl_core.scenes.stamps import Stamp

FADE_S = 0.005
PEAK = 0.9   # mixes louder than this are scaled down as a whole (tracks and noise alike), never clipped


@dataclass
class Mixture:
    tracks: np.ndarray   # (n_objects, T) float32: each object's contribution, zero in its silent seconds
    noise: np.ndarray    # (T,) float32
    mix: np.ndarray      # (T,) float32 = tracks.sum(0) + noise


def segment(audio: np.ndarray, offset: int, n: int) -> np.ndarray:
    """`n` samples of `audio` from `offset`, looping recordings shorter than the window."""
    return np.take(audio, offset + np.arange(n), mode="wrap")


def _fade(n: int, sample_rate: int) -> np.ndarray:
    ramp_n = max(1, int(FADE_S * sample_rate))
    envelope = np.ones(n, dtype=np.float32)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp_n, dtype=np.float32))
    envelope[:ramp_n] = ramp
    envelope[-ramp_n:] = ramp[::-1]
    return envelope


def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-RMS 1/f noise (white noise shaped in the frequency domain): a less artificial floor than white noise."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(spectrum.size, dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return (noise / np.sqrt(np.mean(noise ** 2))).astype(np.float32)


def source_tracks(scene: Scene, stamps: dict[str, Stamp], sample_rate: int) -> np.ndarray:
    """(n_objects, T) float32 tracks: object i's recording segment times its gain in the seconds where it sounds."""
    duration = len(scene.sounding)
    tracks = np.zeros((len(scene.objects), duration * sample_rate), dtype=np.float32)
    envelope = _fade(sample_rate, sample_rate)
    for second, sounding in enumerate(scene.sounding):
        for i in sounding:
            obj = scene.objects[i]
            piece = segment(stamps[obj.stamp].audio, obj.offsets[second], sample_rate)
            gain = 10 ** (obj.gain_db / 20)
            tracks[i, second * sample_rate:(second + 1) * sample_rate] = piece * envelope * gain
    return tracks


def mix_scene(scene: Scene, stamps: dict[str, Stamp], sample_rate: int, snr_db: float) -> Mixture:
    """Sum of the tracks plus pink noise at `snr_db` below their mean power over the clip; peak-limited to PEAK."""
    tracks = source_tracks(scene, stamps, sample_rate)
    sources = tracks.sum(axis=0)
    power = float(np.mean(sources.astype(np.float64) ** 2))
    noise = pink_noise(np.random.default_rng(scene.noise_seed), sources.size) * np.sqrt(power / 10 ** (snr_db / 10))
    mix = sources + noise
    peak = float(np.abs(mix).max())
    if peak > PEAK:
        tracks, noise, mix = tracks * (PEAK / peak), noise * (PEAK / peak), mix * (PEAK / peak)
    return Mixture(tracks.astype(np.float32), noise.astype(np.float32), mix.astype(np.float32))
