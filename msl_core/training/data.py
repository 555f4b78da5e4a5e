"""Training data from the contract files (docs/architecture.md): frames.h5, logmel.h5, labels.h5, index.csv, and
trunk.h5, the cached frozen trunk, when it is on (msl_core.training.trunk_cache).

Everything is checked once up front (row counts, shapes, dtypes, label range), so a bad file fails with its
name before any training step. Batches are read from HDF5 in one sorted selection per batch; frames stay
uint8 until they reach the device (`CoarseToFine.prepare_frames` converts and normalises them there).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from msl_core.errors import BadInput
from msl_core.stores.frames import FramesStore
from msl_core.stores.hdf5 import H5Rows
from msl_core.stores.labels import LabelsStore
from msl_core.stores.logmel import LogmelStore
from msl_core.training.distributed import RankSlices


@dataclass(frozen=True)
class TrainingFiles:
    frames: Path
    logmel: Path
    labels: Path
    index: Path
    trunk: Path | None = None  # the frozen stages' features (trunk.h5): training batches read them, not the frames


@dataclass(frozen=True)
class TrainingData:
    """Validated inputs: `rows` are the HDF5 rows of the chosen split, in file order."""

    files: TrainingFiles
    rows: np.ndarray  # (R,) int64
    clips: np.ndarray  # (R,) int64: the clip each row comes from (a batch takes one row per clip)
    n_rows: int  # rows in every file
    frame_size: tuple[int, int]  # (H, W): frames.h5's shape
    n_frames: int  # log-mel time steps T (n_mels, window and front end: `LogmelStore`, `model_file.inference_spec`)
    categories: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.categories)


def check_media(frames_path: Path, logmel_path: Path) -> tuple[FramesStore, LogmelStore]:
    """frames.h5 and logmel.h5, checked against each other (and the frame size against the backbone stride)."""
    frames, logmel = FramesStore(frames_path), LogmelStore(logmel_path)
    if len(frames) == 0:
        raise BadInput(frames_path, "'frames' is empty (0 rows)")
    if frames.size[0] % 16 or frames.size[1] % 16:
        raise BadInput(frames_path, f"frame size {frames.size} is not a multiple of the backbone stride 16")
    if len(logmel) != len(frames):
        raise BadInput(logmel_path, f"'logmel' has {len(logmel)} rows but {frames.path.name} has {len(frames)}: "
                                    "the files are not row-aligned")
    return frames, logmel


def check_front_end(logmel_path: Path, audio_backbone: str) -> None:
    """The store's front end must be the one the audio backbone reads (a pretrained trunk needs its own input)."""
    from msl_core.models.backbones import audio_backbone as backbone

    found = LogmelStore(logmel_path).front_end
    wanted = backbone(audio_backbone).front_end
    if found != wanted:
        raise BadInput(logmel_path, f"holds the {found} front end's log-mels, but model.audio_backbone "
                                    f"{audio_backbone} reads the {wanted} one: rerun the logmel rule")


def read_index(index_path: Path, n: int) -> pd.DataFrame:
    """index.csv, checked to be row-aligned with the n HDF5 rows and to carry a `split` column."""
    if not Path(index_path).is_file():
        raise BadInput(index_path, "file not found")
    index = pd.read_csv(index_path)
    if "split" not in index.columns:
        raise BadInput(index_path, f"has no 'split' column (columns: {list(index.columns)})")
    if len(index) != n:
        raise BadInput(index_path, f"has {len(index)} rows but the HDF5 files have {n}: not row-aligned")
    return index


def split_rows(index: pd.DataFrame, index_path: Path, split: str | None) -> np.ndarray:
    rows = np.arange(len(index), dtype=np.int64) if split is None else np.flatnonzero(index["split"].to_numpy() == split)
    if len(rows) == 0:
        raise BadInput(index_path, f"has no rows with split == '{split}'")
    return rows.astype(np.int64)


def check_labels(path: Path, n: int, num_classes: int | None) -> tuple[str, ...]:
    """Validate labels.h5 (row count, (N, C) shapes, values in [0, 1]) → its category names."""
    labels = LabelsStore(path)
    for name in ("audio", "visual"):
        if labels.shape(name)[0] != n:
            raise BadInput(path, f"'{name}' has {labels.shape(name)[0]} rows but frames.h5 has {n}: not row-aligned")
    c = len(labels.categories)
    if num_classes is not None and c != num_classes:
        raise BadInput(path, f"labels have {c} categories but the model was trained with {num_classes}")
    for name in ("audio", "visual"):
        values = labels.read(name)
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
            raise BadInput(path, f"'{name}' must hold finite values in [0, 1]")
    return labels.categories


def open_training_data(files: TrainingFiles, split: str | None = "train", num_classes: int | None = None) -> TrainingData:
    """Check the four files against each other and select the rows of `split` (None: all rows).

    `num_classes`: the category count the model expects (stage 2 from a stage-1 checkpoint), checked against labels.
    """
    frames, logmel = check_media(files.frames, files.logmel)
    n = len(frames)
    categories = check_labels(files.labels, n, num_classes)
    index = read_index(files.index, n)
    rows = split_rows(index, files.index, split)
    clips = pd.factorize(index["clip_id"].astype(str))[0] if "clip_id" in index else np.arange(n)
    return TrainingData(files, rows, clips[rows].astype(np.int64), n, frames.size, logmel.n_frames, categories)


class BatchReader(Dataset):
    """Reads whole batches: `reader[rows]` → dict of tensors, one sorted HDF5 selection per file.

    With `files.trunk` the batch holds each row's cached frozen-trunk features (`trunk`) instead of its `frames`,
    unless `pixels` (what localisation reads). The stores open lazily in each worker process (h5py handles must not
    cross a fork).
    """

    def __init__(self, files: TrainingFiles, pixels: bool = False) -> None:
        self.files = files
        visual = H5Rows(files.frames, "frames") if pixels or files.trunk is None else H5Rows(files.trunk, "trunk")
        self.stores = {visual.name: visual, "logmel": H5Rows(files.logmel, "logmel"),
                       "audio": H5Rows(files.labels, "audio"), "visual": H5Rows(files.labels, "visual")}

    def __len__(self) -> int:
        return len(self.stores["logmel"])

    def __getitem__(self, rows: list[int]) -> dict[str, torch.Tensor]:
        batch = {name: store.read(rows) for name, store in self.stores.items()}
        # frames (B, H, W, 3) uint8 or trunk (B, V, C, h, w); logmel (B, T, F), audio and visual (B, C) as float32
        return {name: torch.from_numpy(v if name == "frames" else v.astype(np.float32, copy=False))
                for name, v in batch.items()}


def epoch_generator(seed: int, epoch: int, stream: int = 0) -> torch.Generator:
    """A generator that depends only on (seed, epoch, stream): a resumed run draws exactly what it would have."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 101 + stream)


class EpochBatchSampler(Sampler[list[int]]):
    """Shuffled batches of the given rows, reshuffled per epoch from (seed, epoch) (`set_epoch`).

    With `clips`, a batch never holds two rows of one clip: both losses treat every off-diagonal pair of a batch
    as a non-match (docs/method.md §3.1), which two seconds of the same clip are not (AVE-style 1-s windows).
    A batch of one row is dropped: the correspondence loss needs a negative pair.
    """

    def __init__(self, rows: np.ndarray, batch_size: int, seed: int, clips: np.ndarray | None = None) -> None:
        if batch_size < 2:
            raise ValueError("batch_size must be ≥ 2 (the AVC loss needs negative pairs)")
        self.rows, self.batch_size, self.seed, self.epoch = rows, batch_size, seed, 0
        self.clips = np.arange(len(rows)) if clips is None else np.asarray(clips)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        perm = torch.randperm(len(self.rows), generator=epoch_generator(self.seed, self.epoch)).numpy()
        done, pending = [], []  # pending: (rows, clips) of batches still filling, oldest first
        for k in perm:
            target = next((b for b in pending if self.clips[k] not in b[1]), None)
            if target is None:
                target = ([], set())
                pending.append(target)
            target[0].append(int(self.rows[k]))
            target[1].add(self.clips[k])
            if len(target[0]) == self.batch_size:
                pending.remove(target)
                done.append(target[0])
        return done + [b[0] for b in pending if len(b[0]) >= 2]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches()

    def __len__(self) -> int:
        return len(self._batches())


def make_loader(data: TrainingData, batch_size: int, seed: int, workers: int, pin_memory: bool, rank: int = 0,
                world: int = 1) -> DataLoader:
    """A DataLoader of whole batches (the reader does the batching); workers persist across epochs.

    With `world` > 1 processes, this one (`rank`) reads its slice of every batch (distributed.py).
    """
    sampler = EpochBatchSampler(data.rows, batch_size, seed, data.clips)
    return DataLoader(
        BatchReader(data.files),
        sampler=sampler if world == 1 else RankSlices(sampler, rank, world),
        batch_size=None,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
    )
