"""Every dataset adapter the README promises, end to end on a miniature of its real raw layout: the headline
command (`snakemake results/<ds>/ciou.txt`, AVE's `events.txt`) runs to its score with a one-epoch budget, and the
splits and the scored item count are those of the dataset's own files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from support import miniatures as mini
from support.workspace import run_snakemake, snakemake_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # CI runs them apart: -m e2e

TARGETS = {"flickr": "ciou.txt", "ave": "events.txt", "audioset_instrument": "ciou.txt", "mine": "ciou.txt",
           "vggss_user": "ciou.txt"}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One workspace, the five miniatures configured, all five targets run in one Snakemake call."""
    tmp = tmp_path_factory.mktemp("datasets")
    ws = snakemake_workspace(tmp)
    demo = mini.build_demo(tmp / "demo", Path(sys.executable).with_name("msl"), ws / "config.yaml")
    clips = list(demo.manifest["clip_id"])
    # AudioSet-instrument scores only frames with two visible classes: test on the clips that have most of them.
    by_pairs = sorted(clips, key=lambda c: (-mini.two_class_frames(demo, c), c))
    minis = {
        "flickr": mini.flickr(demo, tmp / "Flickr", test_clips=clips[:3]),
        "ave": mini.ave(demo, tmp / "AVE_Dataset", test_clips=clips[-3:], val_clips=clips[:1]),
        "audioset_instrument": mini.audioset_instrument(demo, tmp / "audioset", test_clips=by_pairs[:3]),
        "mine": mini.manifest(demo, tmp / "mine", test_clips=clips[3:6]),
        "vggss_user": mini.vggss(demo, tmp / "vggss", test_clips=clips[:3]),
    }
    override = {"datasets": {name: m.settings for name, m in minis.items()},
                "train": {"stage1": {"epochs": 1}, "stage2": {"epochs": 1}}}
    (ws / "miniatures.yaml").write_text(yaml.safe_dump(override))
    targets = [f"results/{name}/{target}" for name, target in TARGETS.items()]
    targets += [f"results/{name}/labels_report.md" for name in TARGETS]
    proc = run_snakemake(ws, "--configfile", "miniatures.yaml", "--keep-going", "--", *targets, check=False)
    return ws, minis, proc


def _ran(finished, name: str) -> Path:
    ws, _, proc = finished
    res = ws / "results" / name
    if not (res / TARGETS[name]).is_file():
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted((res / "logs").glob("*.log")))
        pytest.fail(f"{name}: no {TARGETS[name]}\n{proc.stderr[-5000:]}\n{logs}")
    return res


def _splits(res: Path) -> dict[str, set[str]]:
    index = pd.read_csv(res / "index.csv", dtype={"clip_id": str})
    return {split: set(index.loc[index["split"] == split, "clip_id"]) for split in ("train", "val", "test")}


@pytest.mark.parametrize("name", ["flickr", "audioset_instrument", "mine", "vggss_user"])
def test_boxed_dataset_reaches_its_score(finished, name):
    res = _ran(finished, name)
    m = finished[1][name]
    splits = _splits(res)
    assert splits["test"] == set(m.test_ids)
    assert splits["train"] | splits["val"] == set(m.train_ids)
    assert not splits["test"] & (splits["train"] | splits["val"])  # test items are never trained on
    metrics = json.loads((res / "metrics.json").read_text())
    assert metrics["n_items"] == m.n_items > 0 and metrics["n_missing"] == 0
    assert 0.0 <= float((res / "ciou.txt").read_text()) <= 1.0
    assert metrics["warnings"] == []
    assert (res / "heatmaps.png").stat().st_size > 10_000
    assert (res / "labels_report.md").is_file()


def test_flickr_test_audio_is_the_whole_peak_normalised_file(finished):
    res = _ran(finished, "flickr")
    import h5py

    with h5py.File(res / "logmel_test.h5") as h5, h5py.File(res / "maps.h5") as maps:
        assert sorted(h5["clip_id"].asstr()[:]) == sorted(finished[1]["flickr"].test_ids)
        assert set(h5["n_frames"][:]) == {1 + 3 * 22050 // 441}  # the whole 3-s recording, not the 2-s window
        assert maps.attrs["test_audio"] == "whole_file"


def test_ave_reaches_its_event_score(finished):
    res = _ran(finished, "ave")
    m = finished[1]["ave"]
    splits = _splits(res)
    assert splits["test"] == set(m.test_ids) and len(splits["val"]) == 1
    events = json.loads((res / "events.json").read_text())
    assert events["n_clips"] == len(m.test_ids) and events["n_event_seconds"] == m.n_items
    assert 0.0 <= events["audio_visual_accuracy"] <= 1.0
    assert (res / "events.png").stat().st_size > 10_000
    assert (res / "labels_report.md").is_file()
