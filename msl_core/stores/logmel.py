"""logmel.h5 (each row's window under the audio backbone's front end) and logmel_test.h5 (whole test recordings,
variable length). The front end's parameters, the window length and the shapes are the files' attributes, so a
reader needs nothing else: training takes n_mels, the steps T and the window length from here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from msl_core.errors import BadInput
from msl_core.spectrogram import EfficientATParams, LogMelParams, front_end_name
from msl_core.stores.hdf5 import Store, create, write_index_table


@contextmanager
def logmel_writer(out: str | Path, index: pd.DataFrame, n_frames: int, params: LogMelParams | EfficientATParams,
                  window_s: float) -> Iterator[h5py.Dataset]:
    """logmel.h5 to fill: `logmel` float32 (N, T, n_mels), chunked by row, attrs = the front end's parameters,
    `window_s`, `front_end`; the index table of its N = len(index) rows."""
    with create(out) as h5:
        shape = (len(index), n_frames, params.n_mels)
        logmel = h5.create_dataset("logmel", shape, np.float32, chunks=(1, *shape[1:]))
        logmel.attrs.update(dict(vars(params)) | {"window_s": window_s, "front_end": front_end_name(params)})
        yield logmel
        write_index_table(h5, index)


class LogmelStore(Store):
    """logmel.h5: `logmel` float (N, T, n_mels) and the attributes `logmel_writer` writes."""

    required = ("logmel",)

    def __init__(self, path: str | Path):
        super().__init__(path)
        shape, dtype = self.shape("logmel"), self.dtypes["logmel"]
        if len(shape) != 3 or not np.issubdtype(dtype, np.floating):
            raise BadInput(self.path, f"'logmel' must be float (N, T, n_mels), got {dtype} {shape}")
        stated = self.attr("n_mels", "logmel", default=shape[2])
        if stated != shape[2]:
            raise BadInput(self.path, f"'logmel' has {shape[2]} mel bands but its attribute n_mels says {stated}")

    def __len__(self) -> int:
        return self.shape("logmel")[0]

    @property
    def n_frames(self) -> int:
        """Log-mel steps T per row."""
        return self.shape("logmel")[1]

    @property
    def front_end(self) -> str:
        return str(self.attr("front_end", "logmel", default="librosa"))  # stores from before the attribute

    def params(self) -> LogMelParams | EfficientATParams:
        """The front end that made the rows (fields the file lacks take the front end's defaults)."""
        kind = EfficientATParams if self.front_end == "efficientat" else LogMelParams
        return kind(**{k: self.attr(k, "logmel") for k in kind.__dataclass_fields__ if k in self.dataset_attrs["logmel"]})

    @property
    def window_s(self) -> float:
        """Seconds per row; a file without the attribute (made by hand) gives it through its steps T."""
        params = self.params()
        return float(self.attr("window_s", "logmel", default=(self.n_frames - 1) * params.hop_length / params.sample_rate))


@contextmanager
def test_logmel_writer(out: str | Path, rows: pd.DataFrame,
                       params: LogMelParams | EfficientATParams) -> Iterator[callable]:
    """logmel_test.h5 to fill, one `put(k, (T, n_mels) values)` per row of `rows`: flattened variable-length
    `logmel` (attrs = the front end's parameters, `peak_normalise`, `front_end`), `n_frames`, the index `row`."""
    with create(out) as h5:
        data = h5.create_dataset("logmel", (len(rows),), dtype=h5py.vlen_dtype(np.float32))
        n_frames = h5.create_dataset("n_frames", (len(rows),), dtype=np.int32)
        h5.create_dataset("row", data=rows["row"].to_numpy(np.int64))
        write_index_table(h5, rows)
        for key, value in (vars(params) | {"peak_normalise": True, "front_end": front_end_name(params)}).items():
            data.attrs[key] = value

        def put(k: int, values: np.ndarray) -> None:
            data[k], n_frames[k] = values.reshape(-1), len(values)

        yield put


class WholeFileAudio(Store):
    """Row → (T, n_mels) whole-file log-mel from logmel_test.h5 (`test_logmel_writer`)."""

    required = ("logmel", "n_frames", "row")

    def __init__(self, path: str | Path):
        super().__init__(path)
        self.n_mels = int(self.attr("n_mels", "logmel"))
        self._position = {int(r): k for k, r in enumerate(self.read("row"))}

    def read_row(self, row: int) -> np.ndarray:
        if row not in self._position:
            raise BadInput(self.path, f"has no whole-file audio for index row {row}")
        with h5py.File(self.path, "r") as h5:
            return np.asarray(h5["logmel"][self._position[row]], np.float32).reshape(-1, self.n_mels)
