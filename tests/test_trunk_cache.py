"""The cached frozen trunk (msl_core.training.trunk_cache, stores.trunk): training from trunk.h5 gives bit-identical
losses, gradients and weights on CPU, flipped rows included; the store round trip; what it refuses; `auto`."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest
import torch

from msl_core import metrics
from msl_core.config import load_config
from msl_core.config.settings import trunk_settings
from msl_core.errors import BadInput, ConfigError
from msl_core.models import ModelConfig, build_model
from msl_core.models.localization import LocalizationConfig, localize_batch
from msl_core.models.losses import stage_losses
from msl_core.models.mobilenet_v2 import MobileNetV2Features
from msl_core.stores.frames import FramesStore
from msl_core.stores.trunk import TrunkStore
from msl_core.training.data import BatchReader, open_training_data
from msl_core.training.loop import RunOptions, StageOutputs, TrainConfig, train_stage
from msl_core.training.synthetic import write_synthetic_inputs
from msl_core.training.trunk_cache import augment, check_trunk, step_inputs, write_trunk_features
from msl_core.training.validation import SCORING, open_val_split, val_cious
from support.coco import split_boxes
from support.workspace import REPO

MOBILENET = {"vision_backbone": "mobilenet_v2", "freeze_vision_stages": 14}


def _model(seed=0, **cfg):
    torch.manual_seed(seed)
    return build_model(ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16, **(MOBILENET | cfg)), warn_random=False)


@pytest.fixture
def cached(tmp_path, small_threads):
    """48 synthetic rows of 16 clips (train, train, val each), and trunk.h5 of a MobileNetV2 from vision.pt (both
    views). Every batch below holds 16 rows: on one thread PyTorch then takes oneDNN for every convolution, as
    trunk_features does (msl_core.training.trunk_cache, BATCH)."""
    files = write_synthetic_inputs(tmp_path / "data", n=48, size=32, num_classes=3, splits=("train", "train", "val"))
    torch.manual_seed(0)  # random "pretrained" weights, in the file a run starts from
    torch.save(MobileNetV2Features().state_dict(), tmp_path / "data" / "vision.pt")
    model = build_model(ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16, **MOBILENET),
                        str(tmp_path / "data" / "vision.pt"))
    write_trunk_features(files.frames, tmp_path / "data" / "trunk.h5", model, flipped=True, device=torch.device("cpu"),
                         progress=False)
    return dataclasses.replace(files, trunk=tmp_path / "data" / "trunk.h5"), model


@pytest.mark.parametrize(("backbone", "frozen"), [("resnet18", 2), ("mobilenet_v2", 14)])
def test_the_backbone_runs_in_two_parts_that_compose_to_forward(backbone, frozen, small_threads):
    vision = _model(vision_backbone=backbone, freeze_vision_stages=frozen).vision
    x = torch.randn(2, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    assert torch.equal(vision.forward_from(vision.forward_to(x, frozen), frozen), vision(x))
    assert torch.equal(vision.forward_to(x, 0), x) and torch.equal(vision.forward_from(x, 0), vision(x))


def test_the_store_holds_each_frame_and_its_mirror_image(cached):
    files, model = cached
    store, frames = TrunkStore(files.trunk), FramesStore(files.frames)
    assert len(store) == len(frames) == 48 and store.views == ["as_is", "flipped"]
    assert (store.vision_backbone, store.frozen_stages) == ("mobilenet_v2", 14)
    assert store.index_table().equals(frames.index_table())
    trunk = store.read("trunk")
    assert trunk.shape == (48, 2, 96, 2, 2) and trunk.dtype == np.float32  # block 13: 96 channels at stride 16
    with torch.no_grad():
        x = model.prepare_frames(torch.from_numpy(frames.read("frames")[16:32]))
        as_is = model.frozen_trunk(x)
        mirrored = model.frozen_trunk(augment(x, torch.ones(16, dtype=torch.bool)))
    assert torch.equal(torch.from_numpy(trunk[16:32, 0]), as_is)
    assert torch.equal(torch.from_numpy(trunk[16:32, 1]), mirrored)
    # The mirrored frame's features are not the mirrored features (one-sided padding, stride-2 sampling).
    assert not torch.allclose(mirrored, as_is.flip(-1), atol=1e-3)


def _step(model, batch, flips, stage):
    """Losses and the trainable parameters' gradients of one training step on `batch`."""
    model.train()
    model.zero_grad(set_to_none=True)
    visual, from_trunk = step_inputs(model, batch, flips, torch.device("cpu"))
    out = model(visual, batch["logmel"], stage=stage, positions=True, from_trunk=from_trunk)
    terms = stage_losses(out, batch["audio"], batch["visual"], stage, margin=1.4, prob_filter=0.0,
                         background_weight=4.0, pairs="category")
    terms["loss"].backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return {k: v.item() for k, v in terms.items()}, grads


@pytest.mark.parametrize("stage", [1, 2])
def test_a_step_from_the_cache_equals_the_step_from_the_frames(cached, stage):
    files, model = cached
    rows = list(range(47, 0, -3))  # 16 rows, scattered
    flips = torch.rand(16, generator=torch.Generator().manual_seed(0)) < 0.5
    from_frames = BatchReader(dataclasses.replace(files, trunk=None))[rows]
    from_cache = BatchReader(files)[rows]
    assert "frames" not in from_cache and from_cache["trunk"].shape == (16, 2, 96, 2, 2)
    assert 0 < flips.sum() < 16
    losses, grads = _step(model, from_frames, flips, stage)
    cached_losses, cached_grads = _step(model, from_cache, flips, stage)
    assert cached_losses == losses  # bit-identical, every term
    assert grads.keys() == cached_grads.keys() and len(grads) == len(model.stage_parameters(stage))
    assert all(torch.equal(grads[k], cached_grads[k]) for k in grads)


@pytest.mark.parametrize("stage", [1, 2])
def test_validation_from_the_cache_scores_what_the_frames_give(cached, tmp_path, stage):
    """Validation reads the trunk like training does; the 16 val rows make one batch (oneDNN on one thread)."""
    files, model = cached
    boxes = split_boxes(files.index, "val", tmp_path / "val.json", size=32)
    cached_val = open_val_split(files, boxes)
    frames_val = open_val_split(dataclasses.replace(files, trunk=None), boxes)
    assert len(cached_val.truth) == 16 and "trunk" in BatchReader(cached_val.data.files)[[2]]
    model.eval()
    cious = [val_cious(model, val, stage, 16, torch.device("cpu")) for val in (cached_val, frames_val)]
    assert np.array_equal(cious[0], cious[1]) and cious[0].max() > 0
    # the frames' own path, through the maps localisation writes
    with torch.no_grad():
        rows = sorted(frames_val.truth)
        batch = BatchReader(frames_val.data.files, pixels=True)[rows]
        maps = localize_batch(model, model.prepare_frames(batch["frames"]), batch["logmel"], LocalizationConfig(),
                              stage1=model)["cam" if stage == 1 else "stage2"]
    predicted = metrics.binarise(metrics.upsample(maps.numpy()), SCORING.map_threshold)
    assert np.array_equal(cious[0], metrics.ciou(predicted, np.stack([frames_val.truth[r] for r in rows])))


@pytest.mark.slow
def test_both_stages_train_to_the_same_weights_from_the_cache(cached, tmp_path):
    """train_stage end to end, stage 1 then stage 2, each epoch's val loss and val success included."""
    files, model = cached
    val_boxes = split_boxes(files.index, "val", tmp_path / "val.json", size=32)
    model_cfg = dataclasses.replace(model.cfg, categories=("class0", "class1", "class2"))
    stage1 = TrainConfig(stage=1, epochs=1, lr=0.5, batch_size=16, seed=3)  # 2 batches of 16 and 1 val batch
    stage2 = dataclasses.replace(stage1, stage=2, epochs=1, lr=0.05)
    runs = {}
    for name, trunk in (("frames", None), ("cache", files.trunk)):
        run_files = dataclasses.replace(files, trunk=trunk)
        data, val = open_training_data(run_files), open_val_split(run_files, val_boxes)
        s1, s2 = StageOutputs.in_dir(tmp_path / name / "s1"), StageOutputs.in_dir(tmp_path / name / "s2")
        history = train_stage(data, model_cfg, stage1, s1, RunOptions(progress=False), val=val,
                              vision_weights=files.frames.parent / "vision.pt")
        history += train_stage(data, model_cfg, stage2, s2, RunOptions(progress=False), val=val, stage1_model=s1.model)
        runs[name] = ([{k: v for k, v in h.items() if k != "samples_per_s"} for h in history],
                      torch.load(s2.model, weights_only=True)["state_dict"])
    (frames_history, frames_weights), (cache_history, cache_weights) = runs["frames"], runs["cache"]
    assert {"loss", "val_loss", "val_success"} <= set(cache_history[0]) and "align" in cache_history[-1]
    assert cache_history == frames_history
    assert all(torch.equal(frames_weights[k], cache_weights[k]) for k in frames_weights)


def test_training_refuses_a_cache_of_other_frozen_stages(cached):
    files, model = cached
    check_trunk(files.trunk, model, 48, flip_prob=0.5)
    with pytest.raises(BadInput, match="other weights"):
        check_trunk(files.trunk, _model(seed=1), 48, flip_prob=0.5)
    with pytest.raises(BadInput, match="the model freezes 12"):
        check_trunk(files.trunk, _model(freeze_vision_stages=12), 48, flip_prob=0.5)
    with pytest.raises(BadInput, match="has 48 rows but frames.h5 has 20"):
        check_trunk(files.trunk, model, 20, flip_prob=0.5)


def test_without_flips_one_view_is_cached(cached, tmp_path):
    files, model = cached
    out = tmp_path / "unflipped.h5"
    write_trunk_features(files.frames, out, model, flipped=False, device=torch.device("cpu"), progress=False)
    assert TrunkStore(out).views == ["as_is"]
    assert np.array_equal(TrunkStore(out).read("trunk")[:, 0], TrunkStore(files.trunk).read("trunk")[:, 0])
    check_trunk(out, model, 48, flip_prob=0.0)
    with pytest.raises(BadInput, match="no flipped view"):
        check_trunk(out, model, 48, flip_prob=0.5)


def _settings(preset="default", **train):
    config = load_config(REPO / "config.yaml", {"preset": preset, "train": train} if train else {"preset": preset})
    return trunk_settings(config, "scenes")


def test_auto_caches_where_the_epochs_outnumber_the_cached_views():
    # default preset: 5 + 5 epochs against 2 views (flips on); tiny: 1 + 1 epochs
    assert _settings("default") == {"vision_backbone": "mobilenet_v2", "freeze_vision_stages": 14, "flipped": True}
    assert _settings("tiny") is None
    assert _settings("tiny", flip_prob=0.0) == {"vision_backbone": "mobilenet_v2", "freeze_vision_stages": 14,
                                                 "flipped": False}
    assert _settings("tiny", cache_trunk=True)["flipped"] is True
    assert _settings("default", cache_trunk=False) is None


def test_cache_on_with_nothing_frozen_is_refused(tmp_path):
    config = load_config(REPO / "config.yaml", {"preset": "tiny", "train": {"cache_trunk": True},
                                                "model": {"freeze_vision_stages": {"mobilenet_v2": 0}}})
    with pytest.raises(ConfigError, match="train.cache_trunk.*no mobilenet_v2 stage is frozen"):
        trunk_settings(config, "scenes")


def test_a_repeated_picture_goes_through_the_trunk_once(tmp_path, small_threads):
    """A static shot repeats its picture every second: each distinct picture is computed once, in full batches, and
    every row holds the numbers its picture gets computed with the others (bit for bit)."""
    files = write_synthetic_inputs(tmp_path / "data", n=40, size=32, num_classes=3)
    with h5py.File(files.frames, "r+") as h5:  # 20 distinct pictures, each on two rows, far apart
        h5["frames"][20:] = h5["frames"][:20][::-1]
    model = _model()
    frames_in = []
    real = model.frozen_trunk
    model.frozen_trunk = lambda x: frames_in.append(len(x)) or real(x)  # the real trunk, counted
    write_trunk_features(files.frames, tmp_path / "trunk.h5", model, flipped=True, device=torch.device("cpu"),
                         progress=False)
    assert sum(frames_in) == 2 + 2 * 20  # the shape probe, then 20 pictures × 2 views, in one batch each
    trunk = TrunkStore(tmp_path / "trunk.h5").read("trunk")
    assert np.array_equal(trunk[20:], trunk[:20][::-1])
    with torch.no_grad():
        x = model.prepare_frames(torch.from_numpy(FramesStore(files.frames).read("frames")[:20]))
        assert torch.equal(torch.from_numpy(trunk[:20, 0]), real(x))
        assert torch.equal(torch.from_numpy(trunk[:20, 1]), real(augment(x, torch.ones(20, dtype=torch.bool))))
