"""COCO box files for hand-made data: one box per frame of a split, keyed by clip_id and second as msl's own."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

# [x, y, w, h] in pixels of a 32×32 frame: whole, halves, a centred square and others, cycled over the frames
BOXES_32 = [[0, 0, 32, 32], [0, 0, 16, 32], [8, 8, 16, 16], [0, 0, 32, 16], [16, 0, 16, 32], [4, 4, 24, 24]]


def split_boxes(index_csv: Path, split: str, out: Path, size: int = 32, num_classes: int = 3) -> Path:
    """A COCO file with one box (BOXES_32 scaled to `size`, category cycling `class0…`) per `split` row of index.csv."""
    index = pd.read_csv(index_csv)
    rows = index[index["split"] == split]
    scale = size / 32
    images, annotations = [], []
    for k, (clip, second) in enumerate(zip(rows["clip_id"], rows["second"])):
        images.append({"id": k + 1, "file_name": f"{clip}/{int(second):04d}", "width": size, "height": size,
                       "clip_id": clip, "second": int(second)})
        box = [v * scale for v in BOXES_32[k % len(BOXES_32)]]
        annotations.append({"id": k + 1, "image_id": k + 1, "category_id": 1 + k % num_classes, "bbox": box,
                            "area": box[2] * box[3], "iscrowd": 0})
    categories = [{"id": c + 1, "name": f"class{c}"} for c in range(num_classes)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return out
