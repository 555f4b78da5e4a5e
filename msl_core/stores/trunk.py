"""trunk.h5 (docs/architecture.md): the frozen vision stages' features of every row of frames.h5, written once by rule
trunk_features and read by training instead of the frames (msl_core.training.trunk_cache).

`trunk` float32 (N, V, C, h, w): view 0 is the frame as it is, view 1 (when training flips frames) the mirrored
frame's features, which are not the mirror of view 0's (stride-2 steps and one-sided padding are not symmetric).
Chunked by row, so a row's views are one read. Attributes name what made the features: the backbone, the number
of frozen stages and a digest of their weights, which training checks against its own model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from msl_core.errors import BadInput
from msl_core.stores.hdf5 import Store, create, write_index_table

VIEWS = ("as_is", "flipped")


@contextmanager
def trunk_writer(out: str | Path, index: pd.DataFrame, item_shape: tuple[int, int, int, int], vision_backbone: str,
                 frozen_stages: int, frozen_digest: str) -> Iterator[h5py.Dataset]:
    """trunk.h5 to fill: `trunk` float32 (N = len(index), *item_shape), item_shape = (V, C, h, w), chunked by row;
    the attributes above and frames.h5's index table."""
    with create(out) as h5:
        shape = (len(index), *item_shape)
        trunk = h5.create_dataset("trunk", shape, np.float32, chunks=(1, *item_shape))
        trunk.attrs.update({"views": list(VIEWS[: item_shape[0]]), "vision_backbone": vision_backbone,
                            "frozen_stages": frozen_stages, "frozen_digest": frozen_digest})
        yield trunk
        write_index_table(h5, index)


class TrunkStore(Store):
    """trunk.h5: `trunk` float32 (N, V, C, h, w) and the attributes `trunk_writer` writes."""

    required = ("trunk",)

    def __init__(self, path: str | Path):
        super().__init__(path)
        shape, dtype = self.shape("trunk"), self.dtypes["trunk"]
        if len(shape) != 5 or dtype != np.float32 or not 1 <= shape[1] <= len(VIEWS):
            raise BadInput(self.path, f"'trunk' must be float32 (N, views 1 or 2, C, h, w), got {dtype} {shape}")

    def __len__(self) -> int:
        return self.shape("trunk")[0]

    @property
    def views(self) -> list[str]:
        return self.strings("views", "trunk")

    @property
    def frozen_stages(self) -> int:
        return int(self.attr("frozen_stages", "trunk"))

    @property
    def vision_backbone(self) -> str:
        return str(self.attr("vision_backbone", "trunk"))

    @property
    def frozen_digest(self) -> str:
        return str(self.attr("frozen_digest", "trunk"))
