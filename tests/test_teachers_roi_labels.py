"""ROI pseudo labels: crops at proposal boxes, the evidence rule by hand, and the real teacher on two real stamps."""

from __future__ import annotations

import cv2
import h5py
import numpy as np
import pytest
import torch

from msl_core.errors import BadInput
from msl_core.models.mobilenet_v2 import convert_tflite
from msl_core.stores.proposals import write_proposals
from msl_core.teachers.categories import category_set
from msl_core.teachers.category_maps import image_map
from msl_core.teachers.image_classifier import ImageClassifier
from msl_core.teachers.roi_labels import crop_boxes, roi_evidence, roi_labels
from support.stamps import stamps_root


def test_crops_follow_the_boxes():
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[10:50, 100:180] = (255, 0, 0)
    crops, valid = crop_boxes(frame, np.array([[0.5, 0.1, 0.9, 0.5], [0.0, 0.0, 0.02, 0.02]]), size=32)
    assert crops.shape == (2, 32, 32, 3) and valid.tolist() == [True, False]
    assert (crops[0] == (255, 0, 0)).all()  # exactly the red block
    assert not crops[1].any()  # thinner than MIN_SIDE pixels: no object, no label


def test_evidence_is_the_largest_category_mass_over_the_crops():
    membership = np.array([[1, 1, 0, 0], [0, 0, 1, 0]], np.float32)  # 2 categories over 4 classes
    probs = np.array([[[0.3, 0.3, 0.1, 0.3], [0.0, 0.1, 0.8, 0.1]]], np.float32)  # 1 frame, 2 crops
    np.testing.assert_allclose(roi_evidence(probs, membership), [[0.6, 0.8]], rtol=1e-6)


def _stamp(path, side):
    rgba = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    scale = side / max(rgba.shape[:2])
    return cv2.resize(rgba, (round(rgba.shape[1] * scale), round(rgba.shape[0] * scale)), interpolation=cv2.INTER_AREA)


@pytest.fixture
def two_stamps(assets, tmp_path):
    """A 256×256 frame holding a real pig and a real zebra, their boxes (and two empty proposals), the teacher."""
    root = stamps_root()
    frame = np.full((256, 256, 3), 200, np.uint8)
    boxes = []
    for path, left in ((root / "animals/mammals/pig.png", 0), (root / "animals/mammals/equines/zebra.png", 128)):
        rgba = _stamp(path, 120)
        h, w = rgba.shape[:2]
        top = (256 - h) // 2
        alpha = rgba[..., 3:] / 255.0
        region = frame[top:top + h, left:left + w]
        region[:] = (alpha * rgba[..., :3] + (1 - alpha) * region).astype(np.uint8)
        boxes.append([left / 256, top / 256, (left + w) / 256, (top + h) / 256])
    weights = tmp_path / "mobilenet.pt"
    torch.save(convert_tflite(assets / "weights/mobilenet_v2_1.0_224_quant.tflite"), weights)
    return frame, np.array(boxes + [[0, 0, 0, 0]] * 2, np.float32), ImageClassifier("mobilenet_v2", weights)


def _store(tmp_path, name, frames, boxes):
    with h5py.File(tmp_path / f"{name}_frames.h5", "w") as h5:
        h5.create_dataset("frames", data=frames)
    write_proposals(tmp_path / f"{name}_proposals.h5", boxes, np.ones(boxes.shape[:2], np.float32))
    return tmp_path / f"{name}_frames.h5", tmp_path / f"{name}_proposals.h5"


def test_two_real_objects_in_one_frame_give_both_categories(two_stamps, tmp_path, small_threads):
    frame, boxes, classifier = two_stamps
    frames_path, proposals_path = _store(tmp_path, "one", frame[None], boxes[None])
    categories = category_set("classes")
    labels = roi_labels(frames_path, proposals_path, classifier, image_map(categories))[0]
    named = dict(zip(categories.names, labels))
    assert named["pigs"] > 0.5 and named["equines"] > 0.5
    others = [v for k, v in named.items() if k not in ("pigs", "equines")]
    assert max(others) < 0.2

    write_proposals(tmp_path / "short.h5", boxes[None][:0], np.ones((0, 4), np.float32))
    with pytest.raises(BadInput, match="0 rows of proposals for 1 frames"):
        roi_labels(frames_path, tmp_path / "short.h5", classifier, image_map(categories))


def test_a_repeated_frame_is_classified_once_and_labelled_the_same(two_stamps, tmp_path, small_threads):
    """A static shot: the same picture and boxes every second. Other boxes on the same picture are new work."""
    frame, boxes, classifier = two_stamps
    pig_only = boxes.copy()
    pig_only[1] = 0  # the zebra's box dropped
    membership = image_map(category_set("classes"))
    crops = []
    counting = lambda x, **kw: crops.append(len(x)) or classifier(x, **kw)  # the real teacher, counted
    paths = _store(tmp_path, "static", np.stack([frame] * 3), np.stack([boxes, boxes, pig_only]))
    labels = roi_labels(*paths, counting, membership)
    assert sum(crops) == 2 * len(boxes)  # rows 0 and 2 classified, row 1 copied
    assert np.array_equal(labels[1], labels[0]) and not np.array_equal(labels[2], labels[0])
    for row, row_boxes in ((0, boxes), (2, pig_only)):  # the same numbers as the frame labelled on its own
        alone = roi_labels(*_store(tmp_path, f"alone{row}", frame[None], row_boxes[None]), classifier, membership)
        assert np.array_equal(labels[row], alone[0])
