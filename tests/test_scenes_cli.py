"""`msl scenes`: the class listing and a clear error when the stamps cannot be found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MSL = str(Path(sys.executable).with_name("msl"))


def test_classes_lists_every_class(repo):
    done = subprocess.run([MSL, "scenes", "classes"], capture_output=True, text=True, cwd=repo, check=False)
    assert done.returncode == 0
    assert "dogs" in done.stdout and "Animal" in done.stdout and "Music" in done.stdout


def test_build_with_a_missing_stamps_dir_fails_clearly(repo, tmp_path):
    done = subprocess.run([MSL, "scenes", "build", "--preset", "tiny", "--out", str(tmp_path / "out"),
                           "--stamps-dir", str(tmp_path / "missing")], capture_output=True, text=True, cwd=repo, check=False)
    assert done.returncode == 2
    assert "scenes.stamps_dir" in done.stderr and "apt-get download" in done.stderr
    assert "Traceback" not in done.stderr
