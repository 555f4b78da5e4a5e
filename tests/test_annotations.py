"""Converters on small hand-made files in each distributed format, and the COCO loader's checks."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from msl_core import annotations, metrics
from msl_core import coco as coco_file
from msl_core.errors import BadInput
from msl_core.splits import read_ids


def make_gtdata(path: Path) -> dict[str, np.ndarray]:
    """A gtdata.pkl as §5.1 describes it: int keys, relative `visual`/`audio` paths, `anno` as a numpy string array
    of 1-based xmin, ymin, xmax, ymax, and `roi` proposals."""
    boxes = {
        "1000": np.array([[1, 1, 128, 128], [65, 65, 192, 192]]),
        "2000": np.array([[10, 20, 30, 40], [12, 22, 32, 42], [200, 1, 256, 256]]),
        "3000": np.array([[5, 5, 50, 50], [6, 6, 60, 60]]),  # not in the split
    }
    data = {
        k: {
            "visual": f"./Dataset/Data/{k % 10}/{fid}.jpg",
            "audio": f"./Dataset/Data/{k % 10}/{fid}.wav",
            "anno": b.astype(str),
            "roi": np.random.default_rng(k).uniform(0, 0.9, (8, 4)).astype(np.float32),
        }
        for k, (fid, b) in enumerate(boxes.items())
    }
    path.write_bytes(pickle.dumps(data))
    return boxes


def write_split(path: Path, ids: list[str]) -> Path:
    path.write_text("".join(f"{i}.png\n" for i in ids))
    return path


def test_flickr_gtdata_converter(tmp_path):
    make_gtdata(tmp_path / "gtdata.pkl")
    split = write_split(tmp_path / "gtest.txt", ["1000", "9999", "2000"])
    conv = annotations.flickr_from_gtdata(tmp_path / "gtdata.pkl", split)
    assert conv.missing == ["9999"]
    assert conv.n_images == 2 and conv.n_boxes == 5
    assert "9999" in conv.summary() and "wrote 2 items" in conv.summary()
    out = coco_file.write_coco(conv, tmp_path / "flickr.json")
    coco = coco_file.load_coco(out)
    assert coco_file.missing_ids(coco) == ["9999"]
    first = next(im for im in coco.dataset["images"] if im["clip_id"] == "1000")
    assert (first["width"], first["height"], first["second"]) == (256, 256, 0)
    bboxes = np.array([a["bbox"] for a in coco.imgToAnns[first["id"]]])
    np.testing.assert_array_equal(bboxes, [[0, 0, 127, 127], [64, 64, 127, 127]])
    # The converted boxes reproduce the reference consensus map of §7.1.
    assert metrics.consensus_map(bboxes).sum() == 16129


def test_flickr_xml_converter_matches_gtdata(tmp_path):
    boxes = make_gtdata(tmp_path / "gtdata.pkl")
    xml_dir = tmp_path / "Annotations"
    xml_dir.mkdir()
    for fid in ("1000", "2000"):
        objects = "".join(
            f"<object><name>annotator{k}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
            f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
            for k, b in enumerate(boxes[fid])
        )
        (xml_dir / f"{fid}.xml").write_text(
            f"<annotation><filename>{fid}.jpg</filename><size><width>256</width><height>256</height>"
            f"<depth>3</depth></size>{objects}</annotation>"
        )
    split = write_split(tmp_path / "gtest.txt", ["1000", "9999", "2000"])
    from_xml = annotations.flickr_from_xml(xml_dir, split)
    from_pkl = annotations.flickr_from_gtdata(tmp_path / "gtdata.pkl", split)
    assert from_xml.missing == ["9999"]
    assert from_xml.coco["images"] == from_pkl.coco["images"]
    assert from_xml.coco["annotations"] == from_pkl.coco["annotations"]
    # Without a split every XML file is an item.
    assert annotations.flickr_from_xml(xml_dir).n_images == 2


def test_flickr_xml_rescales_larger_images(tmp_path):
    (tmp_path / "7.xml").write_text(
        "<annotation><size><width>512</width><height>1024</height></size><object><bbox><xmin>2</xmin>"
        "<ymin>4</ymin><xmax>102</xmax><ymax>404</ymax></bbox></object></annotation>"
    )
    coco = annotations.flickr_from_xml(tmp_path).coco
    assert coco["annotations"][0]["bbox"] == [0.0, 0.0, 50.0, 100.0]


def test_flickr_bad_inputs(tmp_path):
    (tmp_path / "bad.xml").write_text("<annotation><object><bndbox><xmin>1</xmin></bndbox></object></annotation>")
    with pytest.raises(BadInput, match="lacks <ymin>"):
        annotations.flickr_from_xml(tmp_path)
    bad = {0: {"visual": "./a/1.jpg", "anno": np.array([["9", "9", "1", "1"]])}}
    (tmp_path / "gt.pkl").write_bytes(pickle.dumps(bad))
    split = write_split(tmp_path / "s.txt", ["1"])
    with pytest.raises(BadInput, match="xmax < xmin"):
        annotations.flickr_from_gtdata(tmp_path / "gt.pkl", split)
    with pytest.raises(BadInput, match="duplicated"):
        read_ids(write_split(tmp_path / "d.txt", ["1", "1"]))


def make_audioset(tmp_path: Path) -> tuple[Path, Path]:
    tags = {  # sorted keys: clip 0 = "AAAAAAAAAAA", 1 = "BBBBBBBBBBB", 2 = "CCCCCCCCCCC"
        "BBBBBBBBBBB": np.eye(15)[[1, 2]].sum(axis=0),
        "AAAAAAAAAAA": np.eye(15)[[0, 2]].sum(axis=0),
        "CCCCCCCCCCC": np.eye(15)[[3]].sum(axis=0),  # tagged, never annotated
    }
    names = ["Banjo", "Cello", "Drum", "Guitar", "Harp", "Harmonica", "Oboe", "Piano", "Saxophone", "Trombone",
             "Trumpet", "Violin", "Flute", "Accordion", "Horn"]
    normav = {
        "categories": [{"id": i, "name": n} for i, n in enumerate(names)],
        "images": [{"id": 3, "width": 640, "height": 360}, {"id": 17, "width": 480, "height": 360}],
        "annotations": [
            {"image_id": 3, "id": 0, "category_id": 0, "bbox": [0.1, 0.2, 0.3, 0.4], "area": 1.0, "iscrowd": 0,
             "segmentation": [[0.0]]},
            {"image_id": 3, "id": 1, "category_id": 2, "bbox": [0.5, 0.5, 0.25, 0.125], "area": 1.0, "iscrowd": 0,
             "segmentation": [[0.0]]},
            {"image_id": 17, "id": 2, "category_id": 1, "bbox": [0.0, 0.0, 1.0, 1.0], "area": 1.0, "iscrowd": 0,
             "segmentation": [[0.0]]},
        ],
    }
    (tmp_path / "normav.json").write_text(json.dumps(normav))
    (tmp_path / "val_audio.pkl").write_bytes(pickle.dumps(tags))
    return tmp_path / "normav.json", tmp_path / "val_audio.pkl"


def test_audioset_converter(tmp_path):
    normav, tags = make_audioset(tmp_path)
    conv = annotations.audioset_from_normav(normav, tags)
    assert conv.missing == ["CCCCCCCCCCC"]
    assert conv.n_images == 2 and conv.n_boxes == 3
    images = {im["id"]: im for im in conv.coco["images"]}
    assert (images[3]["clip_id"], images[3]["second"]) == ("AAAAAAAAAAA", 3)
    assert (images[17]["clip_id"], images[17]["second"]) == ("BBBBBBBBBBB", 7)
    assert images[3]["orig_width"] == 640 and images[3]["width"] == 256
    ann = conv.coco["annotations"][0]
    assert ann["bbox"] == [25.6, 51.2, 76.8, 102.4]
    # Rasterised on the grid, the written box gives exactly the §5.4 mask.
    mask = metrics.box_masks(ann["bbox"])[0]
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    assert (rows[0], rows[-1], cols[0], cols[-1]) == (51, int(256 * 0.6) - 1, 25, int(256 * 0.4) - 1)
    assert conv.coco["info"]["boxes_outside_tags"] == 0
    coco_file.load_coco(coco_file.write_coco(conv, tmp_path / "a.json"))


def test_audioset_image_past_tags_is_an_error(tmp_path):
    normav, tags = make_audioset(tmp_path)
    data = json.loads(normav.read_text())
    data["images"].append({"id": 95, "width": 10, "height": 10})
    normav.write_text(json.dumps(data))
    with pytest.raises(BadInput, match="point past the 3 clips"):
        annotations.audioset_from_normav(normav, tags)


def test_load_coco_checks(tmp_path):
    coco = {"images": [{"id": 1, "width": 256, "height": 256}], "annotations": [], "categories": []}
    (tmp_path / "c.json").write_text(json.dumps(coco))
    with pytest.raises(BadInput, match="clip_id"):
        coco_file.load_coco(tmp_path / "c.json")
    coco["images"][0] |= {"clip_id": "a", "second": 0}
    coco["annotations"] = [{"id": 1, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}]
    (tmp_path / "c.json").write_text(json.dumps(coco))
    with pytest.raises(BadInput, match="unknown images"):
        coco_file.load_coco(tmp_path / "c.json")


def test_coco_format_is_kept_as_written(tmp_path):
    """`coco` is the canonical format: `convert` checks it and writes the same content back (info.missing kept)."""
    coco = {"info": {"missing": ["gone"]}, "categories": [{"id": 1, "name": "dog"}],
            "images": [coco_file.coco_image(1, "clipA", 3, 320, 240)],
            "annotations": [coco_file.coco_annotation(1, 1, 1, [10.5, 20.0, 30.0, 40.0])]}
    source = tmp_path / "mine.json"
    source.write_text(json.dumps(coco))
    conversion = annotations.convert("coco", coco=source)
    assert conversion.missing == ["gone"]
    out = coco_file.write_coco(conversion, tmp_path / "test.json")
    assert json.loads(out.read_text()) == coco
    with pytest.raises(annotations.ConfigError, match="annotations.coco"):
        annotations.convert("coco")
    with pytest.raises(annotations.ConfigError, match="'yolo' is not a known annotation format; known: coco, flickr"):
        annotations.convert("yolo")
