"""Bad `msl` arguments fail in click with one `Error:` line and write nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MSL = Path(sys.executable).with_name("msl")


@pytest.fixture
def index(tmp_path):
    path = tmp_path / "index.csv"
    path.write_text("row,clip_id,second,split,start_s,window_s,video_path,image_path,audio_path,tags,visible\n")
    return path


@pytest.mark.parametrize("args, message", [
    (["ingest", "{manifest}", "--window", "0", "--out-dir", "{tmp}"], "--window"),
    (["ingest", "{manifest}", "--size", "0", "--out-dir", "{tmp}"], "not a positive multiple of 16"),
    (["ingest", "{manifest}", "--size", "-4", "--out-dir", "{tmp}"], "not a positive multiple of 16"),
    (["ingest", "{manifest}", "--out-dir", "{tmp}/no/such/folder"], "does not exist"),
    (["ingest", "{tmp}/absent.csv", "--out-dir", "{tmp}"], "does not exist"),
])
def test_bad_arguments_give_one_error_line_and_no_file(tmp_path, index, args, message):
    manifest = tmp_path / "m.csv"
    manifest.write_text("clip_id,video_path,split\n")
    filled = [a.format(tmp=tmp_path, index=index, manifest=manifest) for a in args]
    proc = subprocess.run([str(MSL), *filled], check=False, capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert message in proc.stderr and proc.stderr.count("Error:") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"index.csv", "m.csv"})
