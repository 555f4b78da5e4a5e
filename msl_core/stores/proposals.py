"""proposals.h5: each frame's object proposals (the `rois` visual teacher, the object-prior baseline and, with
`evaluate.snap: proposals`, localisation read them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.errors import BadInput
from msl_core.stores.hdf5 import Store, create, write_index_table


def write_proposals(path: str | Path, boxes: np.ndarray, scores: np.ndarray, index: pd.DataFrame | None = None,
                    attrs: dict | None = None) -> None:
    """proposals.h5: `boxes` float32 (N, K, 4) normalised [x1, y1, x2, y2], `scores` (N, K) (0 where fewer than K),
    attrs `attrs` (the proposer's settings); the index table of frames.h5 when given."""
    with create(path) as h5:
        h5.create_dataset("boxes", data=boxes.astype(np.float32))
        h5.create_dataset("scores", data=scores.astype(np.float32))
        if index is not None:
            write_index_table(h5, index)
        h5.attrs.update(attrs or {})


class ProposalsStore(Store):
    """proposals.h5: `boxes` (N, K, 4), `scores` (N, K)."""

    required = ("boxes", "scores")

    def for_frames(self, n_rows: int) -> ProposalsStore:
        """Itself, when it holds one row per frame of frames.h5 (`n_rows`); else names the file."""
        if self.shape("boxes")[0] != n_rows:
            raise BadInput(self.path, f"{self.shape('boxes')[0]} rows of proposals for {n_rows} frames; rerun the "
                                      "proposals rule")
        return self
