"""Decoding video frames and audio with one ffmpeg process per file (scaling, fps and resampling inside ffmpeg)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import ffmpeg
import numpy as np

from msl_core.config import default
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


@dataclass
class Decoded:
    """One pass over a file: frames at `fps` (None for audio only), mono audio, and what it says of itself: the
    container's declared duration and the seconds of video and audio that actually decoded (from the start)."""

    frames: np.ndarray | None  # (N, size, size, 3) uint8
    wave: np.ndarray  # float32 at the requested rate, from start_s
    declared: float | None
    video_s: float | None
    audio_s: float


def decode(path: str | Path, sample_rate: int, fps: float | None = None, size: int = default("frames.size"),
           start_s: float = 0.0) -> Decoded:
    """Frames at `fps` from `start_s` (frame k is the picture shown at start_s + k/fps: ffmpeg's fps filter, nearest
    frame; resized to size×size RGB, bilinear) and the mono audio resampled to `sample_rate`, from ONE ffmpeg process
    that decodes both streams to two pipes. Its log (verbose) gives the header's duration and the counts decoded,
    so no probe runs. `BadInput` naming the problem when the file is missing, unreadable or lacks a stream."""
    if not Path(path).is_file():
        raise BadInput(path, "file not found")
    read_fd, write_fd = os.pipe()
    seek = ["-ss", f"{start_s:.6f}"] if start_s else []
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "verbose", *seek, "-i", ffmpeg_name(path)]
    if fps is not None:
        cmd += ["-map", "0:v:0", "-vf", f"fps=fps={fps},scale={size}:{size}:flags=bilinear",
                "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    cmd += ["-map", "0:a:0", "-ac", "1", "-ar", str(sample_rate), "-acodec", "pcm_f32le", "-f", "f32le",
            f"pipe:{write_fd}"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(write_fd,)) as proc:
        os.close(write_fd)
        with ThreadPoolExecutor(2) as pool:  # both pipes drain at once, or ffmpeg blocks on a full one
            audio = pool.submit(_drain, read_fd)
            log = pool.submit(proc.stderr.read)
            video = proc.stdout.read()
            raw_audio, text = audio.result(), log.result().decode(errors="replace")
        proc.wait()
    if proc.returncode != 0:
        raise BadInput(path, _decode_failure(text))
    frames = np.frombuffer(video, np.uint8).reshape(-1, size, size, 3) if fps is not None else None
    wave = np.frombuffer(raw_audio, np.float32).copy()
    return Decoded(frames, wave, _declared(text), _video_seconds(text, start_s) if fps is not None else None,
                   start_s + wave.size / sample_rate)


def _drain(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read()


def _decode_failure(log: str) -> str:
    if re.search(r"Stream map '0:a:0' matches no streams", log):
        return "no audio stream"
    if re.search(r"Stream map '0:v:0' matches no streams", log):
        return "no video stream"
    errors = [line for line in log.splitlines() if line.strip() and not line.startswith((" ", "["))]
    last = errors[-1] if errors else "ffmpeg failed"
    return f"unreadable media ({last.split(': ', 1)[-1] if last.startswith(('/', '.')) else last})"


def _declared(log: str) -> float | None:
    match = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", log)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _video_seconds(log: str, start_s: float) -> float | None:
    """Seconds of video decoded: the frames that reached the fps filter (after the seek) at the stream's rate."""
    rate = re.search(r"Stream #0:\d+.*?: Video: .*?(\d+(?:\.\d+)?)(k?) (?:fps|tbr)", log)
    count = re.search(r"Parsed_fps_0 @ \w+\] (\d+) frames in", log)
    if not rate or not count:
        return None
    fps = float(rate.group(1)) * (1000 if rate.group(2) else 1)
    return start_s + int(count.group(1)) / fps


def check_whole(path: str | Path, decoded: Decoded) -> None:
    """`BadInput` when the file ends before its header says (cut mid-stream): the container lasts as long as its
    longest stream, so the longest decoded stream must reach the declared duration."""
    reached = max(s for s in (decoded.video_s, decoded.audio_s) if s is not None)
    if decoded.declared is not None and reached < decoded.declared - CUT_TOLERANCE_S:
        raise BadInput(path, f"cut short: its header says {decoded.declared:.2f} s, only {reached:.2f} s decode")


def read_image(path: str | Path, size: int = default("frames.size")) -> np.ndarray:
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

