"""A contact sheet: sample frames decoded from the MP4s with their ground-truth boxes drawn on top.

Sounding objects are green, silent ones orange, so one look tells whether boxes sit on objects and whether the
sounding flags follow the manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from msl_core.manifest import load_manifest
from msl_core.scenes.groundtruth import SPLITS
from msl_core.scenes.render import read_frame_at

SOUNDING = (40, 220, 40)   # RGB
SILENT = (255, 140, 0)
SCALE = 2                  # frames are drawn at twice their size so the labels stay readable


def _sample_images(cocos: dict[str, dict], n: int) -> list[tuple[dict, list[dict], dict]]:
    """Up to `n` (image, its sounding annotations, coco) spread over clips and seconds, test split first."""
    picked = []
    for split in ("test", "val", "train"):
        coco = cocos[split]
        by_image: dict[int, list[dict]] = {}
        for ann in coco["annotations"]:
            by_image.setdefault(ann["image_id"], []).append(ann)
        seen_clips: set[str] = set()
        for image in coco["images"]:
            if image["clip_id"] in seen_clips or len(picked) >= n:
                continue
            seen_clips.add(image["clip_id"])
            # a different second per clip shows the sounding set changing
            second = len(picked) % max(1, sum(1 for im in coco["images"] if im["clip_id"] == image["clip_id"]))
            chosen = next(im for im in coco["images"] if im["clip_id"] == image["clip_id"] and im["second"] == second)
            picked.append((chosen, by_image.get(chosen["id"], []), coco))
    return picked


def _draw_box(canvas: np.ndarray, bbox: list[int], colour: tuple[int, int, int], label: str) -> None:
    x, y, w, h = (v * SCALE for v in bbox)
    cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), colour, 2)
    cv2.putText(canvas, label, (x + 3, max(y + 14, 14)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)


def draw_tile(frame: np.ndarray, image: dict, sounding: list[dict], names: dict[int, str]) -> np.ndarray:
    """One frame (H, W, 3) RGB enlarged by SCALE with its silent (orange) and sounding (green) boxes."""
    canvas = cv2.resize(frame, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST)
    for obj in image.get("silent_objects", []):
        _draw_box(canvas, obj["bbox"], SILENT, names[obj["category_id"]])
    for ann in sounding:
        _draw_box(canvas, ann["bbox"], SOUNDING, names[ann["category_id"]] + " (sound)")
    cv2.putText(canvas, f"{image['clip_id']} t={image['second']}s", (4, canvas.shape[0] - 6),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def contact_sheet(manifest_path: str | Path, annotations_dir: str | Path, out_png: str | Path,
                  n: int = 12, columns: int = 4) -> None:
    """Write a grid of `n` sample frames (decoded from the videos at t = second) with their GT boxes."""
    manifest = load_manifest(manifest_path).set_index("clip_id")
    cocos = {split: json.loads((Path(annotations_dir) / f"{split}.json").read_text()) for split in SPLITS}
    names = {c["id"]: c["name"] for c in cocos["train"]["categories"]}
    tiles = [draw_tile(read_frame_at(manifest.loc[image["clip_id"], "video_path"], image["second"]), image,
                       sounding, names)
             for image, sounding, _ in _sample_images(cocos, n)]
    rows = [tiles[i:i + columns] for i in range(0, len(tiles), columns)]
    blank = np.zeros_like(tiles[0])
    grid = np.concatenate([np.concatenate(r + [blank] * (columns - len(r)), axis=1) for r in rows], axis=0)
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_png), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))


def summary(manifest_path: str | Path) -> pd.DataFrame:
    """Clips per split and sounding seconds per class: a quick check that every class lives in every split."""
    manifest = load_manifest(manifest_path)
    rows = []
    for clip in manifest.itertuples():
        for second in clip.tags_per_second.split("|"):
            rows += [{"split": clip.split, "class": c} for c in second.split(";") if c]
    return pd.DataFrame(rows).value_counts().unstack("split", fill_value=0)
