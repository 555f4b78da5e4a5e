"""The contact sheet: frames decoded from the MP4s with sounding boxes green and silent boxes orange."""

from __future__ import annotations

import json

import cv2
import numpy as np

from msl_core.scenes.build import build_dataset
from msl_core.scenes.config import ScenesConfig
from msl_core.scenes.contact_sheet import (
    SCALE,
    SILENT,
    SOUNDING,
    contact_sheet,
    summary,
)
from support.stamps import write_catalogue


def test_contact_sheet_draws_boxes_where_the_annotations_say(tmp_path):
    catalogue = write_catalogue(tmp_path)
    build_dataset(ScenesConfig(n_clips=3, duration_s=2, seed=1, probe_scenes=0), catalogue, tmp_path / "videos", tmp_path / "ann")
    out = tmp_path / "sheet.png"
    contact_sheet(tmp_path / "videos/manifest.csv", tmp_path / "ann", out, n=3, columns=3)
    sheet = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    assert sheet.shape == (240 * SCALE, 320 * SCALE * 3, 3)
    test = json.loads((tmp_path / "ann/test.json").read_text())
    image = test["images"][0]   # the first tile: the test clip at second 0
    annotation = next(a for a in test["annotations"] if a["image_id"] == image["id"])
    x, y, _, h = (v * SCALE for v in annotation["bbox"])
    assert np.all(sheet[y + h // 2, x] == SOUNDING) or np.all(sheet[y + h // 2, x + 1] == SOUNDING)
    silent = image["silent_objects"][0]["bbox"]
    sx, sy, _, sh = (v * SCALE for v in silent)
    assert np.all(sheet[sy + sh // 2, sx] == SILENT) or np.all(sheet[sy + sh // 2, sx + 1] == SILENT)
    assert set(summary(tmp_path / "videos/manifest.csv").columns) == {"train", "val", "test"}
