"""maps.h5 from two trained models: layout of the contract, test rows only, values in range."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from msl_core.errors import BadInput
from msl_core.models import LocalizationConfig, ModelConfig
from msl_core.models.coarse_to_fine import build_model
from msl_core.models.localization import localize_batch
from msl_core.training.inference import distinct_pictures, write_maps
from msl_core.training.model_file import inference_spec, load_model, save_model
from msl_core.training.synthetic import write_synthetic_inputs


@pytest.fixture
def setup(tmp_path, small_threads):
    files = write_synthetic_inputs(tmp_path / "data", n=9, size=64, num_classes=3)
    torch.manual_seed(0)
    paths = []
    for stage in (1, 2):
        model = build_model(ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16, categories=("a", "b", "c")),
                            warn_random=False)
        path = tmp_path / f"stage{stage}.pt"
        save_model(path, model, stage, "x", 1, inference_spec(files.frames, files.logmel, model.cfg), "t", {})
        paths.append(path)
    return files, paths


def test_write_maps(setup, tmp_path):
    files, (s1, s2) = setup
    out = tmp_path / "maps.h5"
    m = write_maps(files.frames, files.logmel, files.index, s1, s2, out, LocalizationConfig(map_size=16),
                   batch_size=2, progress=False)
    assert m == 3
    with h5py.File(out) as f:
        assert f["stage2"].shape == f["cam"].shape == (3, 16, 16) and f["stage2"].dtype == np.float16
        assert f["stage2_class"].shape == f["cam_class"].shape == (3, 3, 16, 16)
        assert f["audio_prob"].shape == (3, 3) and f["audio_prob"].dtype == np.float32
        assert [c.decode() for c in f["clip_id"][()]] == ["clip000", "clip001", "clip002"]
        assert f["second"][()].tolist() == [2, 2, 2]
        assert list(f.attrs["categories"]) == ["a", "b", "c"]
        for key in ("stage2", "cam"):
            maps = f[key][()].astype(np.float32)
            assert maps.min() >= 0 and np.allclose(maps.reshape(3, -1).max(1), 1.0, atol=1e-3)
            # the raw map is the same map before L / max L: normalising it gives the stored map back
            raw = f[f"{key}_raw"][()].astype(np.float32).reshape(3, -1)
            assert raw.max() > 0
            assert np.allclose(raw / raw.max(1, keepdims=True), maps.reshape(3, -1), atol=2e-3)


def test_mismatched_model_files(setup, tmp_path):
    files, (s1, _) = setup
    other = tmp_path / "other.pt"
    model = build_model(ModelConfig(num_classes=2), warn_random=False)
    save_model(other, model, 2, "x", 1, inference_spec(files.frames, files.logmel, model.cfg), "t", {})
    with pytest.raises(BadInput, match="other.pt"):
        write_maps(files.frames, files.logmel, files.index, s1, other, tmp_path / "m.h5", LocalizationConfig(),
                   progress=False)
    with pytest.raises(BadInput, match="missing.pt"):
        write_maps(files.frames, files.logmel, files.index, s1, tmp_path / "missing.pt", tmp_path / "m.h5",
                   LocalizationConfig(), progress=False)


def test_rows_that_share_a_picture_share_its_features(tmp_path, small_threads):
    """A static shot: its rows share one picture, which goes through each vision network once per batch; every
    row's maps are the ones its own frame gives."""
    files = write_synthetic_inputs(tmp_path / "data", n=8, size=64, num_classes=3, splits=("test",))
    with h5py.File(files.frames, "r+") as h5:  # pictures A A B A | C C C C
        frames = h5["frames"][()]
        h5["frames"][...] = frames[[0, 0, 2, 0, 4, 4, 4, 4]]
    stored = h5py.File(files.frames)["frames"][()]
    pictures, frame_of_row = distinct_pictures(stored[:4])
    assert np.array_equal(pictures, stored[[0, 2]]) and frame_of_row.tolist() == [0, 0, 1, 0]
    pictures, frame_of_row = distinct_pictures(stored[4:])
    assert np.array_equal(pictures, stored[[4, 4]]) and frame_of_row.tolist() == [0] * 4  # never one frame alone
    torch.manual_seed(0)
    models = []
    for stage in (1, 2):
        model = build_model(ModelConfig(num_classes=3, embed_dim=8, hidden_dim=16), warn_random=False).eval()
        save_model(tmp_path / f"stage{stage}.pt", model, stage, "x", 1,
                   inference_spec(files.frames, files.logmel, model.cfg), "t", {})
        models.append(load_model(tmp_path / f"stage{stage}.pt"))
    cfg = LocalizationConfig(map_size=16, snap="none")
    write_maps(files.frames, files.logmel, files.index, tmp_path / "stage1.pt", tmp_path / "stage2.pt",
               tmp_path / "maps.h5", cfg, batch_size=4, progress=False)
    logmel = torch.from_numpy(h5py.File(files.logmel)["logmel"][()])
    with h5py.File(tmp_path / "maps.h5") as written:
        for first in (0, 4):  # each batch again, every row with its own frame
            rows = slice(first, first + 4)
            expected = localize_batch(models[1], models[1].prepare_frames(torch.from_numpy(stored[rows])),
                                      logmel[rows], cfg, stage1=models[0])
            for key in ("stage2", "stage2_class", "cam", "cam_class", "audio_prob"):
                assert np.allclose(written[key][rows], expected[key].numpy().astype(written[key].dtype), atol=1e-3)
