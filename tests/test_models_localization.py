"""Localisation: category weights (incl. the reference's double sigmoid), combination, the batch function."""

from __future__ import annotations

import math

import pytest
import torch

from msl_core.models.coarse_to_fine import ModelConfig, build_model
from msl_core.models.localization import (
    LocalizationConfig,
    class_weights,
    combine_class_maps,
    contrast_heard,
    localize_batch,
    localize_features,
    max_normalise,
    snap_to_boxes,
)


def _logit(p):
    return math.log(p / (1 - p))


def test_weights_keep_confident_classes_and_the_argmax():
    z = torch.tensor([[_logit(0.9), _logit(0.5), _logit(0.1)], [_logit(0.2), _logit(0.1), _logit(0.05)]])
    w = class_weights(z, threshold=0.3, double_sigmoid=False)
    assert torch.allclose(w[0], torch.tensor([0.9, 0.5, 0.0]), atol=1e-6)
    assert torch.allclose(w[1], torch.tensor([0.2, 0.0, 0.0]), atol=1e-6)  # arg-max kept below the threshold


def test_reference_double_sigmoid_keeps_every_class():
    z = torch.tensor([[_logit(0.9), _logit(0.01), _logit(0.001)]])
    w = class_weights(z, threshold=0.3, double_sigmoid=True)
    assert (w > 0.5).all() and (w < 0.732).all()


def test_combine_by_hand():
    maps = torch.zeros(1, 2, 2, 2)
    maps[0, 0, 0, 0] = 1.0
    maps[0, 1, 1, 1] = 0.5
    combined = combine_class_maps(maps, torch.tensor([[0.75, 0.25]]))
    # (0.75·1 + 0) / 1 = 0.75 at (0,0); 0.125 at (1,1); max-normalised.
    assert torch.allclose(combined[0], torch.tensor([[1.0, 0.0], [0.0, 0.125 / 0.75]]))


def test_all_zero_map_stays_zero():
    assert torch.equal(max_normalise(torch.zeros(1, 3, 3)), torch.zeros(1, 3, 3))


@pytest.mark.parametrize("map_size", [16, 32])
def test_localize_batch_shapes_and_ranges(small_threads, map_size):
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16), warn_random=False).eval()
    frames = model.prepare_frames(torch.randint(0, 256, (2, 256, 256, 3), dtype=torch.uint8))
    out = localize_batch(model, frames, torch.randn(2, 51, 64), LocalizationConfig(map_size=map_size), stage1=model)
    s = map_size
    assert out["stage2"].shape == out["cam"].shape == (2, s, s)
    assert out["stage2_class"].shape == out["cam_class"].shape == (2, 3, s, s)
    assert out["audio_prob"].shape == (2, 3)
    for key in ("stage2", "cam", "stage2_class", "cam_class"):
        assert out[key].min() >= 0 and out[key].max() <= 1 + 1e-6, key
    assert torch.allclose(out["stage2"].flatten(1).amax(1), torch.ones(2))


def test_cam_gate_keeps_each_category_where_its_own_cam_sees_it(small_threads):
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16), warn_random=False).eval()
    frames = model.prepare_frames(torch.randint(0, 256, (2, 256, 256, 3), dtype=torch.uint8))
    logmel = torch.randn(2, 51, 64)
    plain = localize_batch(model, frames, logmel, LocalizationConfig())
    gated = localize_batch(model, frames, logmel, LocalizationConfig(gate="cam"))
    fv, fa = model.backbone_features(frames, logmel)
    vmap, _ = model.class_maps(fv, fa)
    cam = max_normalise(torch.relu(vmap))  # (2, 3, 16, 16): the map size is the feature grid, no resize
    assert torch.allclose(gated["stage2_class"], plain["stage2_class"] * cam, atol=1e-6)
    assert torch.equal(gated["audio_prob"], plain["audio_prob"])


def test_unknown_gate_is_a_config_error():
    with pytest.raises(Exception, match="evaluate.gate"):
        LocalizationConfig(gate="grad-cam")


def test_snap_fills_each_box_with_its_mean_times_root_objectness():
    maps = torch.zeros(1, 2, 4, 4)
    maps[0, 0, :2, :2] = 1.0  # category 0 lit in the top-left quarter
    maps[0, 1, 3, 3] = 0.8  # category 1 lit in one corner cell
    boxes = torch.tensor([[[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0], [0.2, 0.2, 0.4, 0.4]]])
    objectness = torch.tensor([[0.81, 0.64, 0.0]])  # the third slot is empty padding
    out = snap_to_boxes(maps, boxes, objectness, size=4)
    # category 0: the quarter box scores 1·0.9, the whole frame 4/16·0.8 = 0.2; each cell takes its best box
    expected0 = torch.full((4, 4), 0.2)
    expected0[:2, :2] = 0.9
    assert torch.allclose(out[0, 0], expected0)
    # category 1: the quarter box holds nothing (0), the frame 0.8/16·0.8 = 0.04 everywhere, the quarter too
    assert torch.allclose(out[0, 1], torch.full((4, 4), 0.04))


def test_snap_keeps_the_map_of_a_frame_without_proposals():
    maps = torch.rand(1, 3, 4, 4)
    out = snap_to_boxes(maps, torch.zeros(1, 2, 4), torch.zeros(1, 2), size=8)
    assert torch.allclose(out, torch.nn.functional.interpolate(maps, size=(8, 8), mode="bilinear"))


def test_localize_batch_snaps_stage2_and_cam_alike(small_threads):
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16), warn_random=False).eval()
    frames = model.prepare_frames(torch.randint(0, 256, (2, 256, 256, 3), dtype=torch.uint8))
    logmel = torch.randn(2, 51, 64)
    boxes = torch.tensor([[[0.1, 0.1, 0.6, 0.5], [0.5, 0.4, 0.9, 0.9]]]).repeat(2, 1, 1)
    objectness = torch.tensor([[0.9, 0.4], [0.5, 0.0]])
    cfg = LocalizationConfig(snap="proposals")
    plain = localize_batch(model, frames, logmel, LocalizationConfig(), stage1=model)
    out = localize_batch(model, frames, logmel, cfg, stage1=model, proposals=(boxes, objectness))
    assert out["stage2_class"].shape == out["cam_class"].shape == (2, 3, cfg.output_size, cfg.output_size)
    assert torch.allclose(out["stage2_class"], snap_to_boxes(plain["stage2_class"], boxes, objectness), atol=1e-6)
    outside = torch.ones(cfg.output_size, cfg.output_size, dtype=torch.bool)  # frame 1: only its first box is real
    outside[6:32, 6:38] = False  # cells whose centres (i + 0.5)/64 lie in x [0.1, 0.6], y [0.1, 0.5]
    for key in ("stage2_class", "cam_class"):  # one box: one value per category inside it, nothing outside
        inside = out[key][1][:, ~outside]
        assert out[key][1][:, outside].abs().max() == 0 and torch.equal(inside, inside[:, :1].expand_as(inside))
    with pytest.raises(Exception, match="evaluate.snap"):
        localize_batch(model, frames, logmel, cfg, stage1=model)


def test_contrast_heard_by_hand():
    e = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]])  # (2, 3, 2)
    w = torch.tensor([[0.6, 0.4, 0.0], [0.9, 0.0, 0.0]])  # clip 0 hears two categories, clip 1 one
    out = contrast_heard(e, w, 0.5)
    # category 0: (1, 0) − 0.5·(0, 1); category 1: (0, 1) − 0.5·(1, 0); category 2, not heard: (0.6, 0.8) −
    # 0.5·(0.6·(1, 0) + 0.4·(0, 1)) / 1.0 = (0.3, 0.6); each renormalised.
    expected = torch.tensor([[1.0, -0.5], [-0.5, 1.0], [0.3, 0.6]])
    assert torch.allclose(out[0], expected / expected.norm(dim=1, keepdim=True), atol=1e-6)
    assert torch.equal(out[1], e[1])  # one category heard: nothing to tell it from
    assert torch.equal(contrast_heard(e, w, 0.0)[0], e[0])


def test_contrast_heard_changes_only_the_class_maps_of_clips_hearing_several(small_threads):
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16), warn_random=False).eval()
    with torch.no_grad():  # clip 0 hears categories 0 and 1, clip 1 only category 2
        model.audio_head.weight.zero_()
        model.audio_head.weight[:2, 0] = 1.0
        model.audio_head.weight[2, 1] = 1.0
    frames = model.prepare_frames(torch.randint(0, 256, (2, 256, 256, 3), dtype=torch.uint8))
    logmel = torch.randn(2, 51, 64)
    fv, fa = model.backbone_features(frames, logmel)
    with torch.no_grad():
        fa[0, 1], fa[1, 0] = -10.0, -10.0  # after the ReLU-free head: clip 0's channel 1, clip 1's channel 0 silent
        fa[0, 0], fa[1, 1] = fa[0, 0].abs() + 1, fa[1, 1].abs() + 1
    plain = localize_features(model, fv, fa, LocalizationConfig(contrast_heard=0.0))
    out = localize_features(model, fv, fa, LocalizationConfig(contrast_heard=0.5))
    heard = out["audio_prob"] > 0.3
    assert heard[0].tolist() == [True, True, False] and heard[1].tolist() == [False, False, True]
    assert torch.equal(out["stage2"], plain["stage2"]) and torch.equal(out["stage2_raw"], plain["stage2_raw"])
    assert torch.equal(out["stage2_class"][1], plain["stage2_class"][1])
    assert not torch.allclose(out["stage2_class"][0], plain["stage2_class"][0])
    with pytest.raises(Exception, match="evaluate.contrast_heard"):
        LocalizationConfig(contrast_heard=-1.0)
