"""Real media made in the test: ffmpeg-encoded videos of solid colours, with a sound track when given one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf


def make_video(path: Path, colours: list[tuple[int, int, int]], fps: int = 10, size=(160, 120),
               audio: np.ndarray | None = None, sample_rate: int = 22050) -> Path:
    """An H.264 (+AAC) video showing colours[k] during second k, with `audio` as its sound track when given."""
    width, height = size
    frames = np.concatenate([np.tile(np.array(c, np.uint8), (fps, height, width, 1)) for c in colours])
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
           "-r", str(fps), "-i", "pipe:0"]
    if audio is not None:
        wav = path.with_suffix(".src.wav")
        sf.write(wav, audio, sample_rate, subtype="FLOAT")
        cmd += ["-i", str(wav), "-c:a", "aac", "-b:a", "128k"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest" if audio is not None else "-an", str(path)]
    subprocess.run(cmd, input=frames.tobytes(), check=True)
    return path


def tone(seconds: float, freq: float = 440.0, sample_rate: int = 22050) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
