"""Teacher outputs -> categories: the pooling rules of the reference, user tables, the built-in maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msl_core.errors import BadInput, ConfigError
from msl_core.teachers.categories import category_set
from msl_core.teachers.category_maps import audio_map, image_map, pool_max, pool_top_k
from msl_core.teachers.ontology import read_table, reference_order, top_level_matrix


def test_pool_max_and_top_k_by_hand():
    probs = np.array([[0.1, 0.7, 0.2, 0.0]], np.float32)
    membership = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], np.float32)
    assert pool_max(probs, membership).tolist() == [[pytest.approx(0.7), pytest.approx(0.2)]]
    # top-2 keeps 0.7 and 0.2: category sums 0.7, 0.2; normalised by the max
    assert pool_top_k(probs, membership, k=2).tolist() == [[pytest.approx(1.0), pytest.approx(0.2 / 0.7)]]
    assert pool_top_k(np.zeros((1, 4), np.float32), membership, k=2).tolist() == [[0.0, 0.0]]


def test_reference_npy_in_alphabetical_order_is_reordered(tmp_path):
    ours = top_level_matrix()
    order = reference_order(list(read_table()["display_name"]))
    path = tmp_path / "cluster_a.npy"
    np.save(path, ours[:, order])  # what the reference's (7, 527) file looks like
    cats = category_set("audioset7")
    np.testing.assert_array_equal(audio_map(cats, table=path), ours)
    np.save(tmp_path / "bad.npy", ours.T)
    with pytest.raises(BadInput, match=r"shape \(527, 7\), expected \(7, 527\)"):
        audio_map(cats, table=tmp_path / "bad.npy")


def test_scene_classes_cover_their_audioset_descendants(assets):
    cats = category_set("classes")
    membership = audio_map(cats, ontology=assets / "audioset/ontology.json",
                           class_labels=assets / "audioset/class_labels_indices.csv")
    names = read_table()["display_name"].tolist()
    dogs = {names[i] for i in np.flatnonzero(membership[cats.names.index("dogs")])}
    assert {"Dog", "Bark", "Howl"} <= dogs and "Meow" not in dogs
    assert (membership.sum(axis=1) >= 1).all()


def test_image_maps(tmp_path):
    cats = category_set("audioset7")
    membership = image_map(cats)
    assert membership.shape == (7, 1000) and (membership.sum(axis=0) == 1).all()
    reference = np.zeros((1000, 7))
    reference[:, 2] = 1
    np.save(tmp_path / "cluster_v3.npy", reference)
    assert image_map(cats, table=tmp_path / "cluster_v3.npy")[2].sum() == 1000
    scenes = image_map(category_set("classes"))  # the scene classes' own table: a class in one category or none
    assert scenes.shape == (12, 1000) and scenes.sum(axis=0).max() == 1 and 0 < scenes.sum() < 1000
    with pytest.raises(ConfigError, match="labels.image_map"):
        image_map(category_set("tags", pd.DataFrame({"tags": ["a;b"]})))
    pd.DataFrame({"index": range(1000), "categories": ["Music"] * 999 + ["Banjo"]}).to_csv(tmp_path / "t.csv",
                                                                                          index=False)
    with pytest.raises(BadInput, match="category 'Banjo'"):
        image_map(cats, table=tmp_path / "t.csv")
