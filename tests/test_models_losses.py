"""Losses on tiny hand-computed inputs (docs/method.md §3.1)."""

from __future__ import annotations

import math

import pytest
import torch

from msl_core.models.losses import (
    background_loss,
    background_weights,
    classification_loss,
    correspondence_loss,
    distance_loss,
    stage_losses,
)

# The reference loss (docs/method.md §3.1): margin 1.4, both probabilities above 0.3, every other pair a negative.
REFERENCE = {"margin": 1.4, "prob_filter": 0.3, "pairs": "instance"}


def _ce(logits, target):
    return -math.log(math.exp(logits[target]) / sum(math.exp(v) for v in logits))


def test_balanced_correspondence_loss_by_hand():
    logits = torch.tensor([[[0.0, 2.0], [1.0, 0.0]], [[0.0, 0.0], [3.0, 1.0]]])  # (2, 2, 2)
    pos = (_ce([0.0, 2.0], 1) + _ce([3.0, 1.0], 1)) / 2
    neg = (_ce([1.0, 0.0], 0) + _ce([0.0, 0.0], 0)) / 2
    assert correspondence_loss(logits).item() == pytest.approx(0.5 * pos + 0.5 * neg, rel=1e-6)


def test_correspondence_balances_unequal_counts():
    # N = 3: 3 positives, 6 negatives; all negatives perfect → loss = ½·mean positive CE only.
    logits = torch.zeros(3, 3, 2)
    logits[..., 0] = 50.0
    eye = torch.eye(3, dtype=torch.bool)
    logits[eye] = torch.tensor([0.0, 0.0])
    assert correspondence_loss(logits).item() == pytest.approx(0.5 * math.log(2), rel=1e-6)


def test_correspondence_single_clip_has_no_negative_term():
    assert correspondence_loss(torch.zeros(1, 1, 2)).item() == pytest.approx(0.5 * math.log(2))


def test_distance_loss_by_hand():
    # N = 1 clip, C = 2 categories, E = 2: rows (clip 0, cat 0), (clip 0, cat 1).
    ea = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    ev = torch.tensor([[[0.6, 0.8], [0.0, 1.0]]])
    # D = 2 − 2⟨a_i, v_j⟩: D00 = 0.8, D01 = 2, D10 = 0.4, D11 = 0.
    probs = torch.tensor([[0.9, 0.9]])
    pos = (0.8 + 0.0) / 2
    neg = (max(0.0, 1.4 - math.sqrt(2.0)) ** 2 + (1.4 - math.sqrt(0.4)) ** 2) / 2
    got = distance_loss(ea, ev, probs, probs, margin=1.4, prob_filter=0.3, pairs="instance")
    assert got.item() == pytest.approx(pos + neg, rel=1e-5)


def test_distance_loss_filter_drops_unlikely_rows():
    ea = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    ev = torch.tensor([[[0.6, 0.8], [0.0, 1.0]]])
    # Category 1 filtered out on the audio side: only pairs (0,0) [pos] and (0,1) [neg] stay.
    pa, pv = torch.tensor([[0.9, 0.2]]), torch.tensor([[0.9, 0.9]])
    expected = 0.8 + max(0.0, 1.4 - math.sqrt(2.0)) ** 2
    assert distance_loss(ea, ev, pa, pv, **REFERENCE).item() == pytest.approx(expected, rel=1e-5)
    # Nothing passes the filter: both terms are 0, not NaN.
    assert distance_loss(ea, ev, torch.zeros(1, 2), pv, **REFERENCE).item() == pytest.approx(0.0, abs=1e-6)


def test_category_pairs_leave_the_same_category_of_another_clip_out():
    # N = 2 clips, C = 2, E = 2; rows m = 2n + c. Clip 1's category-0 object looks like clip 0's (v = a0).
    ea = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])
    ev = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.6, 0.8]]])
    probs = torch.ones(2, 2)
    a, v = ea.flatten(0, 1), ev.flatten(0, 1)
    d = (2 - 2 * a @ v.T).clamp_min(0)
    hinge = (1.4 - d.clamp_min(1e-12).sqrt()).clamp_min(0) ** 2
    pos = sum(d[i, i].item() for i in range(4)) / 4
    different = [(i, j) for i in range(4) for j in range(4) if i % 2 != j % 2]  # 8 pairs of different categories
    expected = pos + sum(hinge[i, j].item() for i, j in different) / len(different)
    got = distance_loss(ea, ev, probs, probs, **(REFERENCE | {"pairs": "category"}))
    assert got.item() == pytest.approx(expected, rel=1e-5)
    # The reference also pushes clip 0's category-0 sound from clip 1's category-0 object (D = 0): a larger loss.
    assert distance_loss(ea, ev, probs, probs, **REFERENCE).item() > got.item() + 0.1


def test_distance_loss_gradient_is_finite_at_zero_distance():
    e = torch.nn.functional.normalize(torch.randn(2, 3, 8), dim=-1).requires_grad_(True)
    loss = distance_loss(e, e, torch.ones(2, 3), torch.ones(2, 3), **REFERENCE)
    loss.backward()
    assert torch.isfinite(e.grad).all()


def test_bce_against_soft_labels():
    z, y = torch.tensor([[0.0, 2.0]]), torch.tensor([[0.5, 1.0]])
    expected = (math.log(2) + math.log(1 + math.exp(-2.0))) / 2
    assert classification_loss(z, y).item() == pytest.approx(expected, rel=1e-6)


def test_stage_losses_sum_terms():
    out = {"audio_logits": torch.zeros(2, 3), "visual_logits": torch.zeros(2, 3), "avc_logits": torch.zeros(2, 2, 2)}
    terms = stage_losses(out, torch.zeros(2, 3), torch.zeros(2, 3), stage=1, **REFERENCE, background_weight=0.0)
    assert set(terms) == {"cls_audio", "cls_visual", "avc", "loss"}
    assert terms["loss"].item() == pytest.approx(3 * math.log(2), rel=1e-6)


def test_background_weights_by_hand():
    # 1 clip, 2 categories on a 1×3 grid; category 1 is not seen (prob 0.1), so only category 0 covers.
    cam = torch.tensor([[[[2.0, 1.0, 0.0]], [[0.0, 0.0, 5.0]]]])
    w = background_weights(cam, torch.tensor([[0.9, 0.1]]), prob_filter=0.3)
    assert w.tolist() == [[[0.0, 0.5, 1.0]]]


def test_background_loss_by_hand():
    # One heard audio row e = (1, 0); two positions: cos 1 (distance 0) and cos 0 (distance √2 > margin 1.4).
    ea = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # (N=1, C=2, E=2)
    ev = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])  # (N=1, E=2, h=1, w=2): positions (1, 0) and (0, 1)
    heard = torch.tensor([[0.9, 0.1]])
    bg = torch.tensor([[[0.25, 1.0]]])
    expected = (0.25 * 1.4**2 + 1.0 * 0.0) / (1.25 * 1)
    assert background_loss(ea, ev, heard, bg, margin=1.4, prob_filter=0.3).item() == pytest.approx(expected, rel=1e-5)
    assert background_loss(ea, ev, torch.zeros(1, 2), bg, margin=1.4, prob_filter=0.3).item() == 0.0  # nothing heard, nothing to push


def _unit(*shape):
    return torch.nn.functional.normalize(torch.randn(*shape), dim=-1)


def test_stage_two_background_term_is_weighted_and_summed():
    torch.manual_seed(0)
    out = {"audio_logits": torch.full((2, 3), 2.0), "visual_logits": torch.full((2, 3), 2.0),
           "avc_logits": torch.zeros(2, 2, 2), "audio_embed": _unit(2, 3, 4), "visual_embed": _unit(2, 3, 4),
           "visual_positions": torch.nn.functional.normalize(torch.randn(2, 4, 2, 2), dim=1),
           "visual_cam": torch.rand(2, 3, 2, 2)}
    plain = stage_losses(out, torch.ones(2, 3), torch.ones(2, 3), stage=2, **REFERENCE, background_weight=0.0)
    with_bg = stage_losses(out, torch.ones(2, 3), torch.ones(2, 3), stage=2, **REFERENCE, background_weight=0.5)
    assert "background" not in plain and with_bg["background"].item() > 0
    assert with_bg["loss"].item() == pytest.approx(plain["loss"].item() + with_bg["background"].item(), rel=1e-6)
