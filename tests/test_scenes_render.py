"""MP4 writing: H.264 + AAC streams, the still picture at every second, the decoded soundtrack."""

from __future__ import annotations

import ffmpeg
import numpy as np

from msl_core.media import decode_audio
from msl_core.scenes.render import read_frame_at, write_video

SR = 22050


def test_write_video_streams_frames_and_audio(tmp_path):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:240, 0:320]
    frame = np.stack([xx * 255 // 320, yy * 255 // 240, np.full_like(xx, 90)], -1).astype(np.uint8)
    t = np.arange(3 * SR) / SR
    audio = (0.3 * np.sin(2 * np.pi * 330 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    path = tmp_path / "clip.mp4"
    write_video(path, frame, audio, SR, fps=10)

    streams = {s["codec_type"]: s for s in ffmpeg.probe(str(path))["streams"]}
    assert streams["video"]["codec_name"] == "h264" and streams["video"]["pix_fmt"] == "yuv420p"
    assert (streams["video"]["width"], streams["video"]["height"]) == (320, 240)
    assert streams["audio"]["codec_name"] == "aac" and int(streams["audio"]["sample_rate"]) == SR

    for second in range(3):
        decoded = read_frame_at(path, second)
        assert np.abs(decoded.astype(int) - frame).mean() < 3

    decoded = decode_audio(path, SR)
    assert abs(decoded.size - audio.size) < SR // 20
    n = min(decoded.size, audio.size)
    error = decoded[:n] - audio[:n]
    assert 10 * np.log10(np.mean(audio[:n] ** 2) / np.mean(error ** 2)) > 20


def test_equal_inputs_give_equal_files(tmp_path):
    frame = np.full((240, 320, 3), 120, np.uint8)
    audio = np.sin(np.arange(SR) / 10).astype(np.float32) * 0.2
    write_video(tmp_path / "a.mp4", frame, audio, SR, fps=10)
    write_video(tmp_path / "b.mp4", frame, audio, SR, fps=10)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
