"""labels.h5: the pseudo labels (audio and visual category vectors in [0, 1]) of every index row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.errors import BadInput
from msl_core.stores.hdf5 import Store, create, write_index_table


def write_labels(path: str | Path, audio: np.ndarray, visual: np.ndarray, categories: list[str], kind: str,
                 index: pd.DataFrame, attrs: dict | None = None) -> None:
    """labels.h5: `audio`, `visual` float32 (N, C); attrs `categories` (C names), `category_kind` and `attrs`
    (the label sources); the index table."""
    if audio.shape != visual.shape or audio.shape != (len(index), len(categories)):
        raise ValueError(f"labels {audio.shape}/{visual.shape} do not match {len(index)} rows x {len(categories)}")
    with create(path) as h5:
        h5.create_dataset("audio", data=audio.astype(np.float32))
        h5.create_dataset("visual", data=visual.astype(np.float32))
        write_index_table(h5, index)
        h5.attrs["categories"] = list(categories)
        h5.attrs["category_kind"] = kind
        h5.attrs.update(attrs or {})


class LabelsStore(Store):
    """labels.h5: `audio`, `visual` (N, C) and the C `categories` they name."""

    required = ("audio", "visual")

    def __init__(self, path: str | Path):
        super().__init__(path)
        for name in self.required:
            if len(self.shape(name)) != 2:
                raise BadInput(self.path, f"'{name}' must be (N, C), got shape {self.shape(name)}")
        if self.shape("audio")[1] != self.shape("visual")[1]:
            raise BadInput(self.path, f"'audio' has {self.shape('audio')[1]} categories but 'visual' has "
                                      f"{self.shape('visual')[1]}")
        self.categories = tuple(self.strings("categories"))
        if len(self.categories) != self.shape("audio")[1]:
            raise BadInput(self.path, f"attribute 'categories' names {len(self.categories)} categories but the "
                                      f"labels have {self.shape('audio')[1]} columns")

    def __len__(self) -> int:
        return self.shape("audio")[0]

    def sources(self) -> str:
        """Which teachers made the labels, for reports."""
        return (f"audio from {self.attr('audio_source', default='?')}, "
                f"visual from {self.attr('visual_source', default='?')}")
