"""A real Snakemake run of convert_mobilenet, pseudo_labels, proposals and labels_report on a small tagged dataset."""

import h5py
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from msl_core.media import decode_audio
from support.media import make_video
from support.stamps import stamps_root
from support.workspace import run_snakemake


@pytest.fixture
def configured(workspace, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    rows = []
    for clip, (stamp, tag) in enumerate([("animals/birds/rooster", "poultry"), ("hobbies/music/string/violin", "orchestra")]):
        audio = decode_audio(stamps_root() / f"{stamp}.ogg", 22050)[:2 * 22050]
        audio = np.pad(audio, (0, 2 * 22050 - len(audio)))
        make_video(media / f"{clip}.mp4", [(200, 120, 40), (40, 120, 200)], audio=audio)
        rows.append({"clip_id": f"c{clip}", "video_path": f"{clip}.mp4", "split": "train", "tags": tag})
    pd.DataFrame(rows).to_csv(media / "manifest.csv", index=False)
    config = yaml.safe_load((workspace / "config.yaml").read_text())
    config["datasets"]["mine"] = {"kind": "manifest", "manifest": str(media / "manifest.csv"), "window_s": 1.0,
                                  "categories": "audioset7", "labels": {"visual_source": "image_classifier"}}
    (workspace / "config.yaml").write_text(yaml.safe_dump(config))
    assert sf  # soundfile is what make_video writes the sound track with
    return workspace


def test_label_rules_run_end_to_end(configured):
    targets = ["results/mine/labels.h5", "results/mine/proposals.h5", "results/mine/labels_report.md"]
    run_snakemake(configured, *targets)
    assert (configured / "results/weights/mobilenet_v2_imagenet.pt").is_file()
    with h5py.File(configured / "results/mine/labels.h5") as h5:
        audio, visual = h5["audio"][:], h5["visual"][:]
        assert audio.shape == visual.shape == (4, 7) and list(h5.attrs["categories"])[2] == "Animal"
        assert audio[:, 2].tolist() == [1, 1, 0, 0] and audio[:, 4].tolist() == [0, 0, 1, 1]  # tags
        assert np.allclose(visual.max(axis=1), 1.0)  # top-k pooled ImageNet scores, max-normalised
    with h5py.File(configured / "results/mine/proposals.h5") as h5:
        assert h5["boxes"].shape == (4, 8, 4) and h5["scores"].shape == (4, 8)
    report = (configured / "results/mine/labels_report.md").read_text()
    assert "Audio tagger vs. the true sounding tags (audioset7)" in report and (configured / "results/mine/labels_report.png").is_file()
    again = run_snakemake(configured, *targets)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_roi_labels_read_the_proposals(configured):
    """visual_source rois: the proposals rule feeds pseudo_labels, and switching to it reruns only the labels."""
    run_snakemake(configured, "results/mine/labels.h5", "results/mine/proposals.h5")
    proposals_time = (configured / "results/mine/proposals.h5").stat().st_mtime
    with h5py.File(configured / "results/mine/labels.h5") as h5:
        whole_frame = h5["visual"][:]
    config = yaml.safe_load((configured / "config.yaml").read_text())
    config["datasets"]["mine"]["labels"]["visual_source"] = "rois"
    (configured / "config.yaml").write_text(yaml.safe_dump(config))
    out = run_snakemake(configured, "results/mine/labels.h5")
    assert "pseudo_labels" in out.stdout + out.stderr
    assert (configured / "results/mine/proposals.h5").stat().st_mtime == proposals_time, out.stdout + out.stderr
    with h5py.File(configured / "results/mine/labels.h5") as h5:
        visual = h5["visual"][:]
        assert h5.attrs["visual_source"] == "rois"
    # The strongest crop's softmax mass, not the whole frame's max-normalised top-k scores.
    assert visual.shape == (4, 7) and 0.0 <= visual.min() and visual.max() <= 1.0
    assert not np.allclose(visual, whole_frame) and not np.allclose(visual.max(axis=1), 1.0)
