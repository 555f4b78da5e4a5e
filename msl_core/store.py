"""HDF5 stores row-aligned with the index: written clip by clip with resume, read lazily per DataLoader worker."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from tqdm import tqdm

from msl_core.errors import BadInput

log = logging.getLogger(__name__)

STR = h5py.string_dtype("utf-8")


def index_digest(index: pd.DataFrame) -> str:
    """Fingerprint of the rows a store holds, so a partial file from another index is never resumed."""
    key = index[["clip_id", "second", "split", "start_s", "window_s"]].to_csv(index=False)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def write_rows(
    out_path: str | Path,
    name: str,
    index: pd.DataFrame,
    item_shape: tuple[int, ...],
    dtype: np.dtype,
    decode_clip: Callable[[pd.DataFrame], np.ndarray],
    attrs: dict | None = None,
    compression: str | None = None,
    desc: str = "",
    workers: int = 1,
) -> None:
    """Fill dataset `name` (N, *item_shape) clip by clip with `decode_clip(rows) -> (len(rows), *item_shape)`.

    `workers` clips are decoded at once (ffmpeg runs in its own process, so threads suffice); results are written
    in index order. Work goes to `<out>.partial` with a per-row `done` flag; an interrupted run resumes from it
    (same index only), and the file is renamed to `out_path` only when every row is written.
    """
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    digest = index_digest(index)
    with owned(partial), _open_partial(partial, digest) as h5:
        if name not in h5:
            _create(h5, name, index, item_shape, dtype, attrs or {}, compression)
        data, done = h5[name], h5["done"]
        todo = [(clip_id, rows) for clip_id, rows in index.groupby("clip_id", sort=False)
                if not done[rows["row"].to_numpy()].all()]
        if len(todo) < index["clip_id"].nunique():
            log.info("resuming %s: %d of %d clips already written", partial, index["clip_id"].nunique() - len(todo),
                     index["clip_id"].nunique())
        with ThreadPoolExecutor(max(1, workers)) as pool:
            decoded = pool.map(decode_clip, [rows for _, rows in todo])
            for (_, rows), values in tqdm(zip(todo, decoded), total=len(todo), desc=desc or name, unit="clip"):
                _write_clip(h5, data, done, rows, values, item_shape)
    os.replace(partial, out_path)


def _write_clip(h5: h5py.File, data: h5py.Dataset, done: h5py.Dataset, rows: pd.DataFrame, values: np.ndarray,
                item_shape: tuple[int, ...]) -> None:
    if values.shape != (len(rows), *item_shape):
        raise BadInput(_source(rows), f"decoded {values.shape}, expected {(len(rows), *item_shape)}")
    start, stop = int(rows["row"].iloc[0]), int(rows["row"].iloc[-1]) + 1  # a clip's rows are contiguous
    data[start:stop] = values
    done[start:stop] = True
    h5.flush()


@contextmanager
def owned(partial: Path) -> Iterator[None]:
    """Hold `<partial>.lock` (created exclusively, holding pid@host) while writing `partial`: a second writer of
    the same file on this host refuses instead of deleting or renaming the first one's work. A lock whose process
    is gone, or that another host left (a cluster job resumed elsewhere: Snakemake never runs one job twice at
    once), is taken over."""
    lock = partial.with_name(partial.name + ".lock")
    me = f"{os.getpid()}@{socket.gethostname()}"
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            owner = lock.read_text().strip() if lock.exists() else ""
            pid, _, host = owner.partition("@")
            if host != socket.gethostname() or pid.isdigit() and not _alive(int(pid)):
                log.warning("taking over %s from process %s, which is gone", partial, owner)
                lock.unlink(missing_ok=True)
                continue
            raise BadInput(partial, f"is being written by process {owner or '?'} (lock {lock.name}); wait for it, "
                                    "or delete the lock if that process is gone") from None
    try:
        os.write(fd, me.encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _open_partial(partial: Path, digest: str) -> h5py.File:
    if partial.exists():
        try:
            h5 = h5py.File(partial, "a")
            if h5.attrs.get("index_digest") == digest:
                return h5
            h5.close()
        except OSError:
            log.warning("discarding unreadable partial file %s", partial)
        partial.unlink()
    h5 = h5py.File(partial, "w")
    h5.attrs["index_digest"] = digest
    return h5


def _create(h5: h5py.File, name: str, index: pd.DataFrame, item_shape, dtype, attrs: dict, compression) -> None:
    n = len(index)
    h5.create_dataset(name, (n, *item_shape), dtype=dtype, chunks=(1, *item_shape), compression=compression)
    h5.create_dataset("done", (n,), dtype=bool)
    write_index_datasets(h5, index)
    for key, value in attrs.items():
        h5[name].attrs[key] = value


def write_index_datasets(h5: h5py.File, index: pd.DataFrame) -> None:
    """The (clip_id, second, split) table every msl store carries beside its data, row by row."""
    h5.create_dataset("clip_id", data=index["clip_id"].astype(str).to_numpy(dtype=object), dtype=STR)
    h5.create_dataset("second", data=index["second"].to_numpy(np.int32))
    h5.create_dataset("split", data=index["split"].astype(str).to_numpy(dtype=object), dtype=STR)


def _source(rows: pd.DataFrame) -> str:
    first = rows.iloc[0]
    return first["video_path"] or first["audio_path"] or first["image_path"]


def read_rows(data: h5py.Dataset, rows: Iterable[int]) -> np.ndarray:
    """`data[rows]` in the order given, read as contiguous runs of sorted rows: h5py's fancy indexing of scattered
    rows is tens of times slower than slicing them one run at a time."""
    rows = np.asarray(list(rows), dtype=np.int64)
    out = np.empty((len(rows), *data.shape[1:]), data.dtype)
    if not len(rows):
        return out
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    breaks = np.flatnonzero(np.diff(ordered) > 1) + 1
    position = 0
    for run in np.split(ordered, breaks):  # a run may repeat a row: it is read once
        low, high = int(run[0]), int(run[-1])
        block = data[low] if low == high else data[low : high + 1][run - low]
        out[order[position : position + len(run)]] = block
        position += len(run)
    return out


class H5Rows:
    """Row access to one dataset of an msl HDF5 store, opened lazily so each DataLoader worker has its own handle."""

    def __init__(self, path: str | Path, name: str):
        self.path, self.name = str(path), name
        self._file: h5py.File | None = None
        self._pid: int | None = None
        if not Path(path).is_file():
            raise BadInput(path, "file not found")
        with h5py.File(self.path, "r") as h5:
            if name not in h5:
                raise BadInput(self.path, f"no dataset '{name}' (has {sorted(h5.keys())})")
            self.shape, self.dtype = h5[name].shape, h5[name].dtype
            self.attrs = dict(h5[name].attrs)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def data(self) -> h5py.Dataset:
        if self._file is None or self._pid != os.getpid():
            self._file, self._pid = h5py.File(self.path, "r"), os.getpid()
        return self._file[self.name]

    def read(self, rows: Iterable[int]) -> np.ndarray:
        """Rows in the order given."""
        return read_rows(self.data, rows)

    def __getstate__(self):  # handles don't pickle; workers reopen
        state = self.__dict__.copy()
        state["_file"] = None
        return state


def read_index_datasets(path: str | Path) -> pd.DataFrame:
    """The (clip_id, second, split) table stored beside the data."""
    with h5py.File(path, "r") as h5:
        return pd.DataFrame({
            "clip_id": h5["clip_id"].asstr()[:],
            "second": h5["second"][:],
            "split": h5["split"].asstr()[:],
        })


class WholeFileAudio:
    """Row → (T, n_mels) whole-file log-mel from logmel_test.h5 (`ingest.write_test_logmels`)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with h5py.File(self.path, "r") as h5:
            for key in ("logmel", "n_frames", "row"):
                if key not in h5:
                    raise BadInput(self.path, f"no '{key}' dataset")
            self.n_mels = int(h5["logmel"].attrs["n_mels"])
            self._position = {int(r): k for k, r in enumerate(h5["row"][()])}

    def read(self, row: int) -> np.ndarray:
        if row not in self._position:
            raise BadInput(self.path, f"has no whole-file audio for index row {row}")
        with h5py.File(self.path, "r") as h5:
            return np.asarray(h5["logmel"][self._position[row]], np.float32).reshape(-1, self.n_mels)
