"""The dataset protocols (`datasets.<name>.protocol`): each registered entry selects, grounds, thresholds and
reports as docs/method.md §5 defines it; expectations are worked out by hand on hand-made COCO frames."""

from __future__ import annotations

import json

import numpy as np
import pytest

from msl_core import evaluation as ev
from msl_core.dataset_protocols import DATASET_PROTOCOLS, dataset_protocol
from msl_core.errors import ConfigError

# 256×256 frames with 0, 1, 2 and 3 annotated classes (one box each).
BOXES = {"dog": [0, 0, 128, 256], "car": [64, 0, 128, 256], "bell": [0, 0, 32, 32]}
FRAMES = {"c0/0": [], "c1/0": ["dog"], "c2/0": ["dog", "car"], "c3/0": ["dog", "car", "bell"]}

# protocol → (scored frames, excluded frames, not_scored counts), from the published definitions.
EXPECTED = {
    "flickr": (["c1/0", "c2/0", "c3/0"], ["c0/0"], {"no_boxes": 0, "not_two_classes": 0}),
    "multi-source": (["c1/0", "c2/0", "c3/0"], [], {"no_boxes": 1, "not_two_classes": 0}),
    "audioset-instrument": (["c2/0"], [], {"no_boxes": 1, "not_two_classes": 2}),
}


def write_frames(path):
    names = list(BOXES)
    images, anns = [], []
    for k, (key, classes) in enumerate(FRAMES.items(), start=1):
        clip, second = key.split("/")
        images.append({"id": k, "file_name": key, "width": 256, "height": 256, "clip_id": clip,
                       "second": int(second)})
        anns += [{"id": len(anns) + 1, "image_id": k, "category_id": names.index(c) + 1, "bbox": BOXES[c],
                  "area": BOXES[c][2] * BOXES[c][3], "iscrowd": 0} for c in classes]
    categories = [{"id": i + 1, "name": n, "supercategory": "thing"} for i, n in enumerate(names)]
    path.write_text(json.dumps({"info": {"missing": []}, "images": images, "annotations": anns,
                                "categories": categories}))
    return path


def test_every_registered_protocol_has_its_expectations():
    assert set(DATASET_PROTOCOLS.names()) == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_item_filter(tmp_path, name):
    items, excluded, not_scored, _, _ = ev.load_items(write_frames(tmp_path / "test.json"), name)
    scored, dropped, counts = EXPECTED[name]
    assert [item.key for item in items] == scored
    assert [e["id"] for e in excluded] == dropped
    assert not_scored == counts


def test_ground_truth_consensus_or_union(tmp_path):
    """dog covers x 0–127, car x 64–191: Flickr's consensus is ½ where one box covers a pixel, 1 where both do
    (2 annotators make a full vote); the union is 1 in either box."""
    items, *_ = ev.load_items(write_frames(tmp_path / "test.json"), "multi-source")
    two = next(item for item in items if item.key == "c2/0")
    row = {name: ev.ground_truth(two, name)[100] for name in ("flickr", "multi-source")}
    for x, flickr, union in [(10, 0.5, 1.0), (100, 1.0, 1.0), (150, 0.5, 1.0), (200, 0.0, 0.0)]:
        assert row["flickr"][x] == flickr and row["multi-source"][x] == union
    assert ev.ground_truth(two, "multi-source", "car")[100, 10] == 0.0  # one class: its own boxes only


def test_threshold_and_class_specific_follow_the_entry():
    for spec in DATASET_PROTOCOLS:
        settings = ev.EvalSettings(spec.name)
        assert settings.map_threshold == spec.threshold
        assert settings.class_specific == spec.class_specific
        assert ev.EvalSettings(spec.name, threshold=0.3).map_threshold == 0.3
    assert dataset_protocol("audioset-instrument").threshold == 0.1  # reference utils/evaluate.py
    assert dataset_protocol("flickr").threshold == dataset_protocol("multi-source").threshold == 0.5  # new/main.py
    with pytest.raises(ConfigError, match="'vggss' is not a known protocol; known: audioset-instrument, flickr"):
        ev.EvalSettings("vggss")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_headline_is_what_ciou_txt_reports(tmp_path, name):
    evaluation = ev.evaluate(write_frames(tmp_path / "test.json"), ev.EvalSettings(name), baselines=["centre"])
    numbers = ev.write_metrics(evaluation, tmp_path / "metrics.json", tmp_path / "ciou.txt", tmp_path / "auc.txt")
    block = numbers if not evaluation.settings.class_specific else numbers["class_agnostic"]
    assert float((tmp_path / "ciou.txt").read_text()) == pytest.approx(block["success_rate"], abs=1e-6)
    assert float((tmp_path / "auc.txt").read_text()) == pytest.approx(block["auc"], abs=1e-6)
    cious = np.array(numbers["per_item"]["centre"])
    assert block["success_rate"] == pytest.approx(float(np.mean(cious >= 0.5)))
