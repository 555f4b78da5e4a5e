"""Teacher outputs -> dataset categories, as (C, K) 0/1 membership tables (K = 527 AudioSet or 1000 ImageNet classes).

Defaults are data shipped in `msl_core/data/`: `audioset_top_level.csv` (from the AudioSet ontology,
`msl_core.teachers.ontology`) and `imagenet_audioset7.csv` (our ImageNet grouping, `msl_core.teachers.imagenet_groups`).
Users may supply the reference's tables by path: `cluster_a.npy` (7, 527) in the reference tagger's *alphabetical*
class order, `cluster_v3.npy` (1000, 7); or CSV tables in our format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.errors import BadInput, ConfigError
from msl_core.teachers import ontology as onto
from msl_core.teachers.categories import AUDIOSET7, CategorySet, read_scene_classes

IMAGENET_TABLES = {"audioset7": onto.DATA_DIR / "imagenet_audioset7.csv",
                   "classes": onto.DATA_DIR / "imagenet_scene_classes.csv"}


def _load_npy(path: Path, shape: tuple[int, int]) -> np.ndarray:
    if not path.is_file():
        raise BadInput(path, "category table not found")
    try:
        table = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise BadInput(path, f"not a numeric .npy table ({exc})") from exc
    if table.shape != shape:
        raise BadInput(path, f"has shape {table.shape}, expected {shape}")
    return np.asarray(table, np.float32)


def audio_map(categories: CategorySet, *, table: str | Path | None = None, ontology: str | Path | None = None,
              class_labels: str | Path | None = None) -> np.ndarray:
    """(C, 527) membership of the tagger's classes (class_labels_indices.csv order) in each category."""
    top = onto.build_table(ontology, class_labels) if ontology and class_labels else onto.read_table()
    if table:
        return _user_audio_map(Path(table), categories, top)
    if categories.kind == "audioset7":
        return onto.top_level_matrix(top)
    if ontology is None:
        raise ConfigError("labels.ontology", f"mapping AudioSet classes onto '{categories.kind}' categories needs "
                                             "the ontology (or give labels.audio_map)")
    nodes = onto.read_ontology(ontology)
    by_name = {name.lower(): i for i, name in enumerate(top["display_name"])}
    column_of_mid = {mid: i for i, mid in enumerate(top["mid"])}
    anchors = _category_anchors(categories)
    matrix = np.zeros((len(categories), len(top)), np.float32)
    unmatched = []
    for c, anchor in enumerate(anchors):
        if anchor.lower() not in by_name:
            unmatched.append(anchor)
            continue
        mid = top["mid"][by_name[anchor.lower()]]
        # A category covers its AudioSet class and everything below it (Dog covers Bark, Howl, ...).
        for node in onto.descendants(nodes, mid):
            if node in column_of_mid:
                matrix[c, column_of_mid[node]] = 1.0
    if unmatched:
        raise ConfigError("labels.audio_map", f"categor(ies) {unmatched[:8]} are not AudioSet class names; give a "
                                              "table mapping the 527 classes onto them")
    return matrix


def _category_anchors(categories: CategorySet) -> list[str]:
    """The AudioSet class name that stands for each category."""
    if categories.kind == "classes":
        table = read_scene_classes().set_index("class")
        return [table.loc[name, "audioset_class"] for name in categories.names]
    return list(categories.names)


def _user_audio_map(path: Path, categories: CategorySet, top: pd.DataFrame) -> np.ndarray:
    if path.suffix == ".npy":
        reference = _load_npy(path, (len(categories), onto.N_CLASSES))
        order = onto.reference_order(list(top["display_name"]))  # column j of the file = tagger class order[j]
        matrix = np.zeros_like(reference)
        matrix[:, order] = reference
        return matrix
    return _csv_map(path, categories, key="display_name", keys=list(top["display_name"]))


def image_map(categories: CategorySet, *, table: str | Path | None = None) -> np.ndarray:
    """(C, 1000) membership of the ImageNet classes (torchvision order) in each category."""
    if table:
        path = Path(table)
        if path.suffix == ".npy":
            return _load_npy(path, (1000, len(categories))).T.copy()
        return _csv_map(path, categories, key="index", keys=[str(i) for i in range(1000)])
    if categories.kind not in IMAGENET_TABLES:
        raise ConfigError("labels.image_map", f"no built-in ImageNet table for '{categories.kind}' categories; "
                                              "give one (1000, C) or use visual_source: from_audio")
    return _csv_map(IMAGENET_TABLES[categories.kind], categories, key="index", keys=[str(i) for i in range(1000)])


def _csv_map(path: Path, categories: CategorySet, *, key: str, keys: list[str]) -> np.ndarray:
    """A CSV with a `key` column and a `categories` column (`;`-separated category names)."""
    if not path.is_file():
        raise BadInput(path, "category table not found")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if key not in table or "categories" not in table:
        raise BadInput(path, f"needs columns '{key}' and 'categories', has {list(table.columns)}")
    rows = dict(zip(table[key], table["categories"]))
    missing = [k for k in keys if k not in rows]
    if missing:
        raise BadInput(path, f"{len(missing)} of {len(keys)} classes have no row (e.g. {missing[:3]})")
    matrix = np.zeros((len(categories), len(keys)), np.float32)
    for column, k in enumerate(keys):
        for name in filter(None, rows[k].split(";")):
            if name not in categories.names:
                raise BadInput(path, f"category '{name}' (row {k}) is not one of {list(categories.names)}")
            matrix[categories.names.index(name), column] = 1.0
    return matrix


def pool_max(probs: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Reference audio rule: category score = max of its member classes' probabilities. (N, K), (C, K) -> (N, C)."""
    return (probs[:, None, :] * membership[None]).max(axis=2).astype(np.float32)


def pool_top_k(probs: np.ndarray, membership: np.ndarray, k: int = 10) -> np.ndarray:
    """Reference visual rule: keep each row's top-k class scores, sum per category, divide by the row's max."""
    kept = np.zeros_like(probs)
    top = np.argsort(-probs, axis=1)[:, :k]
    np.put_along_axis(kept, top, np.take_along_axis(probs, top, axis=1), axis=1)
    scores = kept @ membership.T  # (N, C)
    peak = scores.max(axis=1, keepdims=True)
    return np.divide(scores, peak, out=np.zeros_like(scores), where=peak > 0).astype(np.float32)


__all__ = ["AUDIOSET7", "audio_map", "image_map", "pool_max", "pool_top_k"]
