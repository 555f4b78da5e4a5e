"""What every msl HDF5 store shares: the index table beside the data, strings, lazy row reads, checked attributes,
and the one way a store file is created (`create`: atomically, see `stores.atomic`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from msl_core.errors import BadInput
from msl_core.stores.atomic import atomic_write

STR = h5py.string_dtype("utf-8")
REQUIRED = object()  # `Store.attr` default: the attribute must exist


def decode_strings(values) -> list[str]:
    """HDF5 strings (bytes, str or numpy scalars; an attribute or a string dataset's values) as Python strings."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.atleast_1d(values)]


@contextmanager
def create(path: str | Path) -> Iterator[h5py.File]:
    """A new store written to `<path>.partial` under its lock, renamed to `path` when the block succeeds."""
    with atomic_write(path) as partial, h5py.File(partial, "w") as h5:
        yield h5


def write_index_table(h5: h5py.File, index: pd.DataFrame) -> None:
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


def missing_sources(data: h5py.Dataset) -> list[str]:
    """The source files of a virtual dataset that are gone (HDF5 would read their rows as zeros)."""
    if not data.is_virtual:
        return []
    folder = Path(data.file.filename).parent
    return sorted({m.file_name for m in data.virtual_sources() if not (folder / m.file_name).is_file()})


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
            self.shape = h5[name].shape

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


class Store:
    """One msl HDF5 store, read lazily: opening reads only its layout (datasets' shapes, attributes); data is read
    on demand. `required` datasets must exist; a missing dataset or attribute is named with the file."""

    required: tuple[str, ...] = ()

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise BadInput(self.path, "file not found")
        try:
            with h5py.File(self.path, "r") as h5:
                self.shapes = {k: v.shape for k, v in h5.items() if isinstance(v, h5py.Dataset)}
                self.dtypes = {k: v.dtype for k, v in h5.items() if isinstance(v, h5py.Dataset)}
                self.attrs = dict(h5.attrs)
                self.dataset_attrs = {k: dict(v.attrs) for k, v in h5.items() if isinstance(v, h5py.Dataset)}
        except OSError as exc:
            raise BadInput(self.path, f"not a readable HDF5 file ({exc})") from exc
        for name in self.required:
            self.shape(name)

    def __contains__(self, name: str) -> bool:
        return name in self.shapes

    def shape(self, name: str) -> tuple[int, ...]:
        if name not in self.shapes:
            raise BadInput(self.path, f"no dataset '{name}' (has {sorted(self.shapes)})")
        return self.shapes[name]

    def attr(self, name: str, dataset: str | None = None, default=REQUIRED):
        """Attribute `name` of the file (or of `dataset`), as a plain Python value; missing: `default`, or an error
        naming the file when no default is given."""
        attrs = self.attrs if dataset is None else self.dataset_attrs[dataset] if dataset in self else {}
        if name not in attrs:
            if default is not REQUIRED:
                return default
            where = f"dataset '{dataset}'" if dataset else "the file"
            raise BadInput(self.path, f"{where} has no attribute '{name}'")
        value = attrs[name]
        return value.item() if isinstance(value, np.generic) else value

    def strings(self, name: str, dataset: str | None = None, default=REQUIRED) -> list[str]:
        """A string-list attribute (e.g. `categories`)."""
        return decode_strings(self.attr(name, dataset, default))

    def rows(self, name: str) -> H5Rows:
        """Lazy row reads of dataset `name` (one handle per process)."""
        self.shape(name)
        return H5Rows(self.path, name)

    def read(self, name: str) -> np.ndarray:
        """Dataset `name` whole."""
        self.shape(name)
        with h5py.File(self.path, "r") as h5:
            return h5[name][()]

    def read_strings(self, name: str) -> list[str]:
        return decode_strings(self.read(name))

    def index_table(self) -> pd.DataFrame:
        """The (clip_id, second, split) table stored beside the data."""
        return pd.DataFrame({"clip_id": self.read_strings("clip_id"), "second": self.read("second"),
                             "split": self.read_strings("split")})

    def keys(self) -> list[str]:
        """`clip_id/second` of each row: how the annotations name an item."""
        return [f"{c}/{int(s)}" for c, s in zip(self.read_strings("clip_id"), self.read("second"))]
