"""The field's annotation formats inside the workflow: a user dataset (manifest) whose test boxes come as VGG-SS's
`vggss.json` and an LVS-style csv split reaches metrics.json and protocols.json through `convert_annotations`,
`evaluate` and `protocols` (maps made here, as `localize` writes them); a wrong or missing box file stops the run
naming the file and the config key."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import yaml

from support.workspace import run_snakemake

S = 16  # stored map side, as `localize` writes (evaluate.map_size)


def half(left: bool) -> np.ndarray:
    out = np.zeros((S, S), np.float32)
    if left:
        out[:, : S // 2] = 1.0
    else:
        out[:, S // 2 :] = 1.0
    return out


@pytest.fixture
def vggss_user(workspace, tmp_path):
    """`mine`: a manifest of image + audio pairs (VGG-SS's test frames), vggss.json with normalised corner boxes
    (clip a: the left half, b: the right half), a test list naming a third clip the box file lacks, and the
    results a run would have before scoring (maps.h5 with left-half maps for both clips, frames.h5, rejected.csv)."""
    data = tmp_path / "vggss"
    data.mkdir()
    (data / "manifest.csv").write_text("clip_id,image_path,audio_path,split\n"
                                       + "".join(f"{c},{c}.jpg,{c}.wav,test\n" for c in "abc"))
    boxes = [{"file": "a", "class": "dog barking", "bbox": [[0.0, 0.0, 0.5, 1.0]]},
             {"file": "b", "class": "church bell", "bbox": [[0.5, 0.0, 1.0, 1.0]]}]
    (data / "vggss.json").write_text(json.dumps(boxes))
    (data / "vggss_test.csv").write_text("a\nb\nc\n")
    config = yaml.safe_load((workspace / "config.yaml").read_text())
    config["datasets"]["mine"] = {"kind": "manifest", "manifest": str(data / "manifest.csv"), "protocol": "flickr",
                                  "annotations": {"format": "vggss", "source": str(data / "vggss.json"),
                                                  "split": str(data / "vggss_test.csv")}}
    (workspace / "config.yaml").write_text(yaml.safe_dump(config))
    res = workspace / "results" / "mine"
    res.mkdir(parents=True)
    with h5py.File(res / "maps.h5", "w") as h5:
        h5["clip_id"] = np.array(["a", "b"], dtype=h5py.string_dtype())
        h5["second"] = np.zeros(2, np.int32)
        h5["stage2"] = np.stack([half(True), half(True)])
        h5["stage2_raw"] = h5["stage2"][()]
        h5["row"] = np.arange(2)  # their frames.h5 rows (the object prior's proposals)
    with h5py.File(res / "frames.h5", "w") as h5:
        h5["frames"] = np.full((2, 256, 256, 3), 128, np.uint8)
        h5["clip_id"] = np.array(["a", "b"], dtype=h5py.string_dtype())
        h5["second"] = np.zeros(2, np.int32)
    (res / "rejected.csv").write_text("clip_id,path,reason\n")
    with h5py.File(res / "proposals.h5", "w") as h5:
        h5["boxes"] = np.zeros((2, 1, 4), np.float32)
        h5["scores"] = np.zeros((2, 1), np.float32)
    return workspace, data


def _score(ws, *extra):
    return run_snakemake(ws, "--allowed-rules", "convert_annotations", "evaluate", "protocols", *extra, "--",
                         "results/mine/metrics.json", "results/mine/protocols.json", check=not extra)


def test_vggss_boxes_reach_metrics_and_the_protocols_table(vggss_user):
    ws, _ = vggss_user
    _score(ws)
    res = ws / "results" / "mine"
    coco = json.loads((res / "annotations" / "test.json").read_text())
    assert [im["clip_id"] for im in coco["images"]] == ["a", "b"] and coco["info"]["missing"] == ["c"]
    metrics = json.loads((res / "metrics.json").read_text())
    # Both maps light the left half: a's box (left half) is found (cIoU 1), b's (right half) is not (cIoU 0).
    assert (metrics["n_items"], metrics["missing"]) == (2, ["c"])
    assert metrics["success_rate"] == 0.5
    assert "seeds" not in metrics  # one training seed: no seeds block
    table = json.loads((res / "protocols.json").read_text())
    assert table["protocols"]["ezvsl"]["methods"]["stage2"]["n_items"] == 2
    assert table["protocols"]["ezvsl"]["methods"]["stage2"]["success_rate"] == 0.5


def test_a_box_file_that_is_not_vggss_names_file_and_key(vggss_user):
    ws, data = vggss_user
    (data / "vggss.json").write_text(json.dumps({"file": "a"}))
    proc = _score(ws, "--quiet")
    assert proc.returncode != 0
    assert (f"{data / 'vggss.json'}: expected a JSON list of {{file, class, bbox}} "
            "(set by datasets.mine.annotations.source)") in proc.stdout + proc.stderr


def test_a_missing_or_unset_box_file_names_the_key(vggss_user):
    ws, data = vggss_user
    (data / "vggss.json").unlink()
    proc = _score(ws, "--dry-run")
    assert f"datasets.mine.annotations.source = {data / 'vggss.json'} does not exist" in proc.stdout + proc.stderr
    config = yaml.safe_load((ws / "config.yaml").read_text())
    config["datasets"]["mine"]["annotations"] = {"format": "slavc-extended", "gtdata": str(data / "vggss_test.csv")}
    (ws / "config.yaml").write_text(yaml.safe_dump(config))
    proc = _score(ws, "--dry-run")
    assert "format 'slavc-extended' needs datasets.mine.annotations.source" in proc.stdout + proc.stderr
