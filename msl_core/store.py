"""HDF5 stores row-aligned with the index: grown clip by clip with resume, read lazily per DataLoader worker."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Self

import h5py
import numpy as np
import pandas as pd

from msl_core.errors import BadInput, MslError

log = logging.getLogger(__name__)

STR = h5py.string_dtype("utf-8")


def manifest_digest(manifest: pd.DataFrame, settings: str) -> str:
    """Fingerprint of the clips and settings a store is being built from, so a partial file from other inputs is
    never resumed."""
    key = manifest.to_csv(index=False) + settings
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class AppendStore:
    """Dataset `name` (N, *item_shape) of an HDF5 store grown clip by clip in `<out>.partial` (held under its lock)
    and renamed to `out` when finished. Uncompressed, chunked by row: written at the speed of the disk, and read
    one row (or a run of rows) per chunk. A partial file built under the same `key` is reopened, to resume."""

    def __init__(self, out: str | Path, name: str, item_shape: tuple[int, ...], dtype, key: str, attrs: dict):
        self.out, self.name = Path(out), name
        self.partial = self.out.with_name(self.out.name + ".partial")
        self._spec = (item_shape, dtype, key, attrs)
        self._stack = ExitStack()

    def __enter__(self) -> Self:
        self._stack.enter_context(owned(self.partial))
        item_shape, dtype, key, attrs = self._spec
        self.h5 = self._stack.enter_context(_open_partial(self.partial, key))
        if self.name not in self.h5:
            data = self.h5.create_dataset(self.name, (0, *item_shape), dtype=dtype, maxshape=(None, *item_shape),
                                          chunks=(1, *item_shape))
            data.attrs.update(attrs)
        self.data = self.h5[self.name]
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def __len__(self) -> int:
        return len(self.data)

    def truncate(self, n: int) -> None:
        self.data.resize(n, axis=0)

    def append(self, values: np.ndarray) -> None:
        n = len(self.data)
        self.data.resize(n + len(values), axis=0)
        self.data[n:] = values

    def flush(self) -> None:
        self.h5.flush()

    def finish(self, index: pd.DataFrame) -> None:
        """Write the index table beside the rows and move the finished file into place."""
        if len(self.data) != len(index):
            raise MslError(f"{self.partial}: {len(self.data)} rows written for {len(index)} index rows")
        write_index_datasets(self.h5, index)
        self._stack.close()
        os.replace(self.partial, self.out)


def join_virtual(sources: list[Path], name: str, out: str | Path, index: pd.DataFrame) -> None:
    """`out`'s dataset `name` as an HDF5 virtual dataset: the sources' rows one after another, read in place (paths
    stored relative to `out`'s folder, so the results folder can move). The small index table is copied."""
    out = Path(out)
    with ExitStack() as stack:
        files = [stack.enter_context(h5py.File(s, "r")) for s in sources]
        first = files[0][name]
        layout = h5py.VirtualLayout((sum(len(f[name]) for f in files), *first.shape[1:]), first.dtype)
        start = 0
        for path, h5 in zip(sources, files):
            n = len(h5[name])
            if n:
                relative = os.path.relpath(Path(path).resolve(), out.resolve().parent)
                layout[start:start + n] = h5py.VirtualSource(relative, name, shape=h5[name].shape)
            start += n
        if start != len(index):
            raise MslError(f"{out}: the shards hold {start} rows of '{name}', the index {len(index)}")
        partial = out.with_name(out.name + ".partial")
        with owned(partial), h5py.File(partial, "w") as h5:
            h5.create_virtual_dataset(name, layout).attrs.update(dict(first.attrs))
            write_index_datasets(h5, index)
    os.replace(partial, out)


def missing_sources(data: h5py.Dataset) -> list[str]:
    """The source files of a virtual dataset that are gone (HDF5 would read their rows as zeros)."""
    if not data.is_virtual:
        return []
    folder = Path(data.file.filename).parent
    return sorted({m.file_name for m in data.virtual_sources() if not (folder / m.file_name).is_file()})


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
    """The partial file built under `digest`, else a new one (an unreadable or foreign one is discarded)."""
    if partial.exists():
        try:
            h5 = h5py.File(partial, "a")
            if h5.attrs.get("digest") == digest:
                return h5
            h5.close()
        except OSError:
            log.warning("discarding unreadable partial file %s", partial)
        partial.unlink()
    h5 = h5py.File(partial, "w")
    h5.attrs["digest"] = digest
    return h5


def write_index_datasets(h5: h5py.File, index: pd.DataFrame) -> None:
    """The (clip_id, second, split) table every msl store carries beside its data, row by row."""
    h5.create_dataset("clip_id", data=index["clip_id"].astype(str).to_numpy(dtype=object), dtype=STR)
    h5.create_dataset("second", data=index["second"].to_numpy(np.int32))
    h5.create_dataset("split", data=index["split"].astype(str).to_numpy(dtype=object), dtype=STR)


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
            if missing := missing_sources(h5[name]):
                raise BadInput(self.path, f"its shard file(s) {missing} are missing (ingest.shard_clips)")
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
