"""Random but well-formed contract files (frames/logmel/labels HDF5 + index.csv) for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from msl_core.training.data import TrainingFiles


def write_synthetic_inputs(folder: str | Path, n: int = 12, n_frames: int = 51, num_classes: int = 3,
                           size: int = 64, splits: tuple[str, ...] = ("train", "train", "test"),
                           seed: int = 0, n_mels: int = 64, front_end: str = "librosa") -> TrainingFiles:
    """Write n rows of random uint8 frames (n, size, size, 3), log-mel (n, T, n_mels), soft labels (n, C), index."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = TrainingFiles(folder / "frames.h5", folder / "logmel.h5", folder / "labels.h5", folder / "index.csv")
    split = [splits[i % len(splits)] for i in range(n)]
    clip_id = [f"clip{i // 3:03d}" for i in range(n)]
    second = [i % 3 for i in range(n)]
    with h5py.File(files.frames, "w") as f:
        f.create_dataset("frames", data=rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8),
                         chunks=(1, size, size, 3))
    with h5py.File(files.logmel, "w") as f:
        loc, scale = (-5.0, 3.0) if front_end == "librosa" else (0.0, 0.5)  # each front end's typical range
        f.create_dataset("logmel", data=rng.normal(loc, scale, (n, n_frames, n_mels)).astype(np.float32))
        f["logmel"].attrs["front_end"] = front_end
    with h5py.File(files.labels, "w") as f:
        f.create_dataset("audio", data=rng.random((n, num_classes), dtype=np.float32))
        f.create_dataset("visual", data=rng.random((n, num_classes), dtype=np.float32))
        f.attrs["categories"] = [f"class{c}" for c in range(num_classes)]
    pd.DataFrame({"row": range(n), "clip_id": clip_id, "second": second, "split": split}).to_csv(files.index, index=False)
    return files
