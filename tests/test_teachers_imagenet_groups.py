"""Our ImageNet -> 7 table: regenerated from the real label file, a hard partition, sensible for clear classes."""

from __future__ import annotations

import pandas as pd

from msl_core.teachers.categories import AUDIOSET7
from msl_core.teachers.imagenet_groups import TABLE_PATH, build_table


def test_shipped_table_is_the_generated_one(assets):
    generated = build_table(assets / "weights/imagenet_labels.txt")
    shipped = pd.read_csv(TABLE_PATH, keep_default_na=False)
    pd.testing.assert_frame_equal(shipped, generated, check_dtype=False)


def test_partition_and_clear_classes(assets):
    table = build_table(assets / "weights/imagenet_labels.txt").set_index("index")
    assert len(table) == 1000 and set(table["categories"]) == set(AUDIOSET7)
    assert (table.loc[0:397, "categories"] == "Animal").all()
    first_name = table["name"].str.split(",").str[0]
    expect = {"violin": "Music", "grand piano": "Music", "airliner": "Sounds of things", "chain saw": "Sounds of things",
              "volcano": "Natural sounds", "jersey": "Human sounds", "television": "Channel, environment and background"}
    for name, category in expect.items():
        assert table.loc[first_name == name, "categories"].item() == category, name


def test_scene_table_is_generated_and_names_the_stamps_objects(assets):
    from msl_core.teachers.imagenet_groups import SCENE_TABLE_PATH, scene_assignments

    generated = build_table(assets / "weights/imagenet_labels.txt", scene_assignments())
    shipped = pd.read_csv(SCENE_TABLE_PATH, keep_default_na=False)
    pd.testing.assert_frame_equal(shipped, generated, check_dtype=False)
    first_name = generated["name"].str.split(",").str[0]
    expect = {"beagle": "dogs", "ox": "cattle", "ram": "sheep_goats", "zebra": "equines", "hog": "pigs",
              "hen": "poultry", "vulture": "wild_birds", "bee": "insects", "violin": "orchestra",
              "drum": "percussion", "hammer": "tools", "teapot": "household", "airliner": "", "volcano": ""}
    for name, category in expect.items():
        assert generated.loc[first_name == name, "categories"].item() == category, name
