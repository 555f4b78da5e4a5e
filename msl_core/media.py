"""Decoding video frames and audio with one ffmpeg process per file (scaling, fps and resampling inside ffmpeg)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import ffmpeg
import numpy as np

from msl_core.errors import BadInput


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file; durations in seconds (None when the stream is absent)."""

    path: str
    video_duration: float | None
    audio_duration: float | None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None  # average frames per second of the video stream


def _rate(stream: dict) -> float | None:
    for key in ("avg_frame_rate", "r_frame_rate"):
        num, _, den = str(stream.get(key, "0/0")).partition("/")
        if den and float(den) > 0 and float(num) > 0:
            return float(num) / float(den)
    return None


def _ffmpeg_error(exc: ffmpeg.Error) -> str:
    text = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
    return text[-1] if text else "ffmpeg failed"


def _stream_duration(stream: dict, container: dict) -> float | None:
    for source in (stream, container):
        value = source.get("duration")
        if value not in (None, "N/A"):
            return float(value)
    return None


def probe(path: str | Path) -> MediaInfo:
    """Stream durations of a video, image or audio file; `BadInput` when missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, "file not found")
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as exc:
        raise BadInput(path, f"unreadable media ({_ffmpeg_error(exc)})") from exc
    container = info.get("format", {})
    video = next((s for s in info["streams"] if s["codec_type"] == "video"), None)
    audio = next((s for s in info["streams"] if s["codec_type"] == "audio"), None)
    return MediaInfo(
        path=str(path),
        video_duration=_stream_duration(video, container) if video else None,
        audio_duration=_stream_duration(audio, container) if audio else None,
        width=int(video["width"]) if video else None,
        height=int(video["height"]) if video else None,
        frame_rate=_rate(video) if video else None,
    )


def _run(stream, path: str | Path) -> bytes:
    try:
        out, _ = stream.run(capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise BadInput(path, f"ffmpeg could not decode it ({_ffmpeg_error(exc)})") from exc
    return out


def read_frames(
    path: str | Path, start_s: float = 0.0, n_frames: int | None = None, fps: float = 1.0, size: int = 256
) -> np.ndarray:
    """Frames at `fps` from `start_s`, resized to size×size RGB, as uint8 (N, size, size, 3).

    Frame k is the picture shown at start_s + k/fps (ffmpeg's fps filter, rounding to the nearest frame).
    Still images give one frame.
    """
    inp = ffmpeg.input(str(path), ss=start_s) if start_s else ffmpeg.input(str(path))
    video = inp.video.filter("fps", fps=fps).filter("scale", size, size, flags="bilinear")
    args = {"format": "rawvideo", "pix_fmt": "rgb24"}
    if n_frames is not None:
        args["vframes"] = n_frames
    raw = _run(video.output("pipe:", **args), path)
    frames = np.frombuffer(raw, np.uint8)
    if frames.size == 0:
        raise BadInput(path, "no video frames could be decoded")
    return frames.reshape(-1, size, size, 3)


def read_image(path: str | Path, size: int = 256) -> np.ndarray:
    """A still image resized to size×size RGB, uint8 (size, size, 3): cv2 bilinear, as the reference (§1.2)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise BadInput(path, "not a readable image" if Path(path).is_file() else "file not found")
    return cv2.cvtColor(cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)


def decode_audio(
    path: str | Path, sample_rate: int, start_s: float = 0.0, duration_s: float | None = None
) -> np.ndarray:
    """Mono float32 waveform resampled by ffmpeg; `BadInput` when there is no audio stream."""
    inp = ffmpeg.input(str(path), ss=start_s, t=duration_s) if duration_s else ffmpeg.input(str(path), ss=start_s)
    out = inp.audio.output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=sample_rate)
    try:
        raw, _ = out.run(capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        message = _ffmpeg_error(exc)
        if "does not contain any stream" in message or "matches no streams" in message:
            raise BadInput(path, "no audio stream") from exc
        raise BadInput(path, f"ffmpeg could not decode its audio ({message})") from exc
    return np.frombuffer(raw, np.float32).copy()


def ffmpeg_version() -> str:
    """First line of `ffmpeg -version`, for logs and benchmarks."""
    return subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
