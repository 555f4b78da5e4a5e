"""Manifest rows, the objects table and COCO conversion on a hand-made scene."""

from __future__ import annotations

import pandas as pd

from msl_core.scenes.compose import PlacedObject, Scene
from msl_core.scenes.groundtruth import (
    OBJECT_COLUMNS,
    coco_splits,
    manifest_row,
    object_rows,
)

CLASSES = ["dogs", "cattle", "tools"]
CATEGORIES = [{"id": i + 1, "name": c, "supercategory": "Animal"} for i, c in enumerate(CLASSES)]


def _scene() -> tuple[Scene, list]:
    objects = [PlacedObject("hammer", "tools", 0, 0, 10, 10, 0.0), PlacedObject("dog", "dogs", 5, 5, 20, 20, 0.0),
               PlacedObject("cow", "cattle", 50, 50, 20, 20, 0.0)]
    boxes = [([0, 0, 10, 10], 80), ([5, 5, 20, 20], 300), ([50, 50, 20, 20], 250)]
    return Scene("scene_0001", "test", "brick", (0, 0, 1, False), objects, [[1], [0, 1]], 3), boxes


def test_manifest_row_lists_classes_in_category_order():
    scene, boxes = _scene()
    row = manifest_row(scene, boxes, "scene_0001.mp4", CLASSES)
    assert row["tags"] == "dogs;tools"
    assert row["tags_per_second"] == "dogs|dogs;tools"
    assert row["visible_per_second"] == "dogs;cattle;tools|dogs;cattle;tools"
    assert row["image_path"] == row["audio_path"] == ""


def test_coco_has_sounding_annotations_and_silent_objects():
    scene, boxes = _scene()
    objects = pd.DataFrame(object_rows(scene, boxes), columns=OBJECT_COLUMNS)
    assert len(objects) == 6 and objects["sounding"].sum() == 3
    coco = coco_splits(objects, CATEGORIES, 320, 240)
    assert coco["train"]["images"] == [] and coco["test"]["categories"] == CATEGORIES
    images, annotations = coco["test"]["images"], coco["test"]["annotations"]
    assert [im["file_name"] for im in images] == ["scene_0001/0000", "scene_0001/0001"]
    assert [(a["image_id"], a["category_id"], a["bbox"]) for a in annotations] == [
        (1, 1, [5, 5, 20, 20]), (2, 3, [0, 0, 10, 10]), (2, 1, [5, 5, 20, 20])]
    assert {a["iscrowd"] for a in annotations} == {0}
    assert [[o["category_id"] for o in im["silent_objects"]] for im in images] == [[3, 2], [2]]
