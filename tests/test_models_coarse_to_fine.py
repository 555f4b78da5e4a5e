"""The coarse-to-fine model: output shapes, gradients per stage, class-aware pooling, detached CAMs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from msl_core.errors import ConfigError
from msl_core.models.coarse_to_fine import CorrespondenceHead, ModelConfig, build_model, class_aware_pool
from msl_core.models.losses import stage_losses


@pytest.fixture
def model(small_threads):
    torch.manual_seed(0)
    return build_model(ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16), warn_random=False)


def _inputs(n=3, size=64, t=51):
    frames = torch.randint(0, 256, (n, size, size, 3), dtype=torch.uint8)
    return frames, torch.randn(n, t, 64)


def test_stage_outputs_shapes(model):
    frames, logmel = _inputs()
    out = model(model.prepare_frames(frames), logmel, stage=2)
    assert out["audio_logits"].shape == out["visual_logits"].shape == (3, 3)
    assert out["avc_logits"].shape == (3, 3, 2)
    assert out["audio_embed"].shape == out["visual_embed"].shape == (3, 3, 8)
    norms = out["audio_embed"].norm(dim=-1)
    assert torch.allclose(norms[norms > 0], torch.ones_like(norms[norms > 0]), atol=1e-5)
    assert "audio_embed" not in model(model.prepare_frames(frames), logmel, stage=1)


def test_prepare_frames_normalises_on_device(model):
    frames = torch.full((1, 32, 32, 3), 255, dtype=torch.uint8)
    x = model.prepare_frames(frames)
    assert x.shape == (1, 3, 32, 32) and x.is_contiguous(memory_format=torch.channels_last)
    assert x[0, 0, 0, 0].item() == pytest.approx((1 - 0.485) / 0.229, rel=1e-5)


@pytest.mark.parametrize("stage", [1, 2])
def test_gradients_reach_every_trained_parameter(model, stage):
    frames, logmel = _inputs()
    out = model(model.prepare_frames(frames), logmel, stage=stage)
    stage_losses(out, torch.rand(3, 3), torch.rand(3, 3), stage, margin=1.4, prob_filter=0.0, background_weight=0.0,
                 pairs="instance")["loss"].backward()
    trained = {id(p) for p in model.stage_parameters(stage)}
    for name, p in model.named_parameters():
        if id(p) in trained:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
    projector = model.audio_proj[0].weight
    assert (id(projector) in trained) == (stage == 2)


def test_alignment_loss_does_not_train_the_class_heads_through_the_cam(model):
    frames, logmel = _inputs()
    out = model(model.prepare_frames(frames), logmel, stage=2)
    from msl_core.models.losses import distance_loss

    distance_loss(out["audio_embed"], out["visual_embed"], torch.ones(3, 3), torch.ones(3, 3), margin=1.4, prob_filter=0.3,
                  pairs="instance").backward()
    assert model.visual_head.weight.grad is None and model.audio_head.weight.grad is None
    assert model.visual_proj[0].weight.grad is not None


def test_logits_equal_head_on_pooled_features(model):
    frames, logmel = _inputs()
    x = model.prepare_frames(frames)
    out = model(x, logmel)
    fv, _ = model.backbone_features(x, logmel)
    expected = F.linear(fv.mean((2, 3)), model.visual_head.weight[:, :, 0, 0])
    assert torch.allclose(out["visual_logits"], expected, atol=1e-4)


def test_correspondence_head_equals_linear_on_concatenation():
    torch.manual_seed(0)
    head = CorrespondenceHead(4, 6, hidden=5)
    a, v = torch.randn(3, 4), torch.randn(3, 6)
    w = torch.cat([head.fc_audio.weight, head.fc_visual.weight], 1)
    pair = torch.cat([a[1], v[2]])
    expected = head.out(F.relu(w @ pair + head.fc_audio.bias))
    assert torch.allclose(head(a, v)[1, 2], expected, atol=1e-6)


def test_class_aware_pool_by_hand():
    features = torch.tensor([[[[1.0, 3.0]], [[2.0, 4.0]]]])  # (1, D=2, 1, 2)
    cam = torch.tensor([[[[1.0, 3.0]], [[0.0, 0.0]]]])  # (1, C=2, 1, 2)
    pooled = class_aware_pool(features, cam)
    assert torch.allclose(pooled[0, 0], torch.tensor([(1 + 9) / 4, (2 + 12) / 4]))
    assert torch.equal(pooled[0, 1], torch.zeros(2))  # empty map → zero vector (stays zero after normalising)


def test_frozen_stages_keep_batch_norm_in_eval():
    model = build_model(ModelConfig(num_classes=2, freeze_vision_stages=2), warn_random=False).train()
    assert not model.vision.bn1.training and not model.vision.layer1[0].bn1.training
    assert model.vision.layer2[0].bn1.training and model.audio.bn1.training


def test_config_checks():
    with pytest.raises(ConfigError):
        ModelConfig(num_classes=0)
    with pytest.raises(ConfigError):
        ModelConfig(num_classes=2, categories=("a",))
    cfg = ModelConfig(num_classes=2, categories=("a", "b"))
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_a_pretrained_audio_trunk_learns_at_a_tenth_of_the_rate():
    from msl_core.models import ModelConfig, build_model

    model = build_model(ModelConfig(num_classes=3, audio_backbone="efficientat_mn04"), None, warn_random=False)
    groups = model.parameter_groups(stage=1, lr=0.01)
    assert sorted(g["lr"] for g in groups) == pytest.approx([0.001, 0.01])
    audio = {id(p) for p in model.audio.parameters()}
    slow = next(g for g in groups if g["lr"] < 0.01)
    assert {id(p) for p in slow["params"]} == audio
    reference = build_model(ModelConfig(num_classes=3), None, warn_random=False)
    assert len(reference.parameter_groups(stage=1, lr=0.01)) == 1


@pytest.mark.parametrize("positions", [False, True])
def test_positions_embedding_pools_the_embeddings_that_localisation_scores(small_threads, positions):
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16, visual_embedding="positions"),
                        warn_random=False).eval()
    frames, logmel = _inputs()
    x = model.prepare_frames(frames)
    out = model(x, logmel, stage=2, positions=positions)
    fv = model.vision(x)
    cam = F.relu(model.visual_head(fv))
    expected = F.normalize(class_aware_pool(model.embed_positions(fv), cam), dim=-1)
    assert torch.allclose(out["visual_embed"], expected, atol=1e-6)
    reference = F.normalize(model.visual_proj(class_aware_pool(fv, cam)), dim=-1)  # what `pooled` would give
    assert not torch.allclose(out["visual_embed"], reference, atol=1e-3)


def test_unknown_visual_embedding_is_refused():
    with pytest.raises(ConfigError, match="model.visual_embedding"):
        ModelConfig(num_classes=3, visual_embedding="mean")
