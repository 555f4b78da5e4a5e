import librosa
import numpy as np
import pytest

from msl_core.spectrogram import LogMelParams, log_mel, windows


def test_frame_counts_match_the_reference():
    params = LogMelParams()
    assert [params.n_frames(s) for s in (5, 10, 1, 8)] == [251, 501, 51, 401]


def test_log_mel_equals_librosa_called_directly():
    rng = np.random.default_rng(0)
    wave = rng.standard_normal(22050).astype(np.float32) * 0.1
    ours = log_mel(wave, LogMelParams())
    mel = librosa.feature.melspectrogram(y=wave, sr=22050, n_fft=882, hop_length=441, n_mels=64)
    expected = np.log(mel + np.spacing(1)).T
    assert ours.shape == (51, 64) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


def test_silence_hits_the_log_floor():
    out = log_mel(np.zeros(22050, np.float32), LogMelParams())
    assert np.allclose(out, np.log(np.spacing(1)))


def test_peak_normalisation_makes_gain_irrelevant():
    rng = np.random.default_rng(1)
    wave = rng.standard_normal(4410).astype(np.float32)
    params = LogMelParams(peak_normalise=True)
    np.testing.assert_allclose(log_mel(wave, params), log_mel(5 * wave, params), atol=1e-4)


@pytest.mark.parametrize("length", [22050 * 3, 22050 * 3 - 100])
def test_windows_pad_a_short_tail(length):
    out = windows(np.ones(length, np.float32), 3, 1.0, 22050)
    assert out.shape == (3, 22050)
    assert out[:2].min() == 1.0


def test_a_stack_of_windows_equals_each_window_alone():
    rng = np.random.default_rng(2)
    stack = rng.standard_normal((3, 22050)).astype(np.float32)
    params = LogMelParams(peak_normalise=True)
    together = log_mel(stack, params)
    for k in range(3):
        np.testing.assert_allclose(together[k], log_mel(stack[k], params), rtol=1e-5, atol=1e-5)
