"""A real Snakemake run of the scenes rules on the tiny preset, in a scratch working directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scenes_support import stamps_root

from msl_core.manifest import load_manifest

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


@pytest.mark.slow
def test_tiny_preset_builds_the_contact_sheet_and_reruns_nothing(repo, tmp_path):
    shutil.copy(repo / "config.yaml", tmp_path / "config.yaml")
    command = [SNAKEMAKE, "--snakefile", str(repo / "Snakefile"), "--directory", str(tmp_path), "--cores", "2",
               "results/scenes/contact_sheet.png", "--config", "preset=tiny",
               f"scenes={{'stamps_dir': '{stamps_root()}', 'cache_dir': 'cache'}}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = load_manifest(tmp_path / "results/scenes/videos/manifest.csv")
    scenes = manifest[manifest["clip_id"].str.fullmatch(r"scene_\d{4}")]
    assert len(scenes) == 9 and all(Path(p).is_file() for p in manifest["video_path"])
    assert len(manifest) > 9  # the tiny preset's probe clips (test split)
    for split in ("train", "val", "test"):
        assert (tmp_path / f"results/scenes/annotations/{split}.json").is_file()
    assert (tmp_path / "results/scenes/contact_sheet.png").stat().st_size > 10_000
    again = subprocess.run(command + ["--dry-run"], capture_output=True, text=True, check=False)
    assert "Nothing to be done" in again.stdout + again.stderr
