"""The AudioSet class -> top-level table: regenerated from the real ontology, checked against the reference's counts."""

from __future__ import annotations

import pandas as pd
import pytest

from msl_core.errors import BadInput
from msl_core.teachers.categories import AUDIOSET7
from msl_core.teachers.ontology import (
    build_table,
    descendants,
    read_ontology,
    read_table,
    reference_order,
    top_level_matrix,
)


@pytest.fixture(scope="module")
def generated(assets) -> pd.DataFrame:
    return build_table(assets / "audioset/ontology.json", assets / "audioset/class_labels_indices.csv")


def categories_of(table: pd.DataFrame, name: str) -> set[str]:
    return set(table.set_index("display_name").loc[name, "categories"].split(";"))


def test_shipped_table_is_the_generated_one(generated):
    pd.testing.assert_frame_equal(read_table().reset_index(drop=True), generated.reset_index(drop=True),
                                  check_dtype=False)


def test_clear_classes(generated):
    assert categories_of(generated, "Bark") == {"Animal"}
    assert categories_of(generated, "Violin, fiddle") == {"Music"}
    assert categories_of(generated, "Fire engine, fire truck (siren)") == {"Sounds of things"}
    assert categories_of(generated, "Speech") == {"Human sounds"}
    assert categories_of(generated, "Cowbell") == {"Animal", "Sounds of things", "Music"}  # three parents


def test_every_class_mapped_and_reference_counts(generated):
    matrix = top_level_matrix(generated)
    assert matrix.shape == (7, 527)
    assert (matrix.sum(axis=0) >= 1).all()
    # docs/method.md §2.2: cluster_a row sums; 27 classes in two categories and 2 in three.
    assert matrix.sum(axis=1).tolist() == [72, 55, 65, 176, 150, 18, 22]
    per_class = matrix.sum(axis=0)
    assert (per_class == 2).sum() == 27 and (per_class == 3).sum() == 2


def test_reference_alphabetical_order(generated):
    order = reference_order(list(generated["display_name"]))
    names = generated["display_name"].to_numpy()[order]
    # docs/method.md §2.2: the tagger's alphabetical class order (encoder.pth indices)
    assert names[0] == "A capella" and names[2] == "Accordion" and names[526] == "Zither"
    assert names[491] == "Violin, fiddle" and names[186] == "Fire engine, fire truck (siren)"


def test_descendants(assets):
    nodes = read_ontology(assets / "audioset/ontology.json")
    dog = next(k for k, v in nodes.items() if v["name"] == "Dog")
    names = {nodes[n]["name"] for n in descendants(nodes, dog)}
    assert {"Dog", "Bark", "Howl", "Growling"} <= names and "Cat" not in names
    assert AUDIOSET7[2] == "Animal"


def test_bad_files(tmp_path, assets):
    with pytest.raises(BadInput, match="not found"):
        build_table(tmp_path / "none.json", assets / "audioset/class_labels_indices.csv")
    broken = tmp_path / "ontology.json"
    broken.write_text('[{"id": "x"')
    with pytest.raises(BadInput, match="not valid JSON"):
        build_table(broken, assets / "audioset/class_labels_indices.csv")
