"""The soundtrack: tracks only in sounding seconds, looping of short recordings, the mix and its SNR."""

from __future__ import annotations

import numpy as np

from msl_core.scenes.audio import PEAK, mix_scene, pink_noise, segment, source_tracks
from msl_core.scenes.compose import PlacedObject, Scene
from msl_core.scenes.stamps import Stamp

SR = 8000


def _scene() -> tuple[Scene, dict[str, Stamp]]:
    t = np.arange(3 * SR) / SR
    long = Stamp("tone", "a", np.zeros((2, 2, 4), np.uint8), (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
                 np.arange(0, 2 * SR, 400))
    short = Stamp("click", "b", np.zeros((2, 2, 4), np.uint8), np.linspace(-0.2, 0.2, SR // 4, dtype=np.float32),
                  np.zeros(1, np.int64))
    objects = [PlacedObject("tone", "a", 0, 0, 2, 2, 0.0, offsets=[0, 400, 800, 0]),
               PlacedObject("click", "b", 0, 0, 2, 2, -6.0, offsets=[0, 10, 20, 30])]
    return Scene("c", "train", "brick", (0, 0, 1, False), objects, [[0], [1], [0, 1], [1]], 1), {
        "tone": long, "click": short}


def test_segment_loops_short_recordings():
    audio = np.arange(5, dtype=np.float32)
    assert segment(audio, 3, 7).tolist() == [3, 4, 0, 1, 2, 3, 4]


def test_tracks_are_silent_where_the_object_is_silent():
    scene, stamps = _scene()
    tracks = source_tracks(scene, stamps, SR)
    assert tracks.shape == (2, 4 * SR)
    for second, sounding in enumerate(scene.sounding):
        piece = tracks[:, second * SR:(second + 1) * SR]
        for i in range(2):
            assert (np.abs(piece[i]).max() > 0.01) == (i in sounding)
    # object 1 at -6 dB: its short ramp looped over the whole second
    expected = segment(stamps["click"].audio, 10, SR) * 10 ** (-6 / 20)
    middle = slice(100, SR - 100)   # away from the 5-ms fades
    np.testing.assert_allclose(tracks[1, SR:2 * SR][middle], expected[middle], atol=1e-6)


def test_mix_is_tracks_plus_noise_at_the_requested_snr():
    scene, stamps = _scene()
    mixture = mix_scene(scene, stamps, SR, snr_db=10.0)
    np.testing.assert_allclose(mixture.mix, mixture.tracks.sum(0) + mixture.noise, atol=1e-6)
    snr = 10 * np.log10(np.mean(mixture.tracks.sum(0) ** 2) / np.mean(mixture.noise ** 2))
    assert abs(snr - 10.0) < 0.01
    assert np.abs(mixture.mix).max() <= PEAK + 1e-6
    again = mix_scene(scene, stamps, SR, snr_db=10.0)
    np.testing.assert_array_equal(again.mix, mixture.mix)


def test_pink_noise_has_more_low_than_high_energy():
    noise = pink_noise(np.random.default_rng(0), 1 << 14)
    spectrum = np.abs(np.fft.rfft(noise)) ** 2
    assert np.isclose(np.mean(noise ** 2), 1.0, rtol=1e-3)
    assert spectrum[1:100].mean() > 10 * spectrum[-1000:].mean()
