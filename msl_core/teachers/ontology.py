"""AudioSet's 527 tagger classes -> their top-level ontology categories, as a table we generate and ship.

The table `msl_core/data/audioset_top_level.csv` (`index, mid, display_name, categories`; `categories` is the
`;`-separated list of top-level ancestors, in `AUDIOSET7` order) is derived from `ontology.json` by walking every
class up its parent links; a class under several branches (e.g. "Cowbell" under Music and Sounds of things) keeps all
of them, like the reference's cluster_a.npy. Regenerate with

    python -m msl_core.teachers.ontology ../shared/assets/audioset/ontology.json \
        ../shared/assets/audioset/class_labels_indices.csv msl_core/data/audioset_top_level.csv

Reference tables (cluster_a.npy, (7, 527)) index the classes in the *alphabetical* order of the reference tagger's
label encoder (display names with ", " and " " turned into "_", sorted by code point); `reference_order` gives it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.errors import BadInput
from msl_core.readers import read_json
from msl_core.teachers.categories import AUDIOSET7, DATA_DIR

TABLE_PATH = DATA_DIR / "audioset_top_level.csv"
N_CLASSES = 527


def read_class_labels(path: str | Path) -> pd.DataFrame:
    """`class_labels_indices.csv`: `index, mid, display_name` in tagger output order."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, "AudioSet class list not found (expected class_labels_indices.csv)")
    table = pd.read_csv(path, dtype={"mid": str, "display_name": str}, keep_default_na=False)
    if list(table.columns[:3]) != ["index", "mid", "display_name"] or len(table) != N_CLASSES:
        raise BadInput(path, f"expected columns index,mid,display_name and {N_CLASSES} rows, got "
                             f"{list(table.columns)} and {len(table)} rows")
    return table


def read_ontology(path: str | Path) -> dict[str, dict]:
    nodes = read_json(path, "AudioSet ontology (ontology.json)")
    return {node["id"]: node for node in nodes}


def top_level_ancestors(ontology: dict[str, dict]) -> dict[str, set[str]]:
    """For every node id, the names of the root categories it descends from (a root maps to itself)."""
    parents: dict[str, list[str]] = {node_id: [] for node_id in ontology}
    for node_id, node in ontology.items():
        for child in node["child_ids"]:
            parents.setdefault(child, []).append(node_id)
    memo: dict[str, set[str]] = {}

    def roots(node_id: str) -> set[str]:
        if node_id not in memo:
            memo[node_id] = set()  # guards against cycles
            ups = parents.get(node_id, [])
            memo[node_id] = {ontology[node_id]["name"]} if not ups else set().union(*(roots(p) for p in ups))
        return memo[node_id]

    return {node_id: roots(node_id) for node_id in ontology}


def build_table(ontology_path: str | Path, labels_path: str | Path) -> pd.DataFrame:
    """The 527 classes with their top-level categories (`;`-separated, AUDIOSET7 order)."""
    ontology = read_ontology(ontology_path)
    classes = read_class_labels(labels_path)
    ancestors = top_level_ancestors(ontology)
    unknown_roots = set().union(*ancestors.values()) - set(AUDIOSET7)
    if unknown_roots:
        raise BadInput(ontology_path, f"top-level node(s) {sorted(unknown_roots)} are not the 7 AudioSet categories")
    missing = [mid for mid in classes["mid"] if mid not in ontology]
    if missing:
        raise BadInput(ontology_path, f"class id(s) {missing[:5]} of {labels_path} are not in the ontology")
    categories = [";".join(c for c in AUDIOSET7 if c in ancestors[mid]) for mid in classes["mid"]]
    return classes.assign(categories=categories)[["index", "mid", "display_name", "categories"]]


def read_table(path: str | Path = TABLE_PATH) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, "AudioSet top-level table not found; regenerate it with python -m msl_core.teachers.ontology")
    return pd.read_csv(path, dtype={"mid": str, "display_name": str, "categories": str}, keep_default_na=False)


def top_level_matrix(table: pd.DataFrame | None = None) -> np.ndarray:
    """(7, 527) float32 0/1: row = category (AUDIOSET7 order), column = tagger output index."""
    table = read_table() if table is None else table
    matrix = np.zeros((len(AUDIOSET7), len(table)), np.float32)
    for column, value in enumerate(table["categories"]):
        for name in value.split(";"):
            matrix[AUDIOSET7.index(name), column] = 1.0
    return matrix


def reference_name(display_name: str) -> str:
    """The reference label encoder's spelling: 'Baby cry, infant cry' -> 'Baby_cry_infant_cry'."""
    return display_name.replace(", ", "_").replace(" ", "_")


def reference_order(display_names: list[str]) -> np.ndarray:
    """Permutation p with p[j] = tagger index of the j-th class in the reference's alphabetical order."""
    names = [reference_name(n) for n in display_names]
    return np.array(sorted(range(len(names)), key=names.__getitem__))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ontology")
    parser.add_argument("class_labels")
    parser.add_argument("out", nargs="?", default=str(TABLE_PATH))
    args = parser.parse_args(argv)
    build_table(args.ontology, args.class_labels).to_csv(args.out, index=False)


def descendants(ontology: dict[str, dict], node_id: str) -> set[str]:
    """`node_id` and every node below it."""
    found, stack = set(), [node_id]
    while stack:
        current = stack.pop()
        if current in found or current not in ontology:
            continue
        found.add(current)
        stack.extend(ontology[current]["child_ids"])
    return found


if __name__ == "__main__":
    main()
