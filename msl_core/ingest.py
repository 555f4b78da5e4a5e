"""Ingestion: the index's rows → frames.h5 (uint8 frames) and logmel.h5 (log-mel windows), one ffmpeg call per clip."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from tqdm import tqdm

from msl_core import media
from msl_core.errors import BadInput
from msl_core.spectrogram import EfficientATParams, LogMelParams, front_end_name, transform, windows
from msl_core.store import write_index_datasets, write_rows

log = logging.getLogger(__name__)


def clip_frames(rows: pd.DataFrame, size: int = 256) -> np.ndarray:
    """(len(rows), size, size, 3) uint8: the frame at each row's window start."""
    first = rows.iloc[0]
    if not first["video_path"]:
        return media.read_image(first["image_path"], size)[None]
    n = len(rows)
    frames = media.read_frames(first["video_path"], start_s=float(first["start_s"]), n_frames=n,
                               fps=1.0 / float(first["window_s"]), size=size)
    if len(frames) != n:  # never repeated or dropped: the index counted what decodes
        raise BadInput(first["video_path"], f"decoded {len(frames)} frame(s) from {float(first['start_s']):g} s, "
                                            f"the index expects {n}")
    return frames


def clip_logmels(rows: pd.DataFrame, params: LogMelParams | EfficientATParams) -> np.ndarray:
    """(len(rows), T, n_mels) float32: each row's audio window as log-mel."""
    first = rows.iloc[0]
    path = first["video_path"] or first["audio_path"]
    window_s = float(first["window_s"])
    wave = media.decode_audio(path, params.sample_rate, start_s=float(first["start_s"]),
                              duration_s=len(rows) * window_s)
    needed = round(len(rows) * window_s * params.sample_rate)
    if wave.size < needed - round(media.CUT_TOLERANCE_S * params.sample_rate):  # never padded beyond that
        raise BadInput(path, f"decoded {wave.size / params.sample_rate:.2f} s of audio from "
                             f"{float(first['start_s']):g} s, the index expects {needed / params.sample_rate:.2f} s")
    return transform(windows(wave, len(rows), window_s, params.sample_rate), params)


def write_frames(index: pd.DataFrame, out_path: str | Path, size: int = 256, workers: int = 1) -> None:
    write_rows(out_path, "frames", index, (size, size, 3), np.uint8, lambda rows: clip_frames(rows, size),
               attrs={"size": size}, compression="lzf", desc="frames", workers=workers)


def write_logmels(index: pd.DataFrame, out_path: str | Path, params: LogMelParams | EfficientATParams,
                  workers: int = 1) -> None:
    window_s = _single_window(index)
    attrs = dict(vars(params)) | {"window_s": window_s, "front_end": front_end_name(params)}
    write_rows(out_path, "logmel", index, (params.n_frames(window_s), params.n_mels), np.float32,
               lambda rows: clip_logmels(rows, params), attrs=attrs, desc="log-mel", workers=workers)


def _single_window(index: pd.DataFrame) -> float:
    sizes = index["window_s"].unique()
    if len(sizes) != 1:
        raise BadInput("index.csv", f"rows have several window lengths {sorted(sizes)}; one per dataset")
    return float(sizes[0])


# ---------------------------------------------------------------------------------------------------------------------
# Whole-file test audio (the reference's Flickr test loader, method.md §1.1, §5.1)


def whole_file_logmel(row: pd.Series, params: LogMelParams | EfficientATParams) -> np.ndarray:
    """(T, n_mels) log-mel of a row's whole recording, peak-normalised (method.md §1.1)."""
    path = row["video_path"] or row["audio_path"]
    wave = media.decode_audio(path, params.sample_rate)
    if wave.size == 0:
        raise BadInput(path, "no audio samples could be decoded")
    return transform(wave / (np.abs(wave).max() + float(np.spacing(1))), params)


def write_test_logmels(index: pd.DataFrame, out_path: str | Path, params: LogMelParams | EfficientATParams,
                       split: str = "test") -> int:
    """logmel_test.h5: the whole-file log-mel of every `split` row, variable length (flattened `logmel`, `n_frames`),
    with the index rows (`row`) it belongs to. Written to `.partial`, renamed when complete."""
    rows = index[index["split"] == split]
    if rows.empty:
        raise BadInput("index.csv", f"has no rows with split == '{split}'")
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    with h5py.File(partial, "w") as h5:
        data = h5.create_dataset("logmel", (len(rows),), dtype=h5py.vlen_dtype(np.float32))
        n_frames = h5.create_dataset("n_frames", (len(rows),), dtype=np.int32)
        h5.create_dataset("row", data=rows["row"].to_numpy(np.int64))
        write_index_datasets(h5, rows)
        for key, value in (vars(params) | {"peak_normalise": True, "front_end": front_end_name(params)}).items():
            data.attrs[key] = value
        for k, (_, row) in enumerate(tqdm(rows.iterrows(), total=len(rows), desc="test log-mel", unit="clip")):
            values = whole_file_logmel(row, params)
            data[k], n_frames[k] = values.reshape(-1), len(values)
    os.replace(partial, out_path)
    return len(rows)
