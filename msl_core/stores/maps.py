"""maps.h5: localisation maps of the test rows (docs/architecture.md), keyed by `clip_id/second` like the
annotations, with the index `row` each came from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from msl_core.errors import BadInput
from msl_core.stores.hdf5 import Store, create, read_rows, write_index_table


def localize_layout(n_classes: int, size: int) -> dict[str, tuple[tuple[int, ...], type]]:
    """The datasets `localize` writes per row: class-agnostic maps (normalised and raw), class maps, probabilities."""
    agnostic, per_class, probs = ((size, size), np.float16), ((n_classes, size, size), np.float16), \
        ((n_classes,), np.float32)
    return {"stage2": agnostic, "cam": agnostic, "stage2_raw": agnostic, "cam_raw": agnostic,
            "stage2_class": per_class, "cam_class": per_class, "audio_prob": probs, "visual_prob": probs}


@contextmanager
def maps_writer(out: str | Path, items: pd.DataFrame, layout: dict[str, tuple[tuple[int, ...], type]],
                categories: list[str], attrs: dict | None = None) -> Iterator[dict[str, h5py.Dataset]]:
    """maps.h5 to fill: one dataset (M, *shape) per `layout` entry for the M `items` (clip_id, second, split and,
    when it has one, the index `row` column), attrs `categories` and `attrs`."""
    with create(out) as h5:
        data = {name: h5.create_dataset(name, (len(items), *shape), dtype) for name, (shape, dtype) in layout.items()}
        write_index_table(h5, items)
        if "row" in items:
            h5.create_dataset("row", data=items["row"].to_numpy(np.int64))
        h5.attrs["categories"] = list(categories)
        h5.attrs.update(attrs or {})
        yield data


def write_maps(out: str | Path, items: pd.DataFrame, maps: dict[str, np.ndarray], categories: list[str]) -> None:
    """maps.h5 from whole arrays (another model's maps: docs/maps_from_npy.py)."""
    layout = {name: (values.shape[1:], values.dtype) for name, values in maps.items()}
    with maps_writer(out, items, layout, categories) as data:
        for name, values in maps.items():
            data[name][...] = values


class MapsStore(Store):
    """maps.h5: per-row maps found by `clip_id/second`, the `categories` of the class maps."""

    required = ("clip_id", "second")

    def __init__(self, path: str | Path):
        super().__init__(path)
        self.categories = self.strings("categories", default=[])

    def __len__(self) -> int:
        return self.shape("clip_id")[0]

    def row_of(self) -> dict[str, int]:
        """`clip_id/second` → the index row its maps came from (to find the row in the other stores)."""
        if "row" not in self:
            raise BadInput(self.path, "no 'row' dataset: cannot find the items' index rows")
        return dict(zip(self.keys(), (int(r) for r in self.read("row"))))

    def read_items(self, name: str, rows: Iterable[int]) -> np.ndarray:
        """Rows of dataset `name` in the order given, as float32."""
        self.shape(name)
        with h5py.File(self.path, "r") as h5:
            return read_rows(h5[name], rows).astype(np.float32, copy=False)
