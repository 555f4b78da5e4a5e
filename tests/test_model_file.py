"""Loading a model file builds the network on the meta device and takes the file's tensors (`assign`): the result
must be the network the plain way gives (randomly initialised, then the weights copied in), for every backbone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from msl_core.models.backbones import AUDIO_BACKBONES, VISION_BACKBONES
from msl_core.models.coarse_to_fine import ModelConfig, build_model
from msl_core.spectrogram import LogMelParams
from msl_core.training.model_file import InferenceSpec, load_model_file, read_model_file, save_model


def _saved(path, vision: str, audio: str) -> nn.Module:
    """A random model with non-trivial batch-norm statistics and one frozen stage, written as a model file."""
    torch.manual_seed(0)
    cfg = ModelConfig(num_classes=3, vision_backbone=vision, audio_backbone=audio, freeze_vision_stages=1,
                      categories=("a", "b", "c"))
    model = build_model(cfg, None, warn_random=False)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(7)
    spec = InferenceSpec(LogMelParams(), 1.0, (64, 64), (0.1, 0.2, 0.3), (0.4, 0.5, 0.6))  # not the backbone's own
    save_model(path, model, 2, "hash", 1, spec, "data", {"loss": 1.0})
    return model


# every backbone once: vision k with audio k (the last one of the shorter list repeated)
PAIRS = [(VISION_BACKBONES.names()[min(k, len(VISION_BACKBONES.names()) - 1)],
          AUDIO_BACKBONES.names()[min(k, len(AUDIO_BACKBONES.names()) - 1)])
         for k in range(max(len(VISION_BACKBONES.names()), len(AUDIO_BACKBONES.names())))]


@pytest.mark.parametrize(("vision", "audio"), PAIRS)
def test_meta_device_load_equals_the_plain_load(tmp_path, vision, audio):
    _saved(tmp_path / "model.pt", vision, audio)
    state = read_model_file(tmp_path / "model.pt")
    plain = build_model(ModelConfig.from_dict(state["model_config"]), None, warn_random=False)
    plain.load_state_dict(state["state_dict"])
    plain.pixel_mean.copy_(torch.tensor([0.1, 0.2, 0.3]).view(1, 3, 1, 1))
    plain.pixel_std.copy_(torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1))
    plain.eval()

    loaded = load_model_file(tmp_path / "model.pt").model
    assert [type(m) for m in loaded.modules()] == [type(m) for m in plain.modules()]
    assert [m.training for m in loaded.modules()] == [m.training for m in plain.modules()]
    got, want = dict(loaded.named_parameters()), dict(plain.named_parameters())
    assert got.keys() == want.keys()
    for name, p in want.items():
        assert got[name].device.type == "cpu" and got[name].dtype == p.dtype, name
        assert torch.equal(got[name], p) and got[name].requires_grad == p.requires_grad, name
    assert any(not p.requires_grad for p in want.values())  # the frozen stage stays frozen
    got, want = dict(loaded.named_buffers()), dict(plain.named_buffers())  # non-persistent ones included
    assert got.keys() == want.keys()
    for name, b in want.items():
        assert got[name].device.type == "cpu" and got[name].dtype == b.dtype and torch.equal(got[name], b), name
    x, logmel = torch.rand(1, 3, 64, 64), torch.randn(1, 100, 128)
    with torch.inference_mode():
        a, b = loaded(x, logmel, stage=2), plain(x, logmel, stage=2)
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_initialisers_are_skipped_only_inside_the_build():
    from msl_core.training.model_file import initialisers_skipped

    before = nn.init.kaiming_normal_
    t = torch.zeros(4, 4)
    with initialisers_skipped():
        assert nn.init.kaiming_normal_(t) is t and torch.equal(nn.init.ones_(t), torch.zeros(4, 4))
    assert nn.init.kaiming_normal_ is before and torch.equal(nn.init.ones_(t), torch.ones(4, 4))
    with pytest.raises(RuntimeError), initialisers_skipped():
        raise RuntimeError("a failed build")
    assert nn.init.kaiming_normal_ is before  # restored after an exception too
