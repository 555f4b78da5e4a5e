"""The training loop: stage 1 → stage 2, outputs, resume after a kill mid-epoch, NaN handling."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from msl_core import evaluation as ev
from msl_core import metrics
from msl_core.errors import BadInput, ConfigError
from msl_core.models import LocalizationConfig, ModelConfig
from msl_core.training.data import open_training_data
from msl_core.training.inference import write_maps
from msl_core.training.loop import RunOptions, StageOutputs, TrainConfig, TrainingDiverged, train_stage
from msl_core.training.model_file import load_model
from msl_core.training.synthetic import write_synthetic_inputs
from msl_core.training.validation import open_val_split
from support.coco import split_boxes


class Killed(Exception):
    pass


@pytest.fixture
def data(tmp_path, small_threads):
    return open_training_data(write_synthetic_inputs(tmp_path / "data", n=12, size=32, num_classes=3))


def _cfgs(data, stage=1, epochs=2):
    model_cfg = ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16, categories=data.categories)
    return model_cfg, TrainConfig(stage=stage, epochs=epochs, lr=1e-3 if stage == 1 else 1e-4, batch_size=4, seed=3)


def _kill_at(epoch, batch):
    def hook(e, b):
        if (e, b) == (epoch, batch):
            raise Killed

    return hook


def test_stage1_then_stage2_writes_outputs(data, tmp_path):
    model_cfg, cfg = _cfgs(data, epochs=1)
    out1 = StageOutputs.in_dir(tmp_path / "stage1")
    train_stage(data, model_cfg, cfg, out1, RunOptions(progress=False))
    _, cfg2 = _cfgs(data, stage=2, epochs=1)
    cfg2 = dataclasses.replace(cfg2, background_weight=2.0)
    out2 = StageOutputs.in_dir(tmp_path / "stage2")
    history = train_stage(data, model_cfg, cfg2, out2, RunOptions(progress=False), stage1_model=out1.model)
    assert set(history[0]) >= {"epoch", "cls_audio", "cls_visual", "avc", "align", "background", "loss"}
    metrics = pd.read_csv(out2.metrics)
    assert len(metrics) == 1 and np.isfinite(metrics[["align", "background"]]).all(axis=None)
    assert out2.curve.read_bytes()[:4] == b"\x89PNG" and out2.checkpoint.is_file()
    s1, s2 = load_model(out1.model), load_model(out2.model)
    assert s2.cfg.categories == data.categories
    # stage 2 starts from stage 1 (the heads moved only by a few 1e-4 steps) and trains the projectors
    assert torch.allclose(s1.audio_head.weight, s2.audio_head.weight, atol=1e-2)


def test_killed_run_resumes_to_the_same_weights(data, tmp_path):
    model_cfg, cfg = _cfgs(data, epochs=2)
    full = StageOutputs.in_dir(tmp_path / "full")
    train_stage(data, model_cfg, cfg, full, RunOptions(progress=False))

    resumed = StageOutputs.in_dir(tmp_path / "resumed")
    with pytest.raises(Killed):  # dies in the middle of the second epoch
        train_stage(data, model_cfg, cfg, resumed, RunOptions(progress=False), on_batch=_kill_at(1, 1))
    assert torch.load(resumed.checkpoint, weights_only=True)["epoch"] == 1 and not resumed.model.exists()
    history = train_stage(data, model_cfg, cfg, resumed, RunOptions(progress=False))
    a, b = torch.load(full.model, weights_only=True), torch.load(resumed.model, weights_only=True)
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    assert [row["loss"] for row in history] == pd.read_csv(full.metrics)["loss"].tolist()


def test_changed_config_does_not_resume(data, tmp_path, caplog):
    model_cfg, cfg = _cfgs(data, epochs=2)
    out = StageOutputs.in_dir(tmp_path / "s")
    with pytest.raises(Killed):
        train_stage(data, model_cfg, cfg, out, RunOptions(progress=False), on_batch=_kill_at(1, 0))
    _, other = _cfgs(data, epochs=1)
    history = train_stage(data, model_cfg, other, out, RunOptions(progress=False))
    assert len(history) == 1 and "another configuration" in caplog.text


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(data, tmp_path):
    model_cfg, cfg = _cfgs(data, epochs=2)
    out = StageOutputs.in_dir(tmp_path / "s")
    with pytest.raises(Killed):
        train_stage(data, model_cfg, cfg, out, RunOptions(progress=False), on_batch=_kill_at(1, 0))
    good = out.checkpoint.read_bytes()
    with h5py.File(data.files.logmel, "a") as f:
        f["logmel"][:] = np.nan
    with pytest.raises(TrainingDiverged, match="epoch 1, batch 1"):
        train_stage(data, model_cfg, cfg, out, RunOptions(progress=False))
    assert out.checkpoint.read_bytes() == good and not out.model.exists()


def test_stage2_rejects_a_stage1_model_with_other_categories(data, tmp_path):
    model_cfg, cfg = _cfgs(data, epochs=1)
    out1 = StageOutputs.in_dir(tmp_path / "stage1")
    train_stage(data, model_cfg, cfg, out1, RunOptions(progress=False))
    other = ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16, vision_backbone="mobilenet_v2")
    _, cfg2 = _cfgs(data, stage=2, epochs=1)
    with pytest.raises(BadInput, match="model.pt"):
        train_stage(data, other, cfg2, StageOutputs.in_dir(tmp_path / "s2"), RunOptions(progress=False),
                    stage1_model=out1.model)


def test_pretrained_audio_backbone_trains_both_stages(tmp_path, small_threads, assets):
    files = write_synthetic_inputs(tmp_path / "data", n=12, size=32, num_classes=3, n_frames=100, n_mels=128,
                                   front_end="efficientat")
    data = open_training_data(files)
    weights = str(assets / "weights" / "efficientat_mn04_as_mAP_432.pt")
    model_cfg = ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16, categories=data.categories,
                            audio_backbone="efficientat_mn04")
    out1, out2 = StageOutputs.in_dir(tmp_path / "s1"), StageOutputs.in_dir(tmp_path / "s2")
    cfg = TrainConfig(stage=1, epochs=1, lr=1e-3, batch_size=4, seed=3)
    train_stage(data, model_cfg, cfg, out1, RunOptions(progress=False), audio_weights=weights)
    cfg2 = dataclasses.replace(cfg, stage=2, lr=1e-4)
    train_stage(data, model_cfg, cfg2, out2, RunOptions(progress=False), stage1_model=out1.model)
    model = load_model(out2.model)
    assert model.cfg.audio_backbone == "efficientat_mn04"
    with torch.no_grad():
        out = model(torch.zeros(2, 3, 32, 32), torch.zeros(2, 100, 128), stage=2)
    assert out["audio_embed"].shape == (2, 3, 8)


def _with_val(tmp_path):
    """18 synthetic rows, one in three (each from another clip) in the val split."""
    files = write_synthetic_inputs(tmp_path / "data", n=18, size=32, num_classes=3, splits=("train", "val", "train"))
    data = open_training_data(files)
    return files, data, ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16, categories=data.categories)


def test_best_val_keeps_the_epoch_with_the_lowest_val_loss(tmp_path, small_threads):
    files, data, model_cfg = _with_val(tmp_path)
    cfg = TrainConfig(stage=1, epochs=3, lr=0.5, batch_size=4, seed=3, select="best_val")  # lr: losses move
    out = StageOutputs.in_dir(tmp_path / "s1")
    history = train_stage(data, model_cfg, cfg, out, RunOptions(progress=False), val=open_val_split(files))
    losses = [h["val_loss"] for h in history]
    chosen = int(np.argmin(losses)) + 1
    saved = torch.load(out.model, weights_only=True)
    assert saved["epochs"] == chosen and saved["metrics"]["val_loss"] == pytest.approx(losses[chosen - 1])
    assert "val_loss" in pd.read_csv(out.metrics) and not (tmp_path / "s1" / "best.pt").exists()
    with pytest.raises(ConfigError, match="train.select"):
        train_stage(data, model_cfg, cfg, StageOutputs.in_dir(tmp_path / "none"), RunOptions(progress=False))


def test_best_val_success_keeps_the_epoch_with_the_highest_val_success(tmp_path, small_threads):
    files, data, model_cfg = _with_val(tmp_path)
    val = open_val_split(files, split_boxes(files.index, "val", tmp_path / "val.json"))
    cfg = TrainConfig(stage=1, epochs=3, lr=0.5, batch_size=4, seed=3, select="best_val_success")
    out = StageOutputs.in_dir(tmp_path / "s1")
    history = train_stage(data, model_cfg, cfg, out, RunOptions(progress=False), val=val)
    success = [h["val_success"] for h in history]
    chosen = max(k for k in range(1, 4) if success[k - 1] == max(success))  # the later epoch on a tie
    saved = torch.load(out.model, weights_only=True)
    assert saved["epochs"] == chosen and not (tmp_path / "s1" / "best.pt").exists()
    unboxed = dataclasses.replace(val, truth={})  # val frames without boxes have no val success to select on
    with pytest.raises(ConfigError, match="sounding boxes"):
        train_stage(data, model_cfg, cfg, StageOutputs.in_dir(tmp_path / "none"), RunOptions(progress=False),
                    val=unboxed)


def test_val_is_scored_every_epoch_and_leaves_the_last_epoch_model_as_it_was(tmp_path, small_threads):
    files, data, model_cfg = _with_val(tmp_path)
    val = open_val_split(files, split_boxes(files.index, "val", tmp_path / "val.json"))
    cfg = TrainConfig(stage=1, epochs=1, lr=0.5, batch_size=4, seed=3)
    alone, watched = StageOutputs.in_dir(tmp_path / "alone"), StageOutputs.in_dir(tmp_path / "watched")
    plain = train_stage(data, model_cfg, cfg, alone, RunOptions(progress=False))
    with_val = train_stage(data, model_cfg, cfg, watched, RunOptions(progress=False), val=val)
    assert [h["loss"] for h in plain] == [h["loss"] for h in with_val]
    a, b = (torch.load(o.model, weights_only=True)["state_dict"] for o in (alone, watched))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert "val_loss" not in plain[0] and {"val_loss", "val_success"} <= set(pd.read_csv(watched.metrics))
    # one val clip makes no val batch (the correspondence loss needs two clips), yet its frames are still scored
    first = int(val.data.rows[0])
    one_clip = dataclasses.replace(val, data=dataclasses.replace(val.data, rows=val.data.rows[:1],
                                                                 clips=val.data.clips[:1]),
                                   truth={first: val.truth[first]})
    single = train_stage(data, model_cfg, cfg, StageOutputs.in_dir(tmp_path / "one"), RunOptions(progress=False),
                         val=one_clip)
    assert "val_loss" not in single[0] and 0.0 <= single[0]["val_success"] <= 1.0


def test_val_success_is_the_evaluations_success_rate_on_the_val_frames(tmp_path, small_threads):
    files, data, model_cfg = _with_val(tmp_path)
    coco = split_boxes(files.index, "val", tmp_path / "val.json")
    val_rows = pd.read_csv(files.index).query("split == 'val'")
    val = open_val_split(files, coco)
    assert sorted(val.truth) == list(val_rows["row"])
    out1, out2 = StageOutputs.in_dir(tmp_path / "s1"), StageOutputs.in_dir(tmp_path / "s2")
    cfg = TrainConfig(stage=1, epochs=1, lr=0.5, batch_size=4, seed=3)
    train_stage(data, model_cfg, cfg, out1, RunOptions(progress=False), val=val)
    cfg2 = dataclasses.replace(cfg, stage=2, lr=0.05)
    history = train_stage(data, model_cfg, cfg2, out2, RunOptions(progress=False), stage1_model=out1.model, val=val)
    # the same frames through the workflow's own path: maps.h5 of the val split, scored by the evaluation
    maps = tmp_path / "maps.h5"
    write_maps(files.frames, files.logmel, files.index, out1.model, out2.model, maps, LocalizationConfig(),
               split="val", progress=False)
    scored = ev.evaluate(coco, ev.EvalSettings("multi-source"), maps)
    assert history[-1]["val_success"] == metrics.success_rate(scored.scores["stage2"].agnostic)
    assert 0.0 <= history[-1]["val_success"] <= 1.0 and "val_success" in pd.read_csv(out2.metrics)
