"""Ground truth of the scenes: COCO per split, the manifest with clip- and second-level tags, an objects table.

COCO images are (clip, second) pairs; annotations are the sounding objects only; silent objects ride along on each
image as `silent_objects` (see docs/architecture.md).
"""

from __future__ import annotations

import pandas as pd

from msl_core.scenes.compose import Scene

SPLITS = ("train", "val", "test")
OBJECT_COLUMNS = ["clip_id", "second", "split", "object", "stamp", "class", "x", "y", "w", "h", "area", "sounding"]

Boxes = list[tuple[list[int], int] | None]   # per object: ([x, y, w, h], mask area) or None when not visible


def object_rows(scene: Scene, boxes: Boxes) -> list[dict]:
    """Per second, every visible object's box, class, mask area and sounding flag."""
    rows = []
    for second, sounding in enumerate(scene.sounding):
        for i, (obj, box) in enumerate(zip(scene.objects, boxes)):
            if box is None:
                continue
            (x, y, w, h), area = box
            rows.append({"clip_id": scene.clip_id, "second": second, "split": scene.split, "object": i,
                         "stamp": obj.stamp, "class": obj.cls, "x": x, "y": y, "w": w, "h": h, "area": area,
                         "sounding": int(i in sounding)})
    return rows


def _ordered(names: set[str], classes: list[str]) -> str:
    return ";".join(c for c in classes if c in names)


def manifest_row(scene: Scene, boxes: Boxes, video_name: str, classes: list[str]) -> dict:
    """The manifest row of a clip; per-second lists follow the category order, seconds separated by `|`."""
    per_second = [{scene.objects[i].cls for i in sounding} for sounding in scene.sounding]
    visible = {obj.cls for obj, box in zip(scene.objects, boxes) if box is not None}
    return {
        "clip_id": scene.clip_id, "video_path": video_name, "image_path": "", "audio_path": "",
        "split": scene.split, "start_s": 0.0,
        "tags": _ordered(set().union(*per_second), classes),
        "tags_per_second": "|".join(_ordered(s, classes) for s in per_second),
        "visible_per_second": "|".join([_ordered(visible, classes)] * len(scene.sounding)),
    }


def coco_splits(objects: pd.DataFrame, categories: list[dict], width: int, height: int) -> dict[str, dict]:
    """One COCO dict per split from the objects table; image and annotation ids are unique across splits."""
    category_id = {c["name"]: c["id"] for c in categories}
    result = {split: {"info": {"description": f"msl scenes ({split})"}, "images": [], "annotations": [],
                      "categories": categories} for split in SPLITS}
    annotation_id = 0
    for image_id, ((clip_id, second), rows) in enumerate(objects.groupby(["clip_id", "second"], sort=False), 1):
        coco = result[rows["split"].iloc[0]]
        silent = []
        for row in rows.to_dict("records"):
            entry = {"bbox": [int(row[k]) for k in "xywh"], "category_id": category_id[row["class"]],
                     "area": int(row["area"]), "stamp": row["stamp"], "object": int(row["object"])}
            if row["sounding"]:
                annotation_id += 1
                coco["annotations"].append({"id": annotation_id, "image_id": image_id, "iscrowd": 0, **entry})
            else:
                silent.append(entry)
        coco["images"].append({"id": image_id, "file_name": f"{clip_id}/{int(second):04d}", "width": width,
                               "height": height, "clip_id": clip_id, "second": int(second),
                               "silent_objects": silent})
    return result
