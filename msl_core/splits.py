"""Dataset splits from the dataset's own files (docs/method.md §5): id lists, the seeded validation carve, counts.

Test rows come only from the dataset's published test list, so test items are never trained on; the validation
split is a seeded fraction of the remaining training clips (the reference's Flickr validation overlapped its
training rows, docs/method.md §6.7).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.errors import BadInput

SPLITS = ("train", "val", "test")
_ID_END = re.compile(r"[.,;\s]")


def read_ids(path: str | Path) -> list[str]:
    """Ids of a split list: the reference's `gtest.txt` (`<id>.png` per line) or the LVS / SLAVC csv lists
    (`<id>,<anything>` per line); the id is the text before the first dot, comma or blank."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, "split file not found")
    ids = [_ID_END.split(line.strip(), maxsplit=1)[0] for line in path.read_text().splitlines() if line.strip()]
    ids = [i for i in ids if i]
    if not ids:
        raise BadInput(path, "split file lists no ids")
    seen, duplicates = set(), []
    for item in ids:
        if item in seen:
            duplicates.append(item)
        seen.add(item)
    if duplicates:
        raise BadInput(path, f"{len(duplicates)} duplicated id(s): {', '.join(sorted(set(duplicates))[:10])}")
    return ids


def carve_val(clip_ids: list[str], fraction: float, seed: int) -> set[str]:
    """A seeded `fraction` of the training clips (at least one when fraction > 0 and two clips exist)."""
    if fraction <= 0 or len(clip_ids) < 2:
        return set()
    n = min(len(clip_ids) - 1, max(1, round(fraction * len(clip_ids))))
    order = np.random.default_rng(seed).permutation(len(clip_ids))
    return {sorted(clip_ids)[i] for i in order[:n]}


def assign_splits(clip_ids: list[str], test_ids: set[str], val_fraction: float, seed: int) -> list[str]:
    """`test` for the listed ids, a seeded `val` carve of the rest, `train` for everything else."""
    rest = [c for c in clip_ids if c not in test_ids]
    val = carve_val(rest, val_fraction, seed)
    return ["test" if c in test_ids else "val" if c in val else "train" for c in clip_ids]


def split_counts(table: pd.DataFrame) -> dict[str, int]:
    """{split: clips} for a manifest (one row per clip) or {split: rows} for an index."""
    counts = table["split"].value_counts()
    return {split: int(counts.get(split, 0)) for split in SPLITS}


def describe(counts: dict[str, int], unit: str) -> str:
    return ", ".join(f"{split} {counts[split]} {unit}" for split in SPLITS)
