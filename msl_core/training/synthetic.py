"""Random but well-formed contract files (frames/logmel/labels HDF5 + index.csv) for tests and benchmarks, written
by the stores' own writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.spectrogram import EfficientATParams, LogMelParams
from msl_core.stores.frames import frames_writer
from msl_core.stores.labels import write_labels
from msl_core.stores.logmel import logmel_writer
from msl_core.training.data import TrainingFiles


def write_synthetic_inputs(folder: str | Path, n: int = 12, n_frames: int = 51, num_classes: int = 3,
                           size: int = 64, splits: tuple[str, ...] = ("train", "train", "test"),
                           seed: int = 0, n_mels: int = LogMelParams.n_mels, front_end: str = "librosa") -> TrainingFiles:
    """Write n rows of random uint8 frames (n, size, size, 3), log-mel (n, T, n_mels), soft labels (n, C), index."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = TrainingFiles(folder / "frames.h5", folder / "logmel.h5", folder / "labels.h5", folder / "index.csv")
    index = pd.DataFrame({"row": range(n), "clip_id": [f"clip{i // 3:03d}" for i in range(n)],
                          "second": [i % 3 for i in range(n)], "split": [splits[i % len(splits)] for i in range(n)]})
    with frames_writer(files.frames, size, key="synthetic") as frames:
        frames.append(rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8))
        frames.finish(index)
    params = LogMelParams(n_mels=n_mels) if front_end == "librosa" else EfficientATParams(n_mels=n_mels)
    loc, scale = (-5.0, 3.0) if front_end == "librosa" else (0.0, 0.5)  # each front end's typical range
    window_s = (n_frames - 1) * params.hop_length / params.sample_rate
    with logmel_writer(files.logmel, index, n_frames, params, window_s) as logmel:
        logmel[...] = rng.normal(loc, scale, (n, n_frames, n_mels)).astype(np.float32)
    audio, visual = (rng.random((n, num_classes), dtype=np.float32) for _ in range(2))
    write_labels(files.labels, audio, visual, [f"class{c}" for c in range(num_classes)], "synthetic", index)
    index.to_csv(files.index, index=False)
    return files
