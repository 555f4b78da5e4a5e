"""Category vocabularies of a dataset and the mapping of its tags onto them (docs/method.md §2.1).

`datasets.<ds>.categories` picks one of three vocabularies:
- `classes`: the scene classes, in the order of their first row in `msl_core/data/scene_classes.csv`;
- `audioset7`: the 7 AudioSet top-level categories, in the reference's index order (docs/method.md §2.1);
- `tags`: the dataset's own tag vocabulary (sorted unique tags of the index).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.errors import BadInput, ConfigError

# The reference's category order (cluster_a rows, cluster_v3 columns); names are the ontology's top-level nodes.
AUDIOSET7 = (
    "Human sounds",
    "Source-ambiguous sounds",
    "Animal",
    "Sounds of things",
    "Music",
    "Natural sounds",
    "Channel, environment and background",
)
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
KINDS = ("classes", "audioset7", "tags")
SCENE_CLASS_COLUMNS = ("class", "audioset_class", "audioset_category")


def scene_classes_path() -> Path:
    return DATA_DIR / "scene_classes.csv"


def read_scene_classes(path: str | Path | None = None) -> pd.DataFrame:
    """One row per scene class (first-appearance order): `class`, `audioset_class`, `audioset_category`."""
    path = Path(path) if path else scene_classes_path()
    if not path.is_file():
        raise BadInput(path, "scene class table not found")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in SCENE_CLASS_COLUMNS if c not in table.columns]
    if missing:
        raise BadInput(path, f"lacks column(s) {missing}; has {list(table.columns)}")
    unknown = sorted(set(table["audioset_category"]) - set(AUDIOSET7))
    if unknown:
        raise BadInput(path, f"audioset_category value(s) {unknown} are not AudioSet top-level categories {AUDIOSET7}")
    return table.drop_duplicates("class")[list(SCENE_CLASS_COLUMNS)].reset_index(drop=True)


def split_tags(value: str) -> list[str]:
    return [tag.strip() for tag in value.split(";") if tag.strip()] if isinstance(value, str) else []


@dataclass(frozen=True)
class CategorySet:
    """The C category names and which categories each known tag switches on."""

    kind: str
    names: tuple[str, ...]
    tag_members: dict[str, tuple[int, ...]]

    def __len__(self) -> int:
        return len(self.names)

    def encode(self, tags: list[str], *, source: str = "tags") -> np.ndarray:
        """Multi-hot (C,) float32 of the categories the tags belong to; an unknown tag is an error."""
        vector = np.zeros(len(self.names), np.float32)
        for tag in tags:
            if tag not in self.tag_members:
                raise BadInput(source, f"tag '{tag}' is not in the '{self.kind}' vocabulary "
                                       f"(known: {sorted(self.tag_members)[:12]}...)")
            vector[list(self.tag_members[tag])] = 1.0
        return vector


def dataset_tags(index: pd.DataFrame) -> list[str]:
    """Sorted unique tags (sounding or visible) of an index."""
    found = {tag for column in ("tags", "visible") if column in index for value in index[column] for tag in split_tags(value)}
    return sorted(found)


def audioset_class_members() -> dict[str, tuple[int, ...]]:
    """{AudioSet display name: its top-level categories' indices in AUDIOSET7} from the shipped ontology table."""
    table = pd.read_csv(DATA_DIR / "audioset_top_level.csv", dtype=str, keep_default_na=False)
    return {row.display_name: tuple(AUDIOSET7.index(c) for c in row.categories.split(";"))
            for row in table.itertuples()}


def category_set(kind: str, index: pd.DataFrame | None = None, *, scene_classes: str | Path | None = None) -> CategorySet:
    """The vocabulary `kind` (`classes` | `audioset7` | `tags`); `tags` needs the index to read the vocabulary from."""
    if kind == "classes":
        table = read_scene_classes(scene_classes)
        names = tuple(table["class"])
        return CategorySet(kind, names, {name: (i,) for i, name in enumerate(names)})
    if kind == "audioset7":
        members = {name: (i,) for i, name in enumerate(AUDIOSET7)}
        # AudioSet class names (e.g. AVE's events, "Church bell") reach their top-level categories through the ontology.
        members |= audioset_class_members()
        # Scene-class tags reach their top-level category through the scene table.
        if scene_classes is not None or scene_classes_path().is_file():
            for row in read_scene_classes(scene_classes).itertuples():
                members.setdefault(row[1], (AUDIOSET7.index(row[3]),))
        return CategorySet(kind, AUDIOSET7, members)
    if kind == "tags":
        if index is None:
            raise ConfigError("datasets.*.categories", "'tags' needs the dataset's index to read its tag vocabulary")
        names = tuple(dataset_tags(index))
        if not names:
            raise ConfigError("datasets.*.categories", "'tags' chosen but the index has no tags")
        return CategorySet(kind, names, {name: (i,) for i, name in enumerate(names)})
    raise ConfigError("datasets.*.categories", f"unknown vocabulary '{kind}'; expected one of {KINDS}")
