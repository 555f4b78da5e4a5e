"""The field's test sets → msl's COCO (docs/architecture.md), in the layouts their repositories distribute.

- `vggss`: `vggss.json` of LVS / EZ-VSL / SLAVC: `[{file, class, bbox: [[x1, y1, x2, y2], …]}]`, corners
  normalised to [0, 1] (EZ-VSL clips them to [0, 1] and scales by 224; so do we, on a 224×224 image).
- `slavc-extended`: SLAVC's `*_test_plus_silent.csv` (`video,audio,label`): `label = non-sounding` rows are
  negatives (the frame of `video` heard with `audio`, a clip whose sound has no visible source; clip id
  `video` when the audio is its own, else `video@audio`); every other row, and every id of `--split`, is a positive
  whose boxes come from a `vggss.json`-style box file (`--gtdata`).
- `is3` / `avsbench-box`: the box lists of IS3 (`synthetic3240_bbox.json`) and of AVSBench S4/MS3
  (`s4_box.json`, `ms3_box.json`) as SSL-Align distributes them: `[{image, audio, gt_box: [x1, y1, x2, y2]}]` in
  pixels of the 224×224 frame. IS3 image stems are `<a>_<b>[_<n>]_<heard>`: the items of one stem without its last
  token share a frame (`group`), the last token is the sounding object. AVSBench stems are `<video>[.mp4]_<k>`
  (frame k → `second`); an all-zero box (MS3 frames with nothing sounding) gives an image without boxes.

Split ids absent from the box file are listed in `info.missing`; nothing is dropped silently.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from msl_core.coco import Conversion, coco_annotation, coco_dict, coco_image
from msl_core.errors import BadInput
from msl_core.readers import read_json
from msl_core.splits import read_ids

SIZE = 224  # the codes above evaluate on 224×224 frames
SOURCE_CATEGORY = "sound source"
NON_SOUNDING = "non-sounding"


def vggss(source: str | Path, split: str | Path | None = None) -> Conversion:
    """VGG-SS boxes (optionally restricted to the ids of `split`)."""
    boxes, classes = read_vggss(source)
    ids = read_ids(split) if split is not None else sorted(boxes)
    writer = _Writer(f"vggss:{Path(source).name}")
    writer.add_vggss(ids, boxes, classes)
    return writer.done(n_split=len(ids))


def slavc_extended(source: str | Path, gtdata: str | Path | None, split: str | Path | None = None) -> Conversion:
    """SLAVC's extended list: negatives from `source`, positives' boxes from the `vggss.json`-style `gtdata`."""
    source = Path(source)
    rows = _read_plus_silent(source)
    positives = [video for video, audio, label in rows if label != NON_SOUNDING]
    positives += [i for i in (read_ids(split) if split is not None else []) if i not in positives]
    if positives and gtdata is None:
        raise BadInput(source, f"{len(positives)} sounding item(s) need their boxes: give --gtdata (vggss.json)")
    boxes, classes = read_vggss(gtdata) if gtdata is not None else ({}, {})
    writer = _Writer(f"slavc-extended:{source.name}")
    writer.add_vggss(positives, boxes, classes)
    for video, audio, label in rows:
        if label == NON_SOUNDING:
            writer.add(video if audio == video else f"{video}@{audio}", 0, [], negative="offscreen")
    return writer.done(n_split=len(positives) + sum(label == NON_SOUNDING for _, _, label in rows))


def box_list(source: str | Path, fmt: str) -> Conversion:
    """IS3 (`fmt = "is3"`) or AVSBench S4/MS3 (`"avsbench-box"`) box lists."""
    source = Path(source)
    entries = read_json(source, "box list")
    if not isinstance(entries, list) or not entries:
        raise BadInput(source, "expected a non-empty JSON list of {image, audio, gt_box}")
    writer = _Writer(f"{fmt}:{source.name}")
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict) or "image" not in entry or "gt_box" not in entry:
            raise BadInput(source, f"entry {k} lacks 'image' or 'gt_box'")
        box = np.asarray(entry["gt_box"], dtype=np.float64).reshape(-1, 4)
        stem = Path(str(entry["image"])).stem
        if fmt == "is3":
            group, _, heard = stem.rpartition("_")
            if not group:
                raise BadInput(source, f"entry {k}: image '{stem}' is not <objects>_<heard>")
            writer.add(stem, 0, [(heard, b) for b in box], group=group)
        else:
            video, _, frame = stem.rpartition("_")
            if not video or not frame.isdigit():
                raise BadInput(source, f"entry {k}: image '{stem}' is not <video>_<frame>")
            category = _avsbench_class(Path(str(entry["image"])))
            kept = [b for b in box if b[2] > b[0] and b[3] > b[1]]  # [0, 0, 0, 0]: nothing sounds in this frame
            writer.add(video.removesuffix(".mp4"), int(frame), [(category, b) for b in kept])
    return writer.done(n_split=len(entries))


def read_vggss(path: str | Path) -> tuple[dict[str, list[np.ndarray]], dict[str, str]]:
    """{file id: normalised corner boxes}, {file id: class} of a `vggss.json`-style box file."""
    path = Path(path)
    data = read_json(path, "VGG-SS box file")
    if not isinstance(data, list):
        raise BadInput(path, "expected a JSON list of {file, class, bbox}")
    boxes, classes = {}, {}
    for k, entry in enumerate(data):
        if not isinstance(entry, dict) or "file" not in entry or "bbox" not in entry:
            raise BadInput(path, f"entry {k} lacks 'file' or 'bbox'")
        corners = np.clip(np.asarray(entry["bbox"], dtype=np.float64).reshape(-1, 4), 0.0, 1.0)
        boxes[str(entry["file"])] = list(corners)
        classes[str(entry["file"])] = str(entry.get("class") or SOURCE_CATEGORY)
    return boxes, classes


def _read_plus_silent(path: Path) -> list[tuple[str, str, str]]:
    if not path.is_file():
        raise BadInput(path, "SLAVC list not found")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"video", "audio", "label"} <= set(reader.fieldnames):
            raise BadInput(path, f"expected columns video,audio,label; found {reader.fieldnames}")
        rows = [(r["video"].strip(), r["audio"].strip(), r["label"].strip()) for r in reader]
    if not rows:
        raise BadInput(path, "lists no item")
    return rows


def _avsbench_class(image: Path) -> str:
    """S4 frames live in `…/<split>/<class>/<video>/<frame>.png`; MS3 frames carry no class."""
    parts = image.parts
    return parts[-3] if len(parts) >= 4 and parts[-4] in ("train", "val", "test") else SOURCE_CATEGORY


class _Writer:
    """Accumulates COCO images/annotations (corner boxes in pixels of the 224×224 frame); categories are numbered
    in first-seen order."""

    def __init__(self, source: str):
        self.source, self.images, self.annotations, self.missing = source, [], [], []
        self.categories: dict[str, int] = {}

    def add(self, clip: str, second: int, boxes: list[tuple[str, np.ndarray]], **extra) -> None:
        image_id = len(self.images) + 1
        self.images.append(coco_image(image_id, clip, second, SIZE, SIZE) | extra)
        for name, (x1, y1, x2, y2) in boxes:
            category = self.categories.setdefault(name, len(self.categories) + 1)
            bbox = [x1, y1, x2 - x1, y2 - y1]
            self.annotations.append(coco_annotation(len(self.annotations) + 1, image_id, category, bbox))

    def add_vggss(self, ids: list[str], boxes: dict[str, list[np.ndarray]], classes: dict[str, str]) -> None:
        """Items with `vggss.json` boxes (normalised corners → pixels); ids without boxes are listed as missing."""
        for clip in ids:
            if clip not in boxes:
                self.missing.append(clip)
                continue
            self.add(clip, 0, [(classes[clip], SIZE * b) for b in boxes[clip]])

    def done(self, n_split: int) -> Conversion:
        categories = [{"id": i, "name": n, "supercategory": ""} for n, i in self.categories.items()]
        return Conversion(coco_dict(self.images, self.annotations, categories, self.source, self.missing, n_split),
                          self.missing)
