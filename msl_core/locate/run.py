"""`msl locate` end to end: one decode of the input, the frames batched through the model, one encode.

A video streams through two ffmpeg processes: one sends Python only the frames the windows are paired with (one
per window, at display size); the other decodes the video again, composites each window's drawing (an RGBA
layer, sent as soon as the window's maps are ready) over its frames, and encodes the picture with the input's
own sound. So no full-rate frame passes through Python. All files are written under temporary names and renamed
together at the end, so a failure leaves nothing half written.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Self, TypeVar

import cv2
import numpy as np
import torch
from tqdm import tqdm

from msl_core import media
from msl_core.config import default
from msl_core.errors import BadInput, ConfigError, MslError
from msl_core.locate.inputs import AudioWindows, audio_windows, check_video, frames_at, model_frame, read_picture
from msl_core.locate.overlay import Layer, colours, window_layer
from msl_core.locate.sources import Window, window_sources, write_csv, write_json
from msl_core.models.inference_rewrites import for_inference
from msl_core.models.localization import LocalizationConfig, localize_features
from msl_core.stores.atomic import atomic_files
from msl_core.training.model_file import load_model_file

T = TypeVar("T")
SOUND_BATCH = 64  # windows of sound per pass over a photo (its one frame goes through the vision net once per pass)


@dataclass(frozen=True)
class LocateOptions:
    fps: float = 1.0  # windows per second (1: the method's own non-overlapping 1-s windows)
    categories: tuple[str, ...] = ()  # report only these (default: all the model knows)
    threshold: float = default("evaluate.class_threshold")  # a category is heard when σ(z^a) exceeds this
    gate: str = default("evaluate.gate")  # `cam` keeps each category's map where its own visual CAM sees it
    contrast_heard: float = default("evaluate.contrast_heard")  # heard categories' maps drawn from what tells them apart
    video: bool = True  # False: JSON and CSV only
    threads: int | None = None  # CPU threads of the model (default: half the cores while the encoder runs beside it)
    batch_size: int | None = None  # frames per forward pass (default: 1 on CPU, where it keeps them in cache; 16 on GPU)
    progress: bool = True


@dataclass(frozen=True)
class Located:
    json: Path
    csv: Path
    picture: Path | None  # the overlay .mp4 (video) or .png (image + sound)
    windows: list[Window]


class Locator:
    """A stage-2 model file ready to turn frames + log-mel into per-window sources."""

    def __init__(self, model_path: str | Path, opts: LocateOptions, device: torch.device | None = None) -> None:
        if opts.fps <= 0:
            raise MslError(f"--fps must be positive, got {opts.fps}")
        self.device = device or torch.device("cpu")
        self.file = load_model_file(model_path, self.device)
        for_inference(self.file.model)
        if self.file.stage != 2:
            raise BadInput(model_path, f"is a stage-{self.file.stage} model; msl locate needs the stage-2 model "
                                       "(results/<dataset>/stage2/model.pt)")
        self.opts, self.spec, self.categories = opts, self.file.inference, self.file.categories
        unknown = [c for c in opts.categories if c not in self.categories]
        if unknown:
            raise BadInput(model_path, f"knows no category {', '.join(unknown)} (it knows: {', '.join(self.categories)})")
        self.keep = [self.categories.index(c) for c in opts.categories] or list(range(len(self.categories)))
        self.palette = colours(self.categories)
        self.on_screen = self.file.on_screen.threshold if self.file.on_screen else None
        self.batch_size = opts.batch_size or (1 if self.device.type == "cpu" else 16)
        self.localization = LocalizationConfig(class_threshold=opts.threshold, gate=opts.gate,
                                               contrast_heard=opts.contrast_heard)

    @torch.inference_mode()
    def hear(self, audio: AudioWindows) -> tuple[torch.Tensor, list[str]]:
        """The audio branch over every window once, before any frame is decoded: its features F^a (kept for the
        maps) and the categories heard in any window (the legend)."""
        model, chunks, heard = self.file.model, [], np.zeros(len(self.categories), bool)
        for first in range(0, len(audio), SOUND_BATCH):
            logmel = torch.from_numpy(audio.logmel(first, first + SOUND_BATCH)).to(self.device)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                fa = model.audio(logmel.unsqueeze(1).contiguous(memory_format=torch.channels_last))
            heard |= (torch.sigmoid(model.audio_head(fa).float().mean((2, 3))) > self.opts.threshold).any(0).cpu().numpy()
            chunks.append(fa)
        return torch.cat(chunks), [self.categories[c] for c in self.keep if heard[c]]

    @torch.inference_mode()
    def maps(self, frames: np.ndarray, fa: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """uint8 (N or 1, h, w, 3) model frames and their windows' F^a (N, …) → audio probabilities (N, C) and
        class maps (N, C, S, S). One frame serves all N windows (a photo)."""
        model, device = self.file.model, self.device
        x = model.prepare_frames(torch.from_numpy(frames).to(device))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            fv = model.vision(x).expand(len(fa), -1, -1, -1)
            out = localize_features(model, fv, fa, self.localization)
        return out["audio_prob"].float().cpu().numpy(), out["stage2_class"].float().cpu().numpy()

    @contextlib.contextmanager
    def threads(self, encoding: bool) -> Iterator[None]:
        """The model's CPU threads for one input. While ffmpeg encodes beside it, the model takes half the cores:
        OpenMP threads that share a core with the encoder wait on each other at every layer (on 2 cores, 2
        threads ran the benchmark ~5x slower than 1)."""
        before = torch.get_num_threads()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        torch.set_num_threads(self.opts.threads or (max(1, cores // 2) if encoding else before))
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def window(self, j: int, start_s: float, prob: np.ndarray, class_maps: np.ndarray, width: int,
               height: int) -> tuple[Window, dict[str, np.ndarray]]:
        return window_sources(j, start_s, self.spec.window_s, prob, class_maps, self.categories, self.keep,
                              self.opts.threshold, self.on_screen, width, height)

    def header(self, inputs: list[Path], width: int, height: int, duration: float) -> dict:
        return {"inputs": [str(p) for p in inputs], "model": str(self.file.path), "dataset": self.file.dataset,
                "categories": [self.categories[c] for c in self.keep], "threshold": self.opts.threshold,
                "on_screen_threshold": self.on_screen, "fps": self.opts.fps, "window_s": self.spec.window_s,
                "width": width, "height": height, "duration_s": round(duration, 3)}


class Outputs:
    """The files of one input, written as `<file>.partial` and renamed into place only when all succeeded
    (`stores.atomic`)."""

    def __init__(self, out_dir: Path, name: str, picture_suffix: str | None) -> None:
        self.final = {"json": out_dir / f"{name}.json", "csv": out_dir / f"{name}.csv"}
        if picture_suffix:
            self.final["picture"] = out_dir / f"{name}{picture_suffix}"
        self._files = atomic_files(*self.final.values())

    def __enter__(self) -> Self:
        self.tmp = dict(zip(self.final, self._files.__enter__()))
        return self

    def __exit__(self, *exc) -> None:
        self._files.__exit__(*exc)

    def located(self, windows: list[Window]) -> Located:
        return Located(self.final["json"], self.final["csv"], self.final.get("picture"), windows)


# The overlay's encoder settings (bench/locate_throughput.py times the same ones as its floor).
H264_AAC = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k"]


class OverlayEncoder:
    """One ffmpeg: decodes the input video itself (upright), composites each window's RGBA layer over the frames
    shown during that window (the overlay filter: layer j from j/fps s, the last one to the end), and encodes the
    picture with the input's own sound. Python sends only the layers, from a thread, so the model never waits
    on the encoder (and the encoder waits for a layer only when its frames need it)."""

    def __init__(self, out: Path, video: Path, width: int, height: int, fps: float) -> None:
        self.out, self.err = out, tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        graph = "[0:v:0][1:v]overlay=eof_action=repeat,pad=ceil(iw/2)*2:ceil(ih/2)*2[v]"
        cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", media.ffmpeg_name(video), "-f", "rawvideo",
               "-pix_fmt", "rgba", "-s", f"{width}x{height}", "-r", str(Fraction(fps).limit_denominator(1001)),
               "-i", "pipe:", "-filter_complex", graph, "-map", "[v]", "-map", "0:a:0", *H264_AAC,
               "-movflags", "+faststart", "-f", "mp4", str(out)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=self.err)
        self.layers: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=8)
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()

    def _feed(self) -> None:
        broken = False
        while (rgba := self.layers.get()) is not None:
            if not broken:  # after a failed write keep taking layers, so `write` never blocks; close() reports
                try:
                    self.proc.stdin.write(memoryview(np.ascontiguousarray(rgba)).cast("B"))
                except (BrokenPipeError, ValueError):
                    broken = True
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()

    def write(self, layer: Layer) -> None:
        self.layers.put(layer.rgba)

    def close(self) -> None:
        self.layers.put(None)
        self.feeder.join()
        code = self.proc.wait()
        self.err.seek(0)
        message = self.err.read().decode(errors="replace").strip().splitlines()
        self.err.close()
        if code != 0:
            raise MslError(f"{self.out}: ffmpeg could not write the overlay ({message[-1] if message else code})")

    def abort(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.layers.put(None)
        self.feeder.join()
        self.proc.wait()
        self.err.close()


class Ahead(Iterator[T]):
    """`items` made by a thread (started at once) up to `depth` ahead of the caller, their exceptions raised here;
    `close` stops the thread. Reading a pipe and resizing a picture release the GIL, so the frames are decoded
    and resized while the model runs."""

    _END = object()

    def __init__(self, items: Iterator[T], depth: int) -> None:
        self._items, self._made, self._stop = items, queue.Queue(maxsize=depth), threading.Event()
        self._maker = threading.Thread(target=self._make, daemon=True)
        self._maker.start()

    def _make(self) -> None:
        with contextlib.closing(self._items):
            try:
                for item in self._items:
                    while not self._stop.is_set():
                        with contextlib.suppress(queue.Full):
                            self._made.put(item, timeout=0.05)
                            break
                    if self._stop.is_set():
                        return
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                self._made.put(exc)
                return
        self._made.put(self._END)

    def __next__(self) -> T:
        item = self._made.get()
        if item is self._END or isinstance(item, BaseException):
            self._made.put(item)  # every later call ends the same way
            if isinstance(item, BaseException):
                raise item
            raise StopIteration
        return item

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            self._made.get_nowait()  # a maker blocked on a full queue sees the stop
        self._maker.join()


def video_windows(loc: Locator, path: Path, info: media.MediaInfo, audio: AudioWindows,
                  draw: Callable[[Layer], None] | None) -> list[Window]:
    """The windows of a video in order; each one's drawing goes to `draw` as soon as its maps are ready."""
    # window j is paired with the frame shown at its start; their decoding starts now, beside the audio branch
    picks = np.round(audio.starts * info.frame_rate).astype(np.int64)
    frames = Ahead((model_frame(frame, loc.spec) for frame in frames_at(path, info, picks)), depth=2)
    with contextlib.closing(frames):
        return _windows(loc, path, info, audio, frames, draw)


def _windows(loc: Locator, path: Path, info: media.MediaInfo, audio: AudioWindows, frames: Iterator[np.ndarray],
             draw: Callable[[Layer], None] | None) -> list[Window]:
    fa, heard = loc.hear(audio)
    windows, batch, w, h = [], [], info.width, info.height
    bar = tqdm(total=len(audio), desc=f"locate {path.name}", unit="window", file=sys.stderr,
               disable=not loc.opts.progress)

    def run_batch() -> None:
        first = len(windows)
        prob, class_maps = loc.maps(np.stack(batch), fa[first : first + len(batch)])
        for k in range(len(batch)):
            window, maps = loc.window(first + k, audio.starts[first + k], prob[k], class_maps[k], w, h)
            windows.append(window)
            if draw and window.start_s < info.video_duration:  # a later layer would outlast the picture
                draw(window_layer(window, maps, loc.palette, heard, w, h))
        bar.update(len(batch))
        batch.clear()

    with bar:
        for frame in frames:
            batch.append(frame)
            if len(batch) == loc.batch_size:
                run_batch()
        if batch:
            run_batch()
    return windows


def locate_video(loc: Locator, path: Path, info: media.MediaInfo, out_dir: Path, name: str | None = None) -> Located:
    """Sources per window of a video (`info`: its `check_video`), and its overlay (unless `video=False`)."""
    with Outputs(out_dir, name or path.stem, ".mp4" if loc.opts.video else None) as out:
        # the encoder starts first: it opens the file and encodes the sound while the sound is decoded here
        encoder = OverlayEncoder(out.tmp["picture"], path, info.width, info.height, loc.opts.fps) \
            if loc.opts.video else None
        try:
            audio = audio_windows(path, loc.spec, loc.opts.fps)
            with loc.threads(encoding=encoder is not None):
                windows = video_windows(loc, path, info, audio, encoder.write if encoder else None)
            if encoder:
                encoder.close()
        except BaseException:
            if encoder:
                encoder.abort()
            raise
        duration = max(info.video_duration or 0.0, info.audio_duration or 0.0)
        write_json(out.tmp["json"], loc.header([path], info.width, info.height, duration), windows)
        write_csv(out.tmp["csv"], windows)
    return out.located(windows)


def locate_image(loc: Locator, image: Path, sound: Path, out_dir: Path, name: str | None = None) -> Located:
    """Sources per window of a sound over one photo; the PNG draws each category heard anywhere in the sound with
    its maximum probability and its map averaged over the windows where it is heard."""
    picture = read_picture(image)
    h, w = picture.shape[:2]
    audio = audio_windows(sound, loc.spec, loc.opts.fps)
    frame, c = model_frame(picture, loc.spec), len(loc.categories)
    fa, _ = loc.hear(audio)
    windows, top, sums, counts = [], np.zeros(c, np.float32), None, np.zeros(c)
    for first in tqdm(range(0, len(audio), SOUND_BATCH), desc=f"locate {image.name}", file=sys.stderr,
                      disable=not loc.opts.progress):
        prob, class_maps = loc.maps(frame[None], fa[first : first + SOUND_BATCH])
        for k in range(len(prob)):
            windows.append(loc.window(first + k, audio.starts[first + k], prob[k], class_maps[k], w, h)[0])
            heard = prob[k] > loc.opts.threshold
            sums = np.zeros_like(class_maps[k]) if sums is None else sums
            sums[heard] += class_maps[k][heard]
            counts += heard
            top = np.maximum(top, prob[k])
    duration = audio.wave.size / loc.spec.logmel.sample_rate
    with Outputs(out_dir, name or image.stem, ".png" if loc.opts.video else None) as out:
        if loc.opts.video:
            mean_maps = sums / np.maximum(counts, 1)[:, None, None]
            summary, maps = window_sources(-1, 0.0, duration, top, mean_maps, loc.categories, loc.keep,
                                           loc.opts.threshold, loc.on_screen, w, h)
            drawn = window_layer(summary, maps, loc.palette, [s.category for s in summary.sources], w, h).apply(picture)
            encoded, png = cv2.imencode(".png", cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
            if not encoded:
                raise MslError(f"{out.final['picture']}: could not write the PNG")
            out.tmp["picture"].write_bytes(png.tobytes())
        write_json(out.tmp["json"], loc.header([image, sound], w, h, duration), windows)
        write_csv(out.tmp["csv"], windows)
    return out.located(windows)


def locate(inputs: list[str | Path], model: str | Path | Locator, out_dir: str | Path,
           opts: LocateOptions = LocateOptions(), device: torch.device | None = None, name: str | None = None) -> Located:
    """VIDEO, or IMAGE AUDIO → files in `out_dir` named `name` (default: after the first input)."""
    paths = [Path(p) for p in inputs]
    if len(paths) not in (1, 2):
        raise MslError(f"give one video, or one image and one sound; got {len(paths)} files")
    for p in paths:
        if not p.is_file():
            raise BadInput(p, "file not found")
    if len(paths) == 2:
        loc = model if isinstance(model, Locator) else Locator(model, opts, device)
        return locate_image(loc, paths[0], paths[1], Path(out_dir), name)
    with ThreadPoolExecutor(1) as pool:  # ffprobe reads the video while the model loads
        probed = pool.submit(check_video, paths[0])
        loc = model if isinstance(model, Locator) else Locator(model, opts, device)
        return locate_video(loc, paths[0], probed.result(), Path(out_dir), name)


def locate_test_clips(index_csv: str | Path, model: str | Path, out_dir: str | Path, n: int, opts: LocateOptions,
                      device: torch.device | None = None) -> list[tuple[str, Path, Path]]:
    """Overlays of the first `n` test clips of a dataset's index.csv → [(clip id, overlay, JSON)]."""
    import pandas as pd

    if n < 1:
        raise ConfigError("evaluate.overlays", f"is {n}: set it to the number of test clips to draw")
    index = pd.read_csv(index_csv, keep_default_na=False)
    clips = index[index["split"] == "test"].drop_duplicates("clip_id").head(n)
    if clips.empty:
        raise BadInput(index_csv, "has no test clips to draw")
    loc, done = Locator(model, opts, device), []
    for clip in clips.itertuples():
        media = [clip.video_path] if clip.video_path else [clip.image_path, clip.audio_path]
        located = locate(media, loc, out_dir, name=str(clip.clip_id))
        done.append((str(clip.clip_id), located.picture, located.json))
    return done
