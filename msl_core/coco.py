"""COCO, the one canonical test-annotation format (docs/architecture.md): its writer, its checked loader and the
pieces every converter builds it from. `images` carry `clip_id` and `second` (the keys of maps.h5 rows);
`info.missing` lists the split ids a source lacked, so the evaluation reports them."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from pycocotools.coco import COCO

from msl_core.errors import BadInput
from msl_core.readers import read_json


@dataclass
class Conversion:
    """A converted annotation set: the COCO dict plus what the converter could not find."""

    coco: dict
    missing: list[str] = field(default_factory=list)

    @property
    def n_images(self) -> int:
        return len(self.coco["images"])

    @property
    def n_boxes(self) -> int:
        return len(self.coco["annotations"])

    def summary(self) -> str:
        text = f"wrote {self.n_images} items ({self.n_boxes} boxes); {len(self.missing)} split id(s) not found"
        if self.missing:
            text += ": " + ", ".join(self.missing)
        return text


def write_coco(conversion: Conversion | dict, path: str | Path) -> Path:
    """Write a COCO dict (or a Conversion's) as JSON, creating the folder."""
    coco = conversion.coco if isinstance(conversion, Conversion) else conversion
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(coco, indent=1))
    return path


def load_coco(path: str | Path) -> COCO:
    """Load a COCO file with pycocotools and check the fields msl relies on (`clip_id`, `second`, boxes)."""
    path = Path(path)
    dataset = read_json_object(path)
    for key in ("images", "annotations", "categories"):
        if not isinstance(dataset.get(key), list):
            raise BadInput(path, f"not a COCO file: no '{key}' list")
    lacking = [im.get("id") for im in dataset["images"] if "clip_id" not in im or "second" not in im]
    if lacking:
        raise BadInput(path, f"{len(lacking)} image(s) lack 'clip_id'/'second' (first: {lacking[:5]})")
    unsized = [im["id"] for im in dataset["images"] if not (im.get("width", 0) > 0 and im.get("height", 0) > 0)]
    if unsized:
        raise BadInput(path, f"{len(unsized)} image(s) without a positive width/height (first: {unsized[:5]})")
    image_ids = {im["id"] for im in dataset["images"]}
    orphans = [a.get("id") for a in dataset["annotations"] if a.get("image_id") not in image_ids]
    if orphans:
        raise BadInput(path, f"{len(orphans)} annotation(s) refer to unknown images (first: {orphans[:5]})")
    category_ids = {c["id"] for c in dataset["categories"]}
    unknown = [a.get("id") for a in dataset["annotations"] if a.get("category_id") not in category_ids]
    if unknown:
        raise BadInput(path, f"{len(unknown)} annotation(s) with an unknown category_id (first: {unknown[:5]})")
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco.createIndex()
    return coco


def missing_ids(coco: COCO) -> list[str]:
    """Split ids the converter could not find (`info.missing`); empty for sets written directly (scenes)."""
    return [str(i) for i in coco.dataset.get("info", {}).get("missing", [])]


def coco_image(image_id: int, clip_id: str, second: int, width: int, height: int) -> dict:
    return {
        "id": image_id,
        "file_name": f"{clip_id}/{second:04d}",
        "width": width,
        "height": height,
        "clip_id": clip_id,
        "second": second,
    }


def coco_annotation(ann_id: int, image_id: int, category_id: int, bbox: list[float]) -> dict:
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": category_id,
        "bbox": [float(v) for v in bbox],
        "area": float(bbox[2] * bbox[3]),
        "iscrowd": 0,
    }


def coco_dict(images, annotations, categories, source: str, missing: list[str], n_split: int) -> dict:
    info = {"description": "msl test annotations", "source": source, "n_split": n_split, "missing": missing}
    return {"info": info, "images": images, "annotations": annotations, "categories": categories}


def read_json_object(path: Path) -> dict:
    data = read_json(path, "annotation file")
    if not isinstance(data, dict):
        raise BadInput(path, "expected a JSON object")
    return data
