"""Ingestion: manifest → index.csv, rejected.csv, frames.h5 (uint8 frames) and audio.h5 (waveform windows), row-aligned,
from one ffmpeg pass per clip that decodes both streams (the decode also says which clips are unusable); then
audio.h5 → logmel.h5 under the audio backbone's front end, without decoding again."""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from msl_core import media
from msl_core.errors import BadInput, MslError
from msl_core.manifest import Rejection, clip_rows, finish_index, read_index, write_index
from msl_core.spectrogram import EfficientATParams, LogMelParams, transform, windows
from msl_core.splits import describe, split_counts
from msl_core.stores.append import join_virtual, manifest_digest
from msl_core.stores.atomic import atomic_write
from msl_core.stores.frames import AudioStore, audio_writer, frames_writer
from msl_core.stores.logmel import logmel_writer, test_logmel_writer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outputs:
    index: Path
    rejected: Path
    frames: Path
    audio: Path

    @classmethod
    def in_folder(cls, folder: str | Path) -> Outputs:
        folder = Path(folder)
        return cls(folder / "index.csv", folder / "rejected.csv", folder / "frames.h5", folder / "audio.h5")


@dataclass(frozen=True)
class Settings:
    """What ingestion decodes per row: window length, frame side, the audio front end's sample rate."""

    window_s: float
    size: int
    sample_rate: int

    def key(self) -> str:
        return repr((self.window_s, self.size, self.sample_rate))


def ingest_clip(clip: pd.Series, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """One manifest clip → (frames (n, S, S, 3) uint8, audio windows (n, samples) float32), n = its whole windows,
    from one decode. `BadInput` when it is unusable: missing, unreadable, without a stream, cut short or too short."""
    window_s, rate = settings.window_s, settings.sample_rate
    start = float(clip["start_s"])
    if clip["video_path"]:
        source = clip["video_path"]
        decoded = media.decode(source, rate, fps=1.0 / window_s, size=settings.size, start_s=start)
    else:
        source = clip["audio_path"]
        image = media.read_image(clip["image_path"], settings.size)[None]
        decoded = media.decode(source, rate, start_s=start)
    media.check_whole(source, decoded)
    available = min(s for s in (decoded.video_s, decoded.audio_s) if s is not None) - start
    n = math.floor(available / window_s + 1e-6)
    if n < 1:
        raise BadInput(source, f"too short: {max(available, 0):.2f} s after start, one window needs {window_s:g} s")
    if decoded.frames is None:
        frames, n = image, 1  # a pair has one frame: one window, however long the recording
    elif len(decoded.frames) < n:  # never repeated: every row's frame was decoded
        raise BadInput(source, f"decoded {len(decoded.frames)} frame(s) for {n} window(s) of {window_s:g} s")
    else:
        frames = decoded.frames[:n]
    return frames, windows(decoded.wave, n, window_s, rate)


def ingest(manifest: pd.DataFrame, out: Outputs, settings: Settings, skip_bad_inputs: bool = False,
           workers: int = 1, shard: bool = False) -> tuple[pd.DataFrame, list[Rejection]]:
    """Every manifest clip, decoded once → `out.frames`, `out.audio` (rows appended in manifest order), then
    `out.index` and `out.rejected`. Bad clips are rejections when skipping; otherwise all clips are still checked
    and one `MslError` names them all, one line each, and no store is left behind. An interrupted run resumes
    from its last checkpoint (same manifest and settings only). A `shard` (`shard_of`) lists its bad clips and may
    have no usable one: `join_shards` decides."""
    key = manifest_digest(manifest, settings.key())
    with (frames_writer(out.frames, settings.size, key) as frames,
          audio_writer(out.audio, settings.sample_rate, settings.window_s, key) as audio):
        progress = Progress.load(out.index, key)
        if min(len(frames), len(audio)) < progress.n_rows():  # a store was lost: start over
            progress = Progress(progress.path, key)
        frames.truncate(progress.n_rows()), audio.truncate(progress.n_rows())  # rows past the checkpoint
        todo = manifest.iloc[len(progress.counts):]
        decoded = _in_order(lambda clip: _try(ingest_clip, clip, settings), [c for _, c in todo.iterrows()],
                            workers)
        for clip, result in tqdm(decoded, total=len(todo), desc="ingest", unit="clip"):
            if isinstance(result, BadInput):
                log.warning("%s clip %s: %s", "skipping" if skip_bad_inputs else "bad", clip["clip_id"], result)
                progress.rejected.append(Rejection(clip["clip_id"], result.path, result.reason))
            else:
                frames.append(result[0])
                audio.append(result[1])
            progress.counts.append(0 if isinstance(result, BadInput) else len(result[0]))
            if progress.due():
                frames.flush(), audio.flush(), progress.save()
        frames.flush(), audio.flush(), progress.save()  # a run stopped by bad clips resumes without decoding
        rows = [row for (_, clip), n in zip(manifest.iterrows(), progress.counts)
                for row in clip_rows(clip, n, settings.window_s)]
        index = finish_index(rows, progress.rejected, skip_bad_inputs or shard, require_rows=not shard)
        frames.finish(index), audio.finish(index)
    write_index(index, progress.rejected, out.index, out.rejected)
    progress.remove()
    return index, progress.rejected


def summary(index: pd.DataFrame) -> str:
    """"train 3 clips, …; train 30 rows, …": what a dataset holds, for the run's output."""
    clips = index.drop_duplicates("clip_id")
    return f"{describe(split_counts(clips), 'clips')}; {describe(split_counts(index), 'rows')}"


# ---------------------------------------------------------------------------------------------------------------------
# Shards: a dataset's clips ingested by several jobs, joined without a copy


def shard_of(manifest: pd.DataFrame, k: int, n: int) -> pd.DataFrame:
    """Shard k of n: a contiguous block of the manifest's clips, so the shards in order give the manifest order."""
    if not 0 <= k < n:
        raise MslError(f"shard {k} does not exist: there are {n} (ingest.shard_clips)")
    return manifest.iloc[k * len(manifest) // n:(k + 1) * len(manifest) // n]


def join_shards(shards: list[Outputs], out: Outputs, skip_bad_inputs: bool = False) -> tuple[pd.DataFrame,
                                                                                             list[Rejection]]:
    """The shards' index, rejections and stores as one dataset: rows renumbered in shard order, `frames` and
    `audio` HDF5 virtual datasets over the shards' files (nothing copied), the rows the same as one job's."""
    parts = [read_index(s.index) for s in shards]
    rejected = [Rejection(**r) for s in shards
                for r in pd.read_csv(s.rejected, dtype=str, keep_default_na=False).to_dict("records")]
    index = finish_index([r for part in parts for r in part.drop(columns="row").to_dict("records")], rejected,
                         skip_bad_inputs)
    join_virtual([s.frames for s in shards], "frames", out.frames, index)
    join_virtual([s.audio for s in shards], "audio", out.audio, index)
    write_index(index, rejected, out.index, out.rejected)
    return index, rejected


@dataclass
class Progress:
    """How far an ingestion got: windows per clip done (0 = rejected) and the rejections, saved beside the index
    (`<index>.progress.json`) at each checkpoint, after the stores are flushed."""

    path: Path
    key: str
    counts: list[int] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    saved_at: float = field(default_factory=time.monotonic)

    CHECKPOINT_S = 30.0

    @classmethod
    def load(cls, index: Path, key: str) -> Progress:
        path = Path(index).with_name(Path(index).name + ".progress.json")
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("key") != key:
            return cls(path, key)
        log.info("resuming ingestion: %d clips already done", len(state["counts"]))
        return cls(path, key, state["counts"], [Rejection(**r) for r in state["rejected"]])

    def n_rows(self) -> int:
        return sum(self.counts)

    def due(self) -> bool:
        return time.monotonic() - self.saved_at > self.CHECKPOINT_S

    def save(self) -> None:
        state = {"key": self.key, "counts": self.counts, "rejected": [vars(r) for r in self.rejected]}
        with atomic_write(self.path) as partial:
            partial.write_text(json.dumps(state))
        self.saved_at = time.monotonic()

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _try(fn, *args):
    try:
        return fn(*args)
    except BadInput as exc:
        return exc


def _in_order(fn, items: list, workers: int):
    """(item, fn(item)) in order, `workers` at once (ffmpeg decodes in its own process: threads suffice), with at
    most a few results waiting so memory stays bounded."""
    with ThreadPoolExecutor(max(1, workers)) as pool:
        pending = deque()
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) > 2 * max(1, workers):
                item, future = pending.popleft()
                yield item, future.result()
        while pending:
            item, future = pending.popleft()
            yield item, future.result()


# ---------------------------------------------------------------------------------------------------------------------
# Log-mel windows from the decoded audio


def write_logmels(audio: str | Path, out: str | Path, params: LogMelParams | EfficientATParams,
                  block_rows: int = 256) -> int:
    """logmel.h5: the log-mel of every audio.h5 row under the front end `params`, `block_rows` windows per
    transform, with the same index table. Returns the row count."""
    source = AudioStore(audio)
    if source.sample_rate != params.sample_rate:
        raise BadInput(audio, f"holds audio at {source.sample_rate} Hz, the front end reads {params.sample_rate} Hz")
    rows = source.rows("audio")
    with logmel_writer(out, source.index_table(), params.n_frames(source.window_s), params, source.window_s) as logmel:
        for start in tqdm(range(0, len(rows), block_rows), desc="log-mel", unit="block"):
            logmel[start:start + block_rows] = transform(rows.data[start:start + block_rows], params)
    return len(rows)


# ---------------------------------------------------------------------------------------------------------------------
# Whole-file test audio (the reference's Flickr test loader, docs/method.md §1.1, §5.1)


def whole_file_logmel(row: pd.Series, params: LogMelParams | EfficientATParams) -> np.ndarray:
    """(T, n_mels) log-mel of a row's whole recording, peak-normalised (docs/method.md §1.1)."""
    path = row["video_path"] or row["audio_path"]
    wave = media.decode_audio(path, params.sample_rate)
    if wave.size == 0:
        raise BadInput(path, "no audio samples could be decoded")
    return transform(wave / (np.abs(wave).max() + float(np.spacing(1))), params)


def write_test_logmels(index: pd.DataFrame, out_path: str | Path, params: LogMelParams | EfficientATParams,
                       split: str = "test") -> int:
    """logmel_test.h5: the whole-file log-mel of every `split` row, variable length (`stores.logmel`)."""
    rows = index[index["split"] == split]
    if rows.empty:
        raise BadInput("index.csv", f"has no rows with split == '{split}'")
    with test_logmel_writer(out_path, rows, params) as put:
        for k, (_, row) in enumerate(tqdm(rows.iterrows(), total=len(rows), desc="test log-mel", unit="clip")):
            put(k, whole_file_logmel(row, params))
    return len(rows)
