"""A real Snakemake run of the scenes rules on the tiny preset, in a scratch working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from msl_core.manifest import load_manifest
from support.stamps import stamps_root
from support.workspace import run_snakemake


@pytest.mark.slow
def test_tiny_preset_builds_the_contact_sheet_and_reruns_nothing(workspace):
    args = ["results/scenes/contact_sheet.png", "--config", "preset=tiny",
            f"scenes={{'stamps_dir': '{stamps_root()}', 'cache_dir': 'cache'}}"]
    run_snakemake(workspace, *args)
    manifest = load_manifest(workspace / "results/scenes/videos/manifest.csv")
    scenes = manifest[manifest["clip_id"].str.fullmatch(r"scene_\d{4}")]
    assert len(scenes) == 9 and all(Path(p).is_file() for p in manifest["video_path"])
    assert len(manifest) > 9  # the tiny preset's probe clips (test split)
    for split in ("train", "val", "test"):
        assert (workspace / f"results/scenes/annotations/{split}.json").is_file()
    assert (workspace / "results/scenes/contact_sheet.png").stat().st_size > 10_000
    again = run_snakemake(workspace, "--dry-run", *args)
    assert "Nothing to be done" in again.stdout + again.stderr
