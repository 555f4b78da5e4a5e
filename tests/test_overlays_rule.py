"""The overlays rule: `evaluate.overlays` puts it in (or leaves it out of) the default targets; a real tiny run."""

from __future__ import annotations

import cv2
import pytest
import yaml

from msl_core.media import probe
from support.workspace import run_snakemake


def _plan(workspace, overlays: int) -> str:
    (workspace / "override.yaml").write_text(yaml.safe_dump({"evaluate": {"overlays": overlays}}))
    return run_snakemake(workspace, "-n", "--forceall", "--configfile", "override.yaml", "--config",
                         "preset=tiny").stdout


def test_overlays_key_takes_effect(workspace):
    assert "rule overlays:" in _plan(workspace, 2)
    assert "rule overlays:" not in _plan(workspace, 0)


@pytest.mark.slow
def test_tiny_run_draws_overlays_of_the_first_test_clips(workspace):
    (workspace / "override.yaml").write_text(yaml.safe_dump({"evaluate": {"overlays": 2}}))
    run_snakemake(workspace, "results/scenes/overlays.png", "--configfile", "override.yaml", "--config", "preset=tiny")
    videos = sorted((workspace / "results/scenes/overlays").glob("*.mp4"))
    assert len(videos) == 2 and all(probe(v).audio_duration for v in videos)
    assert len(list((workspace / "results/scenes/overlays").glob("*.json"))) == 2
    assert cv2.imread(str(workspace / "results/scenes/overlays.png")).shape[0] > 2 * 180
    assert "model_card.md" in {p.name for p in (workspace / "results/scenes/stage2").iterdir()}
