"""Metrics against the numbers of docs/method.md §7 and the §5.2/§5.4 definitions."""

from __future__ import annotations

import numpy as np
import pytest

from msl_core import metrics

# §7.1: boxes (1,1,128,128) and (65,65,192,192), 1-based xmin, ymin, xmax, ymax, written as the Flickr converter does.
TOY_BOXES = np.array([[0, 0, 127, 127], [64, 64, 127, 127]], dtype=float)


def test_consensus_map_counts():
    gt = metrics.consensus_map(TOY_BOXES)
    assert gt.shape == (256, 256)
    assert int((gt == 1).sum()) == 3969
    assert int((gt == 0.5).sum()) == 24320
    assert gt.sum() == 16129
    assert set(np.unique(gt)) == {0.0, 0.5, 1.0}


def test_toy_ciou_reference_numbers():
    gt = metrics.consensus_map(TOY_BOXES)[None]
    first = np.zeros((1, 256, 256))
    first[0, :128, :128] = 1.0
    second = np.zeros((1, 256, 256))
    second[0, 64:191, 64:191] = 0.8
    value1 = metrics.ciou(metrics.binarise(first, 0.5), gt)[0]
    assert value1 == pytest.approx(10112.5 / 16257, abs=1e-12)
    assert round(value1, 6) == 0.622040
    # Absolute threshold (the reference's test) and max-normalised threshold agree here.
    for relative in (False, True):
        value2 = metrics.ciou(metrics.binarise(second, 0.5, relative=relative), gt)[0]
        assert round(value2, 6) == 0.623039


def test_auc_reference_number():
    assert metrics.auc([0.1, 0.5, 0.9, 1.0]) == pytest.approx(0.643750, abs=1e-12)
    assert metrics.success_rate([0.1, 0.5, 0.9, 1.0]) == 0.75


def test_rasteriser_matches_audioset_rule():
    # §5.4: rows floor(256y) … floor(256(y+h)) − 1 for normalised boxes written as 256·[x, y, w, h].
    rng = np.random.default_rng(0)
    for _ in range(50):
        x, y = rng.uniform(0, 0.7, 2)
        w, h = rng.uniform(0.01, 0.3, 2)
        mask = metrics.box_masks(256 * np.array([x, y, w, h]))[0]
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        assert rows[0] == int(np.floor(256 * y)) and rows[-1] == int(np.floor(256 * (y + h))) - 1
        assert cols[0] == int(np.floor(256 * x)) and cols[-1] == int(np.floor(256 * (x + w))) - 1


def test_binarise_relative_clips_negatives_and_empty_maps():
    maps = np.array([[[-5.0, 0.2], [0.05, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])
    pred = metrics.binarise(maps, 0.1)
    assert pred[0].tolist() == [[False, True], [False, True]]
    assert not pred[1].any()


def test_ciou_rejects_empty_ground_truth_and_bad_scores():
    with pytest.raises(ValueError, match="empty ground-truth"):
        metrics.ciou(np.ones((1, 4, 4), bool), np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        metrics.auc([0.5, float("nan")])
    with pytest.raises(ValueError, match="no items"):
        metrics.success_rate([])


def test_upsample_and_centre_prior():
    maps = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    up = metrics.upsample(maps, 8)
    assert up.shape == (1, 8, 8)
    assert up[0, 0, 0] == pytest.approx(0.0) and up[0, -1, -1] == pytest.approx(15.0)
    prior = metrics.centre_prior(256, 0.25)
    assert prior.max() == pytest.approx(np.exp(-2 * (0.5 / 256) ** 2 / (2 * 0.0625)))
    assert np.unravel_index(prior.argmax(), prior.shape) in {(127, 127), (127, 128), (128, 127), (128, 128)}
