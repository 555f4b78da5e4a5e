"""Protocols end to end on hand-made COCO files and real HDF5 maps (and the `msl` commands that wrap them)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from msl_core import evaluation as ev
from msl_core.errors import BadInput
from msl_core.stores.frames import frames_writer
from msl_core.stores.maps import write_maps as write_map_store
from support.workspace import REPO

CLASSES = ["dog", "car", "bell"]


def write_coco(path: Path, frames: list[tuple[str, int, list[tuple[str, list[float]]]]], categories=CLASSES,
               size=(256, 256), missing=()) -> Path:
    """frames: (clip_id, second, [(category name, [x, y, w, h]), ...]) on images of `size`."""
    cats = [{"id": i + 1, "name": n, "supercategory": "thing"} for i, n in enumerate(categories)]
    ids = {n: i + 1 for i, n in enumerate(categories)}
    images, anns = [], []
    for k, (clip, second, boxes) in enumerate(frames, start=1):
        images.append({"id": k, "file_name": f"{clip}/{second:04d}", "width": size[0], "height": size[1],
                       "clip_id": clip, "second": second})
        for name, bbox in boxes:
            anns.append({"id": len(anns) + 1, "image_id": k, "category_id": ids[name], "bbox": bbox,
                         "area": bbox[2] * bbox[3], "iscrowd": 0})
    coco = {"info": {"missing": list(missing)}, "images": images, "annotations": anns, "categories": cats}
    path.write_text(json.dumps(coco))
    return path


def write_maps(path: Path, keys: list[tuple[str, int]], categories=CLASSES, **datasets) -> Path:
    items = pd.DataFrame({"clip_id": [k[0] for k in keys], "second": [k[1] for k in keys], "split": "test"})
    maps = {name: np.asarray(value, dtype=np.float32 if name == "audio_prob" else np.float16)
            for name, value in datasets.items()}
    write_map_store(path, items, maps, list(categories))
    return path


def columns(c0: int, c1: int, size: int = 16) -> np.ndarray:
    """A 16×16 map with ones on columns c0 … c1 − 1 (every row, so bilinear corners never round anything off):
    upsampled ×16 and binarised at `> 0.5·max` it is exactly pixel columns 16·c0 … 16·c1 − 1."""
    out = np.zeros((size, size))
    out[:, c0:c1] = 1.0
    return out


# Scenes-like multi-source frames on 320×240 images: dog on the left half, car on the right half.
SCENE = [
    ("clipA", 0, [("dog", [0, 0, 160, 240]), ("car", [160, 0, 160, 240])]),
    ("clipA", 1, [("dog", [0, 0, 160, 240])]),
    ("clipB", 0, []),  # nothing sounding: not scored
]
LEFT, RIGHT = columns(0, 8), columns(8, 16)


def scene_maps(path: Path, drop_last: bool = False) -> Path:
    keys = [("clipA", 0), ("clipA", 1), ("clipB", 0), ("clipC", 5)]
    stage2_class = np.zeros((4, 3, 16, 16))
    stage2_class[:, 0], stage2_class[:, 1] = LEFT, RIGHT
    cam_class = stage2_class[:, [1, 0, 2]]  # swapped: each class points at the other object
    stage2 = np.maximum(LEFT, RIGHT)[None].repeat(4, 0)
    stage2[1] = LEFT
    cam = np.ones((4, 16, 16))
    n = 1 if drop_last else 4
    return write_maps(path, keys[:n], stage2=stage2[:n], cam=cam[:n], stage2_class=stage2_class[:n],
                      cam_class=cam_class[:n], audio_prob=np.full((n, 3), 0.5))


def test_multi_source_protocol(tmp_path):
    coco = write_coco(tmp_path / "test.json", SCENE, size=(320, 240))
    maps = scene_maps(tmp_path / "maps.h5")
    result = ev.evaluate(coco, ev.EvalSettings("multi-source"), maps)
    assert [item.key for item in result.items] == ["clipA/0", "clipA/1"]
    assert result.not_scored["no_boxes"] == 1
    assert list(result.scores) == ["stage2", "cam", "all_ones", "centre"]
    np.testing.assert_allclose(result.scores["stage2"].agnostic, [1.0, 1.0])
    np.testing.assert_allclose(result.scores["stage2"].specific, [1.0, 1.0])
    np.testing.assert_allclose(result.scores["cam"].specific, [0.0, 0.0])
    # all-ones: cIoU = box area / 256² exactly; its class-specific map is the same map for every class.
    np.testing.assert_allclose(result.scores["all_ones"].agnostic, [1.0, 0.5])
    np.testing.assert_allclose(result.scores["all_ones"].specific, [0.5, 0.5])
    numbers = result.to_json()
    assert numbers["n_items"] == 2 and numbers["primary"] == "stage2"
    assert numbers["class_agnostic"]["success_rate"] == 1.0
    assert numbers["methods"]["cam"]["class_specific"]["per_class"]["dog"]["n"] == 2
    assert numbers["methods"]["cam"]["class_specific"]["success_rate"] == 0.0
    assert numbers["methods"]["all_ones"]["class_agnostic"]["auc"] == pytest.approx(0.05 * 10 + 0.05 * 0.75 + 0.05 * 0.5 * 9)


def test_flickr_protocol_reproduces_reference_ciou(tmp_path):
    boxes = [("sound source", [0, 0, 127, 127]), ("sound source", [64, 64, 127, 127])]
    coco = write_coco(tmp_path / "test.json", [("1000", 0, boxes), ("2000", 0, [])], categories=["sound source"],
                      missing=["9999"])
    pred = np.zeros((1, 256, 256))
    pred[0, :128, :128] = 1.0
    maps = write_maps(tmp_path / "maps.h5", [("1000", 0)], categories=[], stage2=pred, cam=pred * 0.3)
    numbers = ev.write_metrics(ev.evaluate(coco, ev.EvalSettings("flickr"), maps), tmp_path / "m.json",
                               tmp_path / "ciou.txt", tmp_path / "auc.txt")
    assert round(numbers["mean_ciou"], 6) == 0.622040
    assert numbers["methods"]["cam"]["mean_ciou"] == numbers["mean_ciou"]  # max-normalised threshold
    assert numbers["missing"] == ["9999"] and numbers["n_items"] == 1
    assert numbers["excluded"] == [{"id": "2000/0", "reason": "no boxes"}]
    assert set(numbers) >= {"n_items", "missing", "success_rate", "auc", "mean_ciou", "threshold"}
    assert (tmp_path / "ciou.txt").read_text() == "1.000000\n"
    assert json.loads((tmp_path / "m.json").read_text())["threshold"] == 0.5


def test_audioset_protocol_scores_two_class_frames_only(tmp_path):
    frames = [
        ("yt1", 0, [("dog", [0, 0, 128, 256]), ("car", [128, 0, 64, 256])]),
        ("yt1", 1, [("dog", [0, 0, 128, 128])]),
        ("yt2", 3, [("dog", [0, 0, 64, 64]), ("car", [0, 0, 64, 64]), ("bell", [0, 0, 9, 9])]),
    ]
    coco = write_coco(tmp_path / "test.json", frames)
    # A faint (0.15·max) halo everywhere: kept by the reference's 0.1·max binarisation.
    halo = np.maximum(LEFT, 0.15)
    maps = write_maps(tmp_path / "maps.h5", [("yt1", 0)], stage2=halo[None],
                      stage2_class=np.stack([LEFT, RIGHT, LEFT])[None])
    result = ev.evaluate(coco, ev.EvalSettings("audioset-instrument"), maps, baselines=())
    assert len(result.items) == 1 and result.not_scored["not_two_classes"] == 2
    assert result.settings.map_threshold == 0.1
    assert result.scores["stage2"].agnostic[0] == pytest.approx(192 / 256)  # G = union of both boxes
    # At 0.1·max the bilinear edge of a block of columns reaches 6 pixel columns further: 134 columns predicted.
    # dog: 128 / 134; car (columns 128…191) against columns 122…255: 64 / 134.
    assert result.scores["stage2"].specific[0] == pytest.approx((128 / 134 + 64 / 134) / 2)
    strict = ev.evaluate(coco, ev.EvalSettings("audioset-instrument", threshold=0.5), maps, baselines=())
    assert strict.scores["stage2"].specific[0] == pytest.approx((1.0 + 0.5) / 2)


def test_bad_inputs_are_named_errors_or_reported(tmp_path):
    coco = write_coco(tmp_path / "test.json", SCENE, size=(320, 240))
    short = scene_maps(tmp_path / "short.h5", drop_last=True)  # only clipA/0 has a map
    with pytest.raises(BadInput, match="1 of 2 annotated item"):
        ev.evaluate(coco, ev.EvalSettings("multi-source"), short)
    result = ev.evaluate(coco, ev.EvalSettings("multi-source", allow_missing_maps=True), short)
    assert result.excluded == [{"id": "clipA/1", "reason": "no map"}] and len(result.items) == 1

    nan = np.ones((1, 16, 16))
    nan[0, 3, 3] = np.nan
    with pytest.raises(BadInput, match="NaN"):
        ev.evaluate(coco, ev.EvalSettings("multi-source", allow_missing_maps=True),
                    write_maps(tmp_path / "nan.h5", [("clipA", 0)], stage2=nan))
    with pytest.raises(BadInput, match="shape"):
        ev.evaluate(coco, ev.EvalSettings("multi-source", allow_missing_maps=True),
                    write_maps(tmp_path / "s.h5", [("clipA", 0)], stage2=np.ones((1, 16, 8))))
    with pytest.raises(BadInput, match="2 classes"):
        ev.evaluate(coco, ev.EvalSettings("multi-source", allow_missing_maps=True),
                    write_maps(tmp_path / "c.h5", [("clipA", 0)], stage2=np.ones((1, 4, 4)),
                               stage2_class=np.ones((1, 2, 4, 4))))
    # Maps over supercategories ("thing" for every test class) are matched through the COCO supercategory.
    by_super = ev.evaluate(coco, ev.EvalSettings("multi-source", allow_missing_maps=True),
                           write_maps(tmp_path / "sup.h5", [("clipA", 0)], categories=["Thing"],
                                      stage2=np.ones((1, 4, 4)), stage2_class=np.ones((1, 1, 4, 4))))
    assert by_super.maps.columns == {"dog": 0, "car": 0}
    with pytest.raises(BadInput, match="not among the map categories"):
        ev.evaluate(coco, ev.EvalSettings("multi-source", allow_missing_maps=True),
                    write_maps(tmp_path / "n.h5", [("clipA", 0)], categories=["x", "y", "z"],
                               stage2=np.ones((1, 4, 4)), stage2_class=np.ones((1, 3, 4, 4))))


def test_pictures(tmp_path):
    from msl_core import plots

    coco = write_coco(tmp_path / "test.json", SCENE, size=(320, 240))
    result = ev.evaluate(coco, ev.EvalSettings("multi-source"), scene_maps(tmp_path / "maps.h5"))
    frames_h5 = tmp_path / "frames.h5"
    with frames_writer(frames_h5, 256, key="test") as frames:
        frames.append(np.random.default_rng(0).integers(0, 255, (2, 256, 256, 3), dtype=np.uint8))
        frames.finish(pd.DataFrame({"clip_id": ["clipA", "clipA"], "second": [0, 1], "split": "test"}))
    grid, bars = tmp_path / "heatmaps.png", tmp_path / "per_class.png"
    ev.draw_pictures(result, grid, bars, frames_h5)
    for png in (grid, bars):
        with Image.open(png) as image:
            assert image.size[0] > 300 and image.size[1] > 200
    chosen = plots.select_items(result.scores[result.primary].agnostic, 1)
    assert [label for label, _ in chosen] == ["best", "median", "worst"][: len(result.items)]


def run_msl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from msl_core.cli import main; main()", *args],
                          check=False, capture_output=True, text=True, cwd=REPO)


def test_cli_convert_and_evaluate(tmp_path):
    gt = {0: {"visual": "./Dataset/Data/0/1000.jpg", "audio": "x.wav",
              "anno": np.array([[1, 1, 128, 128], [65, 65, 192, 192]]).astype(str)}}
    (tmp_path / "gtdata.pkl").write_bytes(pickle.dumps(gt))
    (tmp_path / "gtest.txt").write_text("1000.png\n4242.png\n")
    out = tmp_path / "flickr_test.json"
    done = run_msl("convert-annotations", "--format", "flickr-gtdata", "--gtdata", str(tmp_path / "gtdata.pkl"),
                   "--split", str(tmp_path / "gtest.txt"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "wrote 1 items" in done.stdout and "4242" in done.stdout
    done = run_msl("evaluate", "--annotations", str(out), "--protocol", "flickr", "--baseline", "all_ones",
                   "--out", str(tmp_path / "metrics.json"))
    assert done.returncode == 0, done.stderr
    numbers = json.loads((tmp_path / "metrics.json").read_text())
    assert numbers["missing"] == ["4242"] and numbers["n_items"] == 1
    assert numbers["mean_ciou"] == pytest.approx(16129 / (16129 + 65536 - 28289))
    pred = np.zeros((1, 16, 16))
    pred[0, 4:12, 4:12] = 1
    maps = write_maps(tmp_path / "maps.h5", [("9", 0)], categories=[], stage2=pred)
    done = run_msl("evaluate", "--annotations", str(out), "--protocol", "flickr", "--maps", str(maps),
                   "--out", str(tmp_path / "m2.json"))
    assert done.returncode == 2 and "1 of 1 annotated item(s) have no map" in done.stderr
    assert not (tmp_path / "m2.json").exists()


def test_scores_split_by_number_of_sounding_sources_with_the_reference_rule(tmp_path):
    coco = write_coco(tmp_path / "test.json", SCENE, size=(320, 240))
    keys = [("clipA", 0), ("clipA", 1)]
    stage2_class = np.zeros((2, 3, 16, 16))
    stage2_class[:, 0], stage2_class[:, 1] = LEFT, RIGHT
    stage2 = np.stack([LEFT + 0.2 * RIGHT, LEFT])  # the car is lit at 0.2·max: kept by 0.1·max only
    maps = write_maps(tmp_path / "maps.h5", keys, stage2=stage2, stage2_class=stage2_class,
                      audio_prob=np.full((2, 3), 0.5))
    numbers = ev.evaluate(coco, ev.EvalSettings("multi-source"), maps, baselines=[]).to_json()
    split = numbers["methods"]["stage2"]["by_sources"]
    assert sorted(split) == ["1", "2"]
    assert split["1"]["class_agnostic"] == {"success_rate": 1.0, "auc": pytest.approx(1.0), "mean_ciou": 1.0,
                                            "n_items": 1}
    # Two sources, 0.5·max: the dog's 128 pixel columns plus the 2 where the bilinear ramp from 1 to 0.2 stays above
    # 0.5 (0.575, 0.525) are predicted, of a union covering all 256: cIoU 130/256. At 0.1·max every pixel is kept.
    assert split["2"]["class_agnostic"]["mean_ciou"] == pytest.approx(130 / 256)
    assert split["2"]["reference_rule"]["class_agnostic"]["mean_ciou"] == pytest.approx(1.0)
    assert split["2"]["class_specific"]["mean_ciou"] == pytest.approx(1.0)
    assert split["2"]["class_specific"]["n_items"] == 1
