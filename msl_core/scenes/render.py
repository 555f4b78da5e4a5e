"""Writing a scene as a real MP4 (H.264 yuv420p + AAC) with ffmpeg, and reading frames back at native size."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import cv2
import ffmpeg
import numpy as np
import soundfile as sf

from msl_core.errors import BadInput

AUDIO_BITRATE = "128k"


def write_video(path: str | Path, frame: np.ndarray, audio: np.ndarray, sample_rate: int, fps: int) -> None:
    """A still `frame` (H, W, 3) RGB for the length of mono `audio` (T,), as H.264 + AAC in an MP4.

    Bit-exact flags and one encoder thread make equal inputs give equal files.
    """
    duration = audio.size / sample_rate
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="msl_scene_") as tmp:
        image, wav = Path(tmp) / "frame.png", Path(tmp) / "audio.wav"
        cv2.imwrite(str(image), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        sf.write(wav, audio, sample_rate, subtype="FLOAT")
        command = [
            "ffmpeg", "-nostdin", "-y", "-loglevel", "error",
            "-loop", "1", "-framerate", str(fps), "-i", str(image), "-i", str(wav),
            "-t", f"{duration:.6f}", "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-pix_fmt", "yuv420p",
            "-threads", "1", "-g", str(fps * 10),
            "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(sample_rate), "-ac", "1",
            "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
            "-movflags", "+faststart", str(path),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BadInput(path, f"ffmpeg could not write the video: {done.stderr.strip()[-500:]}")


def read_frame_at(path: str | Path, second: int) -> np.ndarray:
    """The picture ffmpeg's fps=1 filter returns at t = `second`, RGB uint8 (H, W, 3) at the video's own size."""
    info = ffmpeg.probe(str(path))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    width, height = int(video["width"]), int(video["height"])
    try:
        raw, _ = (ffmpeg.input(str(path)).video.filter("fps", fps=1)
                  .output("pipe:", format="rawvideo", pix_fmt="rgb24", vframes=second + 1)
                  .run(capture_stdout=True, capture_stderr=True))
    except ffmpeg.Error as exc:
        raise BadInput(path, "ffmpeg could not decode its frames") from exc
    frames = np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)
    if len(frames) <= second:
        raise BadInput(path, f"has no frame at {second} s")
    return frames[second]
