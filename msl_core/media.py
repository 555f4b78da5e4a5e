"""Decoding video frames and audio with one ffmpeg process per file (scaling, fps and resampling inside ffmpeg)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
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
    width: int | None = None  # as displayed: a phone clip's rotation (display matrix) already applied
    height: int | None = None
    frame_rate: float | None = None  # average frames per second of the video stream
    rotation: int = 0  # degrees the stored picture is turned for display (ffmpeg decodes it upright)


def _rate(stream: dict) -> float | None:
    """A stream's frame rate (average, else nominal); None when ffprobe does not know it."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        num, _, den = str(stream.get(key, "0/0")).partition("/")
        if den and float(den) > 0 and float(num) > 0:
            return float(num) / float(den)
    return None


_ALIASES: tempfile.TemporaryDirectory | None = None


def ffmpeg_name(path: str | Path) -> str:
    """`path` as ffmpeg-python can pass it: a file name that is not valid UTF-8 (ffmpeg-python cannot encode it)
    is reached through an ASCII-named symbolic link in a private folder that lives as long as the process."""
    global _ALIASES
    name = str(path)
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    if _ALIASES is None:
        _ALIASES = tempfile.TemporaryDirectory(prefix="msl-names-")
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:16]
    alias = Path(_ALIASES.name) / f"{digest}{Path(os.fsencode(name).decode('ascii', 'replace')).suffix}"
    if not alias.is_symlink():
        os.symlink(os.path.abspath(os.fsencode(name)), os.fsencode(alias))
    return str(alias)


def _ffmpeg_error(exc: ffmpeg.Error) -> str:
    text = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
    return text[-1] if text else "ffmpeg failed"


def _rotation(stream: dict) -> int:
    """The display rotation of a video stream in degrees: its display matrix, else an old `rotate` tag."""
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return round(float(side["rotation"])) % 360
    return int(stream.get("tags", {}).get("rotate", 0)) % 360


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
        info = ffmpeg.probe(ffmpeg_name(path))
    except ffmpeg.Error as exc:
        raise BadInput(path, f"unreadable media ({_ffmpeg_error(exc)})") from exc
    container = info.get("format", {})
    video = next((s for s in info["streams"] if s["codec_type"] == "video"), None)
    audio = next((s for s in info["streams"] if s["codec_type"] == "audio"), None)
    size, turn = (None, None), 0
    if video:
        turn = _rotation(video)
        size = (int(video["width"]), int(video["height"]))
        size = size[::-1] if turn % 180 == 90 else size
    return MediaInfo(
        path=str(path),
        video_duration=_stream_duration(video, container) if video else None,
        audio_duration=_stream_duration(audio, container) if audio else None,
        width=size[0],
        height=size[1],
        frame_rate=_rate(video) if video else None,
        rotation=turn,
    )


# Shortfall of the decodable media against the header that is still one clip (about one frame or AAC packet).
CUT_TOLERANCE_S = 0.1
_COUNT_RATE = 8000  # audio is decoded at this rate only to count its seconds


def decodable_seconds(path: str | Path) -> tuple[float | None, float | None]:
    """Seconds of video and of audio that can actually be read, not what the header says: the video's packets at
    its frame rate (demuxed, not decoded) and the decoded audio. A file cut mid-stream has fewer of either."""
    try:
        info = ffmpeg.probe(ffmpeg_name(path), count_packets=None, select_streams="v:0",
                            show_entries="stream=nb_read_packets,avg_frame_rate,r_frame_rate")
    except ffmpeg.Error as exc:
        raise BadInput(path, f"unreadable media ({_ffmpeg_error(exc)})") from exc
    video = None
    for stream in info.get("streams", []):
        rate = _rate(stream)
        if rate and stream.get("nb_read_packets") not in (None, "N/A"):
            video = int(stream["nb_read_packets"]) / rate
    try:
        audio = decode_audio(path, _COUNT_RATE).size / _COUNT_RATE
    except BadInput as exc:
        if exc.reason != "no audio stream":
            raise
        audio = None
    return video, audio


def check_whole(path: str | Path, what: str, declared: float | None, decodable: float | None) -> None:
    """`BadInput` when a stream's decodable seconds fall short of its declared duration (a file cut mid-stream)."""
    if declared is not None and decodable is not None and decodable < declared - CUT_TOLERANCE_S:
        raise BadInput(path, f"cut short: its header says {declared:.2f} s of {what}, only {decodable:.2f} s decode")


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
    name = ffmpeg_name(path)
    inp = ffmpeg.input(name, ss=start_s) if start_s else ffmpeg.input(name)
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
    try:  # cv2.imread would need a UTF-8 name: read the bytes, decode them
        image = cv2.imdecode(np.fromfile(os.fsencode(str(path)), np.uint8), cv2.IMREAD_COLOR)
    except OSError:
        image = None
    if image is None:
        raise BadInput(path, "not a readable image" if Path(path).is_file() else "file not found")
    return cv2.cvtColor(cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)


def decode_audio(
    path: str | Path, sample_rate: int, start_s: float = 0.0, duration_s: float | None = None
) -> np.ndarray:
    """Mono float32 waveform resampled by ffmpeg; `BadInput` when there is no audio stream."""
    name = ffmpeg_name(path)
    inp = ffmpeg.input(name, ss=start_s, t=duration_s) if duration_s else ffmpeg.input(name, ss=start_s)
    out = inp.audio.output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=sample_rate)
    try:
        raw, _ = out.run(capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        message = _ffmpeg_error(exc)
        stderr = (exc.stderr or b"").decode(errors="replace")
        if "does not contain any stream" in stderr or "matches no streams" in stderr:
            raise BadInput(path, "no audio stream") from exc
        raise BadInput(path, f"ffmpeg could not decode its audio ({message})") from exc
    return np.frombuffer(raw, np.float32).copy()


def ffmpeg_version() -> str:
    """First line of `ffmpeg -version`, for logs and benchmarks."""
    return subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
