"""Category vocabularies and tag encoding against the real scene class table."""

from __future__ import annotations

import pandas as pd
import pytest

from msl_core.errors import BadInput, ConfigError
from msl_core.teachers.categories import (
    AUDIOSET7,
    category_set,
    read_scene_classes,
    scene_classes_path,
)


def test_classes_follow_the_scene_table():
    table = pd.read_csv(scene_classes_path(), keep_default_na=False)
    classes = category_set("classes")
    assert list(classes.names) == list(dict.fromkeys(table["class"]))
    first = classes.names[0]
    assert classes.encode([first]).tolist() == [1.0] + [0.0] * (len(classes) - 1)


def test_audioset7_maps_scene_classes_through_their_category():
    table = read_scene_classes()
    cats = category_set("audioset7")
    assert cats.names == AUDIOSET7
    for row in table.itertuples():
        assert cats.encode([row[1]])[AUDIOSET7.index(row[3])] == 1.0
    assert cats.encode(["Music"]).tolist() == [0, 0, 0, 0, 1, 0, 0]


def test_tags_vocabulary_and_unknown_tag():
    index = pd.DataFrame({"tags": ["b;a", "", "c"], "visible": ["", "d", ""]})
    cats = category_set("tags", index)
    assert cats.names == ("a", "b", "c", "d")
    with pytest.raises(BadInput, match="tag 'zebra'"):
        cats.encode(["zebra"], source="index.csv")
    with pytest.raises(ConfigError, match="no tags"):
        category_set("tags", pd.DataFrame({"tags": ["", ""]}))
    with pytest.raises(ConfigError, match="unknown vocabulary"):
        category_set("colours")
