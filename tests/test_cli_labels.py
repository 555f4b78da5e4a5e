"""`msl tag` and `msl proposals` on real files, through the click group."""

from __future__ import annotations

import json

import cv2
from click.testing import CliRunner
from skimage import data

from msl_core.cli import cli
from support.stamps import stamps_root


def test_tag_prints_classes_and_categories(assets, small_threads):
    violin = str(stamps_root() / "hobbies/music/string/violin.ogg")
    result = CliRunner().invoke(cli, ["tag", "--json", "--weights", str(assets / "weights/efficientat_mn04_as_mAP_432.pt"),
                                      violin])
    assert result.exit_code == 0, result.output
    entry = json.loads(result.output.strip().splitlines()[-1])
    assert entry["classes"][0]["name"] == "Violin, fiddle" and entry["categories"][0]["name"] == "Music"


def test_proposals_writes_json_and_drawing(tmp_path, assets):
    image = tmp_path / "astronaut.png"
    cv2.imwrite(str(image), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    out, drawn = tmp_path / "boxes.json", tmp_path / "boxes.png"
    args = ["proposals", str(image), "--backend", "yolo-fastest", "--out", str(out), "--draw", str(drawn),
            "--weights", str(assets / "weights/yolo-fastest-1.1-xl.weights"),
            "--config", str(tmp_path / "none.yaml")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0 and "none.yaml" in str(result.exception)
    (tmp_path / "c.yaml").write_text(f"proposals:\n  yolo_cfg: {assets / 'weights/yolo-fastest-1.1-xl.cfg'}\n")
    result = CliRunner().invoke(cli, args[:-1] + [str(tmp_path / "c.yaml")])
    assert result.exit_code == 0, result.output
    boxes = json.loads(out.read_text())[0]["boxes"]
    assert 1 <= len(boxes) <= 8 and all(0 <= v <= 1 for box in boxes for v in box)
    assert cv2.imread(str(drawn)).shape == (256, 256, 3)
