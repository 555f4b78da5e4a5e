"""Stores grown clip by clip with resume (`frames.h5`, `audio.h5` during ingestion), and shards joined without a
copy (HDF5 virtual datasets)."""

from __future__ import annotations

import hashlib
import logging
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Self

import h5py
import numpy as np
import pandas as pd

from msl_core.errors import MslError
from msl_core.stores.atomic import atomic_write
from msl_core.stores.hdf5 import create, write_index_table

log = logging.getLogger(__name__)


def manifest_digest(manifest: pd.DataFrame, settings: str) -> str:
    """Fingerprint of the clips and settings a store is being built from, so a partial file from other inputs is
    never resumed."""
    key = manifest.to_csv(index=False) + settings
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class AppendStore:
    """Dataset `name` (N, *item_shape) of an HDF5 store grown clip by clip in `<out>.partial` (`stores.atomic`)
    and renamed to `out` by `finish`. Uncompressed, chunked by row: written at the speed of the disk, and read
    one row (or a run of rows) per chunk. A partial file built under the same `key` is reopened, to resume."""

    def __init__(self, out: str | Path, name: str, item_shape: tuple[int, ...], dtype, key: str, attrs: dict):
        self.out, self.name = Path(out), name
        self._spec = (item_shape, dtype, key, attrs)
        self._stack = ExitStack()
        self._finished = False

    def __enter__(self) -> Self:
        item_shape, dtype, key, attrs = self._spec
        self.partial = self._stack.enter_context(atomic_write(self.out, resumable=True))
        self.h5 = self._stack.enter_context(_open_partial(self.partial, key))
        if self.name not in self.h5:
            data = self.h5.create_dataset(self.name, (0, *item_shape), dtype=dtype, maxshape=(None, *item_shape),
                                          chunks=(1, *item_shape))
            data.attrs.update(attrs)
        self.data = self.h5[self.name]
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None and not self._finished:  # closed unfinished: keep the partial, never rename it
            error = MslError(f"{self.partial}: closed before it was finished")
            exc = (MslError, error, None)
        self._stack.__exit__(*exc)

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
        write_index_table(self.h5, index)
        self._finished = True
        self._stack.close()


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
        with create(out) as h5:
            h5.create_virtual_dataset(name, layout).attrs.update(dict(first.attrs))
            write_index_table(h5, index)
