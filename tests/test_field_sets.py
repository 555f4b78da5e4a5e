"""Converters of the field's test sets, on small fixtures written in each repository's own layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from msl_core import field_sets
from msl_core.annotations import convert
from msl_core.cli import cli
from msl_core.coco import load_coco, write_coco
from msl_core.errors import BadInput
from msl_core.protocols import evaluate_protocol
from msl_core.protocols.data import load_protocol_items

VGGSS = [
    {"file": "zpWuikVorYg_000032", "class": "elk bugling", "bbox": [[0.25, 0.5, 0.75, 1.0]]},
    {"file": "ORaz32CQ29k_000130", "class": "coyote howling",
     "bbox": [[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.2, 1.0]]},  # 1.2: EZ-VSL clips corners to [0, 1]
]
PLUS_SILENT = "video,audio,label\n9PmzQI8ZYpg_000147,9PmzQI8ZYpg_000147,non-sounding\n" \
              "raIIQCRNwu0_000080,AzkP4-XZjK0_000080,non-sounding\n"
IS3 = [
    {"image": "/d/visual_frames/cat_alarmclock_1828_cat.jpg", "audio": "/d/a.wav", "gt_box": [0.0, 0.0, 112.0, 224.0]},
    {"image": "/d/visual_frames/cat_alarmclock_1828_alarmclock.jpg", "audio": "/d/b.wav",
     "gt_box": [112.0, 0.0, 224.0, 224.0]},
]
S4 = [{"image": "/d/s4_data/visual_frames/test/helicopter/0d9u2CymIxc/0d9u2CymIxc_3.png", "audio": "/d/x.wav",
       "gt_box": [21.0, 72.0, 196.0, 140.0]}]
MS3 = [{"image": "/d/ms3_data/visual_frames/rq5RDUm2Hnk_1/rq5RDUm2Hnk_1.mp4_1.png", "audio": "/d/y.wav",
        "gt_box": [0.0, 0.0, 0.0, 0.0]}]


def dump(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_vggss_boxes_on_the_224_frame_and_missing_split_ids(tmp_path):
    source = dump(tmp_path / "vggss.json", VGGSS)
    split = dump(tmp_path / "vggss_test.csv", "zpWuikVorYg_000032\nORaz32CQ29k_000130\nabsent_000001\n")
    conversion = convert("vggss", source=source, split=split)
    assert conversion.missing == ["absent_000001"]
    coco = conversion.coco
    assert [im["clip_id"] for im in coco["images"]] == ["zpWuikVorYg_000032", "ORaz32CQ29k_000130"]
    assert coco["annotations"][0]["bbox"] == [56.0, 112.0, 112.0, 112.0]  # 224·[0.25, 0.5, 0.5, 0.5]
    assert coco["annotations"][2]["bbox"] == [112.0, 112.0, 112.0, 112.0]  # x2 = 1.2 clipped to 1
    assert {c["name"] for c in coco["categories"]} == {"elk bugling", "coyote howling"}
    # A degenerate box (zero width, as some vggss.json entries have) covers no pixel: reported, never scored.
    coco["annotations"][0]["bbox"][2] = 0.0
    items = load_protocol_items(write_coco(coco, tmp_path / "v.json"), 224)
    assert items.excluded == [{"id": "zpWuikVorYg_000032/0", "reason": "boxes cover no pixel of the 224x224 grid"}]


def test_slavc_extended_negatives_and_positives(tmp_path):
    source = dump(tmp_path / "vggss_test_plus_silent.csv", PLUS_SILENT)
    gtdata = dump(tmp_path / "vggss.json", VGGSS)
    split = dump(tmp_path / "vggss_test.csv", "zpWuikVorYg_000032\nnot_boxed_000002\n")
    conversion = field_sets.slavc_extended(source, gtdata, split)
    images = conversion.coco["images"]
    negatives = [im for im in images if im.get("negative")]
    assert [im["clip_id"] for im in negatives] == ["9PmzQI8ZYpg_000147", "raIIQCRNwu0_000080@AzkP4-XZjK0_000080"]
    assert {im["negative"] for im in negatives} == {"offscreen"}
    assert conversion.missing == ["not_boxed_000002"]
    with pytest.raises(BadInput, match="--gtdata"):
        field_sets.slavc_extended(source, None, split)
    with pytest.raises(BadInput, match="video,audio,label"):
        field_sets.slavc_extended(dump(tmp_path / "bad.csv", "a,b\n1,2\n"), gtdata)


def test_is3_groups_and_avsbench_frames(tmp_path):
    is3 = write_coco(convert("is3", source=dump(tmp_path / "is3.json", IS3)), tmp_path / "is3_coco.json")
    items = load_protocol_items(is3, 224).items
    assert {it.group for it in items} == {"cat_alarmclock_1828"}
    assert sorted(name for it in items for name in it.boxes) == ["alarmclock", "cat"]
    s4 = convert("avsbench-box", source=dump(tmp_path / "s4.json", S4)).coco
    assert (s4["images"][0]["clip_id"], s4["images"][0]["second"]) == ("0d9u2CymIxc", 3)
    assert s4["categories"][0]["name"] == "helicopter"
    assert s4["annotations"][0]["bbox"] == [21.0, 72.0, 175.0, 68.0]
    ms3 = convert("avsbench-box", source=dump(tmp_path / "ms3.json", MS3)).coco
    assert ms3["images"][0]["clip_id"] == "rq5RDUm2Hnk_1" and ms3["annotations"] == []  # nothing sounds: kept, unboxed
    with pytest.raises(BadInput, match="entry 0"):
        convert("is3", source=dump(tmp_path / "bad.json", [{"image": "x.jpg"}]))


def test_convert_then_score_is3_with_msl_commands(tmp_path):
    # Each sound's map lights 100 of its object's 112 columns (less than half the frame, so IS3's strict top half
    # is exactly those columns): cIoU = 100/112 for both sounds, the frame counts (IIoU = 1).
    import h5py

    out = tmp_path / "is3_coco.json"
    runner = CliRunner()
    result = runner.invoke(cli, ["convert-annotations", "--format", "is3", "--source",
                                 str(dump(tmp_path / "is3.json", IS3)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    load_coco(out)
    maps = np.zeros((2, 224, 224), dtype=np.float32)
    maps[0, :, :100], maps[1, :, 124:] = 1.0, 1.0
    with h5py.File(tmp_path / "maps.h5", "w") as h5:
        h5["clip_id"] = np.array(["cat_alarmclock_1828_cat", "cat_alarmclock_1828_alarmclock"], dtype=h5py.string_dtype())
        h5["second"] = np.zeros(2, dtype=np.int32)
        h5["stage2"] = maps
    numbers = evaluate_protocol("is3", out, tmp_path / "maps.h5", baselines=["all_ones"])
    assert numbers["iiou"] == 1.0 and numbers["n_groups"] == 1
    assert numbers["methods"]["all_ones"]["iiou"] == 0.0  # a constant map's strict top half is empty
