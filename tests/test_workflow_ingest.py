"""A real Snakemake run of the ingestion rules on a user dataset given as a manifest."""

import re

import h5py
import pandas as pd
import pytest
import yaml

from support.media import make_video, tone
from support.workspace import run_snakemake


@pytest.fixture
def configured(workspace, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    make_video(media / "a.mp4", [(255, 0, 0), (0, 255, 0), (0, 0, 255)], audio=tone(3.0))
    make_video(media / "b.mp4", [(9, 9, 9), (200, 200, 200)], audio=tone(2.0, 660))
    (media / "broken.mp4").write_bytes(b"not a video at all")
    pd.DataFrame([
        {"clip_id": "a", "video_path": "a.mp4", "split": "train"},
        {"clip_id": "b", "video_path": "b.mp4", "split": "test"},
        {"clip_id": "broken", "video_path": "broken.mp4", "split": "train"},
    ]).to_csv(media / "manifest.csv", index=False)
    config = yaml.safe_load((workspace / "config.yaml").read_text())
    config["datasets"]["mine"] = {"kind": "manifest", "manifest": str(media / "manifest.csv"), "window_s": 1.0}
    config["skip_bad_inputs"] = True
    (workspace / "config.yaml").write_text(yaml.safe_dump(config))
    return workspace


def test_ingestion_runs_skips_bad_clips_and_is_idempotent(configured):
    targets = ["results/mine/frames.h5", "results/mine/logmel.h5"]
    run_snakemake(configured, *targets)
    with h5py.File(configured / "results/mine/frames.h5") as h5:
        assert h5["frames"].shape == (5, 256, 256, 3)
    with h5py.File(configured / "results/mine/logmel.h5") as h5:
        assert h5["logmel"].shape == (5, 51, 64)
    rejected = pd.read_csv(configured / "results/mine/rejected.csv")
    assert rejected["clip_id"].tolist() == ["broken"]
    again = run_snakemake(configured, *targets)
    assert "Nothing to be done" in again.stdout + again.stderr
    # A log-mel parameter reruns log-mel only, never the decode; the sample rate reruns the decode.
    (configured / "override.yaml").write_text("audio:\n  n_mels: 32\n")
    plan = run_snakemake(configured, "-n", *targets, "--configfile", "override.yaml").stdout
    assert "rule logmel:" in plan and "rule ingest:" not in plan
    (configured / "override.yaml").write_text("audio:\n  sample_rate: 16000\n")
    plan = run_snakemake(configured, "-n", *targets, "--configfile", "override.yaml").stdout
    assert "rule logmel:" in plan and "rule ingest:" in plan


def test_unconfigured_dataset_fails_at_planning_naming_the_key(workspace):
    proc = run_snakemake(workspace, "-n", "results/flickr/logmel.h5", check=False)
    assert proc.returncode != 0
    assert "set datasets.flickr.root" in proc.stdout + proc.stderr


def test_bad_config_value_fails_before_any_job(workspace):
    proc = run_snakemake(workspace, "-n", "results/scenes/index.csv", "--config", "audio={n_mels: many}", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "invalid config: config key 'audio.n_mels'" in out and "is not of type 'integer'" in out


def _flickr_root(tmp_path, stems):
    root = tmp_path / "flickr"
    root.mkdir()
    for stem in stems:
        (root / f"{stem}.jpg").write_bytes(b"x")
        (root / f"{stem}.wav").write_bytes(b"x")
    (root / "gtest.txt").write_text("1.png\n404.png\n")
    return root


def test_listed_test_id_without_media_is_named_at_planning(workspace, tmp_path):
    root = _flickr_root(tmp_path, ["1", "2", "3"])
    datasets = (f"datasets={{flickr: {{root: {root}, annotations: "
                f"{{split: {root / 'gtest.txt'}, gtdata: {root / 'gtest.txt'}}}}}}}")
    args = ["-n", "results/flickr/ciou.txt", "--config", datasets]
    proc = run_snakemake(workspace, *args, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "404" in out and "have no media" in out
    proc = run_snakemake(workspace, *args, "skip_bad_inputs=true", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "flickr: train 1 clips, val 1 clips, test 2 clips" in out and "skipped" in out


def test_random_vision_weights_stop_the_plan_unless_allowed(workspace):
    args = ["-n", "results/scenes/ciou.txt", "--config", "datasets={scenes: {vision_backbone: resnet18}}"]
    proc = run_snakemake(workspace, *args, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "model.resnet18_weights" in out and "random weights" in out
    proc = run_snakemake(workspace, *args, "model={allow_random_init: true}", check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


def test_scored_target_without_test_boxes_names_the_key(workspace, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    make_video(media / "a.mp4", [(255, 0, 0), (0, 255, 0)], audio=tone(2.0))
    pd.DataFrame([{"clip_id": "a", "video_path": "a.mp4", "split": "test"}]).to_csv(media / "m.csv", index=False)
    args = ["-n", "results/mine/ciou.txt", "--config", f"datasets={{mine: {{kind: manifest, manifest: {media / 'm.csv'}}}}}"]
    proc = run_snakemake(workspace, *args, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "datasets.mine.annotations.coco" in out


def test_bad_clips_stop_the_run_with_one_line_each_and_no_traceback(workspace, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    make_video(media / "a.mp4", [(255, 0, 0), (0, 255, 0)], audio=tone(2.0))
    make_video(media / "silent.mp4", [(9, 9, 9), (0, 255, 0)])
    (media / "junk.mp4").write_bytes(b"not a video")
    pd.DataFrame([{"clip_id": c, "video_path": f"{c}.mp4", "split": "train"} for c in ("a", "silent", "junk")]
                 ).to_csv(media / "m.csv", index=False)
    args = ["results/mine/index.csv", "--config", f"datasets={{mine: {{kind: manifest, manifest: {media / 'm.csv'}}}}}"]
    proc = run_snakemake(workspace, *args, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "msl: rule ingest: 2 unusable clip(s)" in out
    assert f"{media / 'silent.mp4'}: no audio stream" in out and str(media / "junk.mp4") in out
    assert "Traceback" not in out and not (workspace / "results/mine/index.csv").exists()


def _stores(results):
    out = {"index": (results / "index.csv").read_bytes()}
    for name in ("frames", "audio", "logmel"):
        with h5py.File(results / f"{name}.h5") as h5:
            out[name] = (h5[name].is_virtual, h5[name][:].tobytes())
    return out


@pytest.mark.slow
def test_sharded_ingestion_of_the_tiny_preset_equals_one_job(workspace):
    targets = ["results/scenes/frames.h5", "results/scenes/logmel.h5", "--config", "preset=tiny"]
    run_snakemake(workspace, *targets)
    one = _stores(workspace / "results/scenes")
    for name in ("index.csv", "rejected.csv", "frames.h5", "audio.h5", "logmel.h5"):
        (workspace / "results/scenes" / name).unlink()
    proc = run_snakemake(workspace, *targets, "ingest={shard_clips: 3}")
    assert len(set(re.findall(r"shards/(\d)/frames\.h5", proc.stdout + proc.stderr))) == 3
    sharded = _stores(workspace / "results/scenes")
    assert sharded["index"] == one["index"]
    for name in ("frames", "audio", "logmel"):
        assert sharded[name][0] == (name != "logmel") and not one[name][0]  # virtual over the shards
        assert sharded[name][1] == one[name][1]  # byte for byte the same rows
