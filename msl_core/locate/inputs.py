"""The model's inputs from user media, with the parameters stored in the model file.

Window j covers [j/fps, j/fps + window_s) of the sound; its frame is the picture shown at j/fps (as ingestion
pairs a window with the frame at its start). At fps = 1/window_s the windows are the method's own; a higher
fps slides the same window in smaller steps for smoother maps.
"""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from msl_core import media
from msl_core.errors import BadInput
from msl_core.spectrogram import transform
from msl_core.training.model_file import InferenceSpec


@dataclass(frozen=True)
class AudioWindows:
    """The decoded sound and the start time of each window (log-mel is computed per batch, so memory stays flat)."""

    wave: np.ndarray
    starts: np.ndarray  # (n,) seconds
    spec: InferenceSpec

    def __len__(self) -> int:
        return len(self.starts)

    def logmel(self, first: int, last: int) -> np.ndarray:
        """(last - first, T, n_mels) float32 log-mel of windows first..last-1."""
        sr = self.spec.logmel.sample_rate
        length = round(self.spec.window_s * sr)
        offsets = np.round(self.starts[first:last] * sr).astype(np.int64)
        return transform(np.stack([self.wave[o : o + length] for o in offsets]), self.spec.logmel)


def audio_windows(path: str | Path, spec: InferenceSpec, fps: float) -> AudioWindows:
    """Decode the sound of `path` once (any format ffmpeg reads) and place windows every 1/fps seconds."""
    sr = spec.logmel.sample_rate
    wave = media.decode_audio(path, sr)
    length = round(spec.window_s * sr)
    if wave.size < length:
        raise BadInput(path, f"the sound lasts {wave.size / sr:.2f} s, shorter than one {spec.window_s:g}-s window")
    n = 1 + int((wave.size - length) * fps / sr + 1e-6)
    return AudioWindows(wave, np.arange(n) / fps, spec)


def model_frame(picture: np.ndarray, spec: InferenceSpec) -> np.ndarray:
    """A picture of any size (H, W, 3) RGB uint8 → the model's frame size, bilinear (the whole picture, no crop)."""
    h, w = spec.frame_size
    return cv2.resize(picture, (w, h), interpolation=cv2.INTER_LINEAR)


def read_picture(path: str | Path) -> np.ndarray:
    """A still image at its own resolution, RGB uint8."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise BadInput(path, "not a readable image" if Path(path).is_file() else "file not found")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def check_video(path: str | Path) -> media.MediaInfo:
    """Probe a video for `locate`: it needs a picture and a sound."""
    info = media.probe(path)
    if info.width is None or info.video_duration is None:
        raise BadInput(path, "is a still image or has no video stream: give a sound with it (msl locate IMAGE AUDIO)")
    if info.audio_duration is None:
        raise BadInput(path, "has no audio stream: msl locate needs the sound (give a separate one: IMAGE AUDIO)")
    return info if info.frame_rate else dataclasses.replace(info, frame_rate=25.0)


def frames_at(path: str | Path, info: media.MediaInfo, wanted: np.ndarray) -> Iterator[np.ndarray]:
    """The pictures at frame indices `wanted` (ascending, repeats allowed) of the video resampled to a constant
    `info.frame_rate`, upright and at display size, RGB uint8 (H, W, 3); an index past the last frame gives the
    last frame (the sound outlasts the picture). ffmpeg decodes every frame but converts and sends only these."""
    picks, repeats = np.unique(np.asarray(wanted, np.int64), return_counts=True)
    got, last = 0, None
    for last in _select(path, info, _any_of(picks.tolist())):
        yield from [last] * int(repeats[got])
        got += 1
    if got < len(picks):  # past the end: the video's last frame, from a second pass that converts only the tail
        for last in _select(path, info, f"gte(n,{picks[got - 1] + 1 if got else 0})"):
            pass
        if last is None:
            raise BadInput(path, "no video frame could be decoded")
        yield from [last] * int(repeats[got:].sum())


def _any_of(picks: list[int]) -> str:
    """An ffmpeg expression true when the frame index n is one of `picks` (ascending): a balanced tree of
    if(lt(n, middle), …) over short eq() sums, as ffmpeg's expressions nest at most 100 deep (a flat sum of 101
    terms already fails)."""
    if len(picks) <= 8:
        return "+".join(f"eq(n,{i})" for i in picks)
    mid = len(picks) // 2
    return f"if(lt(n,{picks[mid]}),{_any_of(picks[:mid])},{_any_of(picks[mid:])})"


def _select(path: str | Path, info: media.MediaInfo, condition: str) -> Iterator[np.ndarray]:
    """Frames of the constant-rate video whose index n makes `condition` (an ffmpeg expression) true, from one
    ffmpeg (the filter goes through a script file: one term per window has no command-line limit)."""
    w, h = info.width, info.height
    with tempfile.TemporaryDirectory(prefix="msl-locate-") as tmp:
        script, err_path = Path(tmp) / "select.txt", Path(tmp) / "stderr.txt"
        script.write_text(f"fps={info.frame_rate},select='{condition}'")
        cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", media.ffmpeg_name(path), "-map", "0:v:0",
               "-filter_script:v", str(script), "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "pipe:"]
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        try:
            while len(buf := proc.stdout.read(w * h * 3)) == w * h * 3:
                yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
        finally:
            proc.stdout.close()
            code = proc.wait()
        message = err_path.read_text(errors="replace").strip().splitlines()
    if code != 0:
        raise BadInput(path, f"ffmpeg could not decode its video ({message[-1] if message else f'exit {code}'})")
