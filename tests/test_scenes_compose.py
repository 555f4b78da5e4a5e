"""Placement, masks and boxes (scaling, frame-edge cropping, occlusion), and the sounding schedule."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from msl_core.scenes.compose import (
    PlacedObject,
    label_map,
    object_boxes,
    place_objects,
    render_frame,
    sample_scene,
    scale_stamp,
    sounding_schedule,
    stamp_mask,
)
from msl_core.scenes.config import ScenesConfig
from msl_core.scenes.stamps import Stamp, load_stamp
from support.stamps import write_catalogue

W, H = 320, 240


def _rectangle_stamp(name: str, h: int = 40, w: int = 60) -> Stamp:
    """An opaque rectangle: its mask is the whole stamp."""
    rgba = np.full((h, w, 4), 200, np.uint8)
    return Stamp(name, "test", rgba, np.zeros(10, np.float32), np.zeros(1, np.int64))


def test_box_of_a_scaled_stamp_cut_by_the_frame_edges():
    stamps = {"a": _rectangle_stamp("a")}
    # scaled to 90x60, top-left at (-30, 200): 60 columns and 40 rows remain inside the 320x240 frame
    obj = PlacedObject("a", "test", x=-30, y=200, w=90, h=60, gain_db=0.0)
    (box, area), = object_boxes(label_map([obj], stamps, W, H), 1)
    assert box == [0, 200, 60, 40]
    assert area == 60 * 40


def test_occluded_object_keeps_the_box_of_its_visible_part():
    stamps = {"a": _rectangle_stamp("a"), "b": _rectangle_stamp("b")}
    below = PlacedObject("a", "test", x=10, y=10, w=60, h=40, gain_db=0.0)
    above = PlacedObject("b", "test", x=40, y=0, w=60, h=60, gain_db=0.0)   # covers columns 40.. of `below`
    (box_a, area_a), (box_b, area_b) = object_boxes(label_map([below, above], stamps, W, H), 2)
    assert box_a == [10, 10, 30, 40] and area_a == 30 * 40
    assert box_b == [40, 0, 60, 60] and area_b == 60 * 60


@pytest.fixture(scope="module")
def real_stamps(tmp_path_factory) -> list[Stamp]:
    catalogue = pd.read_csv(write_catalogue(tmp_path_factory.mktemp("catalogue")))
    rows = catalogue[catalogue["stamp"].isin(["dog", "cow", "violin", "hammer"])]
    return [load_stamp(row, 22050) for _, row in rows.iterrows()]


def test_boxes_match_the_alpha_masks_of_real_stamps(real_stamps):
    cfg = ScenesConfig()
    rng = np.random.default_rng(3)
    stamps = {s.name: s for s in real_stamps}
    for _ in range(5):
        objects = place_objects(rng, real_stamps, cfg)
        labels = label_map(objects, stamps, W, H)
        for i, (obj, entry) in enumerate(zip(objects, object_boxes(labels, len(objects)))):
            # the object's own scaled alpha mask, pasted into an empty frame, cut at the edges, minus what covers it
            mask = np.zeros((H + 2 * obj.h, W + 2 * obj.w), bool)
            mask[obj.y + obj.h:obj.y + 2 * obj.h, obj.x + obj.w:obj.x + 2 * obj.w] = stamp_mask(
                scale_stamp(stamps[obj.stamp].rgba, obj.w, obj.h))
            mask = mask[obj.h:obj.h + H, obj.w:obj.w + W]
            for later in objects[i + 1:]:
                mask &= labels != objects.index(later)
            ys, xs = np.nonzero(mask)
            box, area = entry
            assert box == [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
            assert area == mask.sum()


def test_placement_bounds_occlusion_and_edge_cropping(real_stamps):
    cfg = ScenesConfig(max_occlusion=0.2, max_outside=0.1)
    stamps = {s.name: s for s in real_stamps}
    for seed in range(5):
        objects = place_objects(np.random.default_rng(seed), real_stamps, cfg)
        labels = label_map(objects, stamps, W, H)
        for i, obj in enumerate(objects):
            full = stamp_mask(scale_stamp(stamps[obj.stamp].rgba, obj.w, obj.h)).sum()
            assert (labels == i).sum() >= (1 - cfg.max_occlusion) * (1 - cfg.max_outside) * full - 1


def test_render_frame_shows_the_objects(real_stamps):
    cfg = ScenesConfig()
    scene = sample_scene(np.random.default_rng(0), "c", "train", real_stamps[:3], cfg)
    frame, labels = render_frame(scene, {s.name: s for s in real_stamps}, W, H)
    assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
    assert set(np.unique(labels)) == {-1, 0, 1, 2}


@pytest.mark.parametrize("n_objects", [2, 3, 4])
def test_sounding_schedule_leaves_someone_silent(n_objects):
    cfg = ScenesConfig(duration_s=10)
    changes = 0
    for seed in range(20):
        schedule = sounding_schedule(np.random.default_rng(seed), n_objects, cfg)
        assert len(schedule) == 10
        for sounding in schedule:
            assert 1 <= len(sounding) <= min(2, n_objects - 1)
            assert len(set(sounding)) == len(sounding) and all(0 <= i < n_objects for i in sounding)
        changes += sum(a != b for a, b in pairwise(schedule))
    assert changes > 0   # the sounding set does change from second to second
