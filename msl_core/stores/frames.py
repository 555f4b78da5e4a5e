"""frames.h5 and audio.h5 (docs/architecture.md), written by ingestion clip by clip: each row's RGB frame and its
mono audio window, row-aligned with index.csv. Their shapes and parameters are their attributes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from msl_core.errors import BadInput
from msl_core.stores.append import AppendStore
from msl_core.stores.hdf5 import Store


def frames_writer(out: str | Path, size: int, key: str) -> AppendStore:
    """frames.h5 grown clip by clip: `frames` uint8 (N, size, size, 3), attr `size`."""
    return AppendStore(out, "frames", (size, size, 3), np.uint8, key, {"size": size})


def audio_writer(out: str | Path, sample_rate: int, window_s: float, key: str) -> AppendStore:
    """audio.h5 grown clip by clip: `audio` float32 (N, window samples), attrs `sample_rate`, `window_s`."""
    samples = round(window_s * sample_rate)
    return AppendStore(out, "audio", (samples,), np.float32, key, {"sample_rate": sample_rate, "window_s": window_s})


class FramesStore(Store):
    """frames.h5: `frames` uint8 (N, H, W, 3) and the index table."""

    required = ("frames",)

    def __init__(self, path: str | Path):
        super().__init__(path)
        shape, dtype = self.shape("frames"), self.dtypes["frames"]
        if len(shape) != 4 or shape[3] != 3 or dtype != np.uint8:
            raise BadInput(self.path, f"'frames' must be uint8 (N, H, W, 3), got {dtype} {shape}")

    def __len__(self) -> int:
        return self.shape("frames")[0]

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of every frame."""
        return tuple(int(s) for s in self.shape("frames")[1:3])


class AudioStore(Store):
    """audio.h5: `audio` float32 (N, samples) at attr `sample_rate`, windows of attr `window_s` seconds."""

    required = ("audio",)

    @property
    def sample_rate(self) -> int:
        return int(self.attr("sample_rate", "audio"))

    @property
    def window_s(self) -> float:
        return float(self.attr("window_s", "audio"))


class RepeatedFrames:
    """Rows whose picture (and, where given, side data such as its boxes) repeats an earlier row's, found by content
    digest. A static shot repeats its picture every second (the default demo's 1 248 frames hold 316 distinct
    pictures), and the per-frame teachers and the frozen trunk give a picture the same numbers wherever it appears
    (msl_core.training.trunk_cache, BATCH), so each distinct picture needs computing once."""

    def __init__(self) -> None:
        self._first: dict[bytes, int] = {}

    def first(self, row: int, picture: np.ndarray, extra: np.ndarray | None = None) -> int:
        """The first row that held `picture` (and `extra`), `row` itself where it is new (rows come ascending)."""
        side = b"" if extra is None else np.ascontiguousarray(extra).tobytes()
        key = hashlib.blake2b(np.ascontiguousarray(picture).tobytes() + side, digest_size=16).digest()
        return self._first.setdefault(key, int(row))

    def sources(self, rows: np.ndarray, pictures: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
        """`first` for each of `rows`."""
        sides = [None] * len(rows) if extra is None else extra
        return np.array([self.first(r, p, e) for r, p, e in zip(rows, pictures, sides)], np.int64)
