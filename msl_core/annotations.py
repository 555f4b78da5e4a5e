"""Test annotations: converters from the distributed formats to COCO (the one canonical format), and its loader.

COCO written here (docs/architecture.md): `images` carry `clip_id` and `second` (the keys that match maps.h5 rows),
`annotations` carry pixel boxes `[x, y, w, h]` in the image's `width`×`height`, and `info.missing` lists the split ids
that the source annotations lack, so the evaluation can report them instead of silently scoring a smaller set.

Converters (docs/method.md §5):
- SoundNet-Flickr, reference `gtdata.pkl` + `gtest.txt` (§5.1): 1-based `xmin, ymin, xmax, ymax` on 256×256 images.
- SoundNet-Flickr, the per-item XML files distributed with the test set (several annotators' boxes per image).
- AudioSet-instrument, reference `normav.json` + the `{video_id: tags}` pickle (§5.3).
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from msl_core import field_sets
from msl_core.coco import (
    Conversion,
    coco_annotation,
    coco_dict,
    coco_image,
    load_coco,
    missing_ids,
    read_json_object,
)
from msl_core.errors import BadInput, ConfigError
from msl_core.readers import read_pickle
from msl_core.registry import Registry
from msl_core.splits import read_ids

log = logging.getLogger("msl.annotations")

FLICKR_SIZE = 256
FLICKR_CATEGORY = {"id": 1, "name": "sound source", "supercategory": "sound source"}
# The AudioSet-instrument converter writes every frame on the 256×256 evaluation grid: bbox = 256·[x, y, w, h].
AUDIOSET_GRID = 256
AUDIOSET_FRAMES_PER_CLIP = 10


# ---------------------------------------------------------------------------------------------------------------------
# SoundNet-Flickr


def read_split(path: str | Path) -> list[str]:
    """Ids of a split file (`gtest.txt`, or the LVS / SLAVC csv lists): see `msl_core.splits.read_ids`."""
    return read_ids(path)


def flickr_from_gtdata(gtdata: str | Path, split: str | Path) -> Conversion:
    """Convert the reference `gtdata.pkl` (dict of {visual, audio, anno, roi}) restricted to the ids of `split`."""
    gtdata = Path(gtdata)
    boxes_by_id = _read_gtdata(gtdata)
    return _flickr_coco(read_split(split), boxes_by_id, source=f"gtdata:{gtdata.name}")


def flickr_from_xml(xml_dir: str | Path, split: str | Path | None = None) -> Conversion:
    """Convert the per-item XML files (`<id>.xml`, boxes in `<object><bndbox>` or `<bbox>`) of a directory.

    Without `split`, every XML file of the directory is an item.
    """
    xml_dir = Path(xml_dir)
    if not xml_dir.is_dir():
        raise BadInput(xml_dir, "XML annotation directory not found")
    files = {p.stem: p for p in sorted(xml_dir.glob("*.xml"))}
    if not files:
        raise BadInput(xml_dir, "no .xml files in the annotation directory")
    ids = read_split(split) if split is not None else sorted(files)
    boxes_by_id = {item: _read_flickr_xml(files[item]) for item in ids if item in files}
    return _flickr_coco(ids, boxes_by_id, source=f"xml:{xml_dir.name}")


def _read_gtdata(path: Path) -> dict[str, np.ndarray]:
    """{flickr id: (K, 4) 1-based xmin, ymin, xmax, ymax} from gtdata.pkl; the id is the stem of `visual`."""
    data = read_pickle(path, "gtdata pickle")
    if not isinstance(data, dict):
        raise BadInput(path, f"expected a dict of items, got {type(data).__name__}")
    boxes_by_id: dict[str, np.ndarray] = {}
    for key, entry in data.items():
        if not isinstance(entry, dict) or "visual" not in entry or "anno" not in entry:
            raise BadInput(path, f"item {key!r} lacks the 'visual'/'anno' keys")
        item = Path(str(entry["visual"])).stem
        boxes = _parse_boxes(entry["anno"], path, f"item {key!r} ({item})")
        if item in boxes_by_id and not np.array_equal(boxes_by_id[item], boxes):
            raise BadInput(path, f"id {item} appears twice with different boxes")
        boxes_by_id[item] = boxes
    return boxes_by_id


def _read_flickr_xml(path: Path) -> np.ndarray:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise BadInput(path, f"not valid XML: {exc}") from exc
    scale_x, scale_y = _xml_scale(root, path)
    rows = []
    for box in [*root.iter("bndbox"), *root.iter("bbox")]:
        values = []
        for tag in ("xmin", "ymin", "xmax", "ymax"):
            node = box.find(tag)
            if node is None or node.text is None:
                raise BadInput(path, f"a <{box.tag}> lacks <{tag}>")
            values.append(node.text.strip())
        rows.append(values)
    boxes = _parse_boxes(np.array(rows, dtype=str).reshape(-1, 4), path, "boxes")
    # Boxes on a larger original image are brought to the 256×256 frame the 1-based convention refers to.
    return boxes * np.array([scale_x, scale_y, scale_x, scale_y])


def _xml_scale(root: ET.Element, path: Path) -> tuple[float, float]:
    size = root.find("size")
    if size is None or size.find("width") is None or size.find("height") is None:
        return 1.0, 1.0
    try:
        width, height = float(size.findtext("width")), float(size.findtext("height"))
    except (TypeError, ValueError) as exc:
        raise BadInput(path, f"unreadable <size>: {exc}") from exc
    if width <= 0 or height <= 0:
        raise BadInput(path, f"<size> {width}×{height} is not positive")
    return FLICKR_SIZE / width, FLICKR_SIZE / height


def _parse_boxes(anno, path: Path, what: str) -> np.ndarray:
    """(K, 4) float array of 1-based xmin, ymin, xmax, ymax; rejects unreadable or inverted boxes."""
    try:
        boxes = np.asarray(anno).astype(np.float64).reshape(-1, 4)
    except (TypeError, ValueError) as exc:
        raise BadInput(path, f"{what}: boxes are not numbers: {exc}") from exc
    bad = ~np.isfinite(boxes).all(axis=1) | (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bad.any():
        raise BadInput(path, f"{what}: {int(bad.sum())} box(es) not finite or with xmax < xmin / ymax < ymin")
    return boxes


def _flickr_coco(ids: list[str], boxes_by_id: dict[str, np.ndarray], source: str) -> Conversion:
    images, annotations, missing = [], [], []
    for item in ids:
        if item not in boxes_by_id:
            missing.append(item)
            continue
        image_id = len(images) + 1
        images.append(coco_image(image_id, item, 0, FLICKR_SIZE, FLICKR_SIZE))
        for xmin, ymin, xmax, ymax in boxes_by_id[item]:
            # 1-based inclusive corners → a box whose rasterisation drops the last row/column, as the reference (§5.2).
            bbox = [xmin - 1.0, ymin - 1.0, xmax - xmin, ymax - ymin]
            annotations.append(coco_annotation(len(annotations) + 1, image_id, FLICKR_CATEGORY["id"], bbox))
    coco = coco_dict(images, annotations, [FLICKR_CATEGORY], source, missing, n_split=len(ids))
    coco["info"]["ground_truth"] = "consensus"  # several annotators' boxes: scored by agreement (§5.2)
    coco["info"]["source_corners"] = "one-based"  # bbox = [xmin − 1, …]: LVS-style code scales xmin itself
    return Conversion(coco, missing)


# ---------------------------------------------------------------------------------------------------------------------
# AudioSet-instrument


def audioset_from_normav(normav: str | Path, tags: str | Path) -> Conversion:
    """Convert the reference `normav.json` (normalised boxes, image_id = 10·clip + frame) with the tags pickle.

    Clip index = position in the sorted keys of the tags pickle (§5.3). Tagged clips without any annotated frame are
    reported as missing; a box whose image id points past the tag list is an error.
    """
    normav, tags = Path(normav), Path(tags)
    clip_ids, tag_matrix = _read_tags(tags)
    source = read_json_object(normav)
    for key in ("images", "annotations", "categories"):
        if key not in source:
            raise BadInput(normav, f"no '{key}' list")
    categories = [
        {"id": int(c["id"]), "name": str(c["name"]), "supercategory": str(c.get("supercategory", "instrument"))}
        for c in source["categories"]
    ]
    n_clips = len(clip_ids)
    out_of_range = sorted(int(im["id"]) for im in source["images"] if int(im["id"]) // AUDIOSET_FRAMES_PER_CLIP >= n_clips)
    if out_of_range:
        raise BadInput(
            normav,
            f"{len(out_of_range)} image id(s) point past the {n_clips} clips of {tags.name}: {out_of_range[:10]}",
        )
    images = []
    known = set()
    for im in sorted(source["images"], key=lambda im: int(im["id"])):
        image_id = int(im["id"])
        clip, frame = divmod(image_id, AUDIOSET_FRAMES_PER_CLIP)
        record = coco_image(image_id, clip_ids[clip], frame, AUDIOSET_GRID, AUDIOSET_GRID)
        record.update(orig_width=int(im.get("width", 0)), orig_height=int(im.get("height", 0)))
        images.append(record)
        known.add(image_id)
    annotations, outside_tags = [], 0
    for ann in source["annotations"]:
        image_id = int(ann["image_id"])
        if image_id not in known:
            raise BadInput(normav, f"annotation {ann.get('id')} refers to unknown image {image_id}")
        category = int(ann["category_id"])
        clip = image_id // AUDIOSET_FRAMES_PER_CLIP
        if not (0 <= category < tag_matrix.shape[1] and tag_matrix[clip, category] > 0):
            outside_tags += 1
        bbox = [AUDIOSET_GRID * float(v) for v in ann["bbox"]]
        annotations.append(coco_annotation(len(annotations) + 1, image_id, category, bbox))
    if outside_tags:
        log.warning("%s: %d box(es) of a class not among their clip's tags", normav, outside_tags)
    annotated = {im["clip_id"] for im in images}
    tagged = [c for c, row in zip(clip_ids, tag_matrix) if row.sum() > 0]
    missing = [c for c in tagged if c not in annotated]
    coco = coco_dict(images, annotations, categories, f"normav:{normav.name}", missing, n_split=len(tagged))
    coco["info"]["boxes_outside_tags"] = outside_tags
    return Conversion(coco, missing)


def _read_tags(path: Path) -> tuple[list[str], np.ndarray]:
    data = read_pickle(path, "tags pickle")
    if not isinstance(data, dict) or not data:
        raise BadInput(path, "expected a non-empty dict {video_id: multi-hot tags}")
    clip_ids = sorted(str(k) for k in data)
    try:
        matrix = np.stack([np.asarray(data[k], dtype=np.float64).ravel() for k in sorted(data, key=str)])
    except ValueError as exc:
        raise BadInput(path, f"tag vectors differ in length: {exc}") from exc
    return clip_ids, matrix


# ---------------------------------------------------------------------------------------------------------------------
# The formats `convert` reads (`datasets.<name>.annotations.format`)


@dataclass(frozen=True)
class AnnotationFormat:
    name: str
    keys: tuple[str, ...]  # datasets.<name>.annotations.<key> files it reads (one set: the dataset is annotated)
    required: tuple[str, ...]  # `convert` arguments it cannot do without
    convert: Callable[[dict], Conversion] = field(repr=False)  # {argument: path or None} -> COCO
    optional_split: bool = False  # a given `split` narrows it to a published id list


ANNOTATION_FORMATS: Registry[AnnotationFormat] = Registry("annotation format", "annotations.format")
SOURCE_ARGUMENTS = ("gtdata", "split", "xml_dir", "normav", "tags", "source", "coco")  # the files `convert` reads


def _canonical(files: dict) -> Conversion:
    """COCO as msl writes it already: checked by `load_coco`, then kept as it is."""
    coco = load_coco(files["coco"])
    return Conversion(coco.dataset, missing_ids(coco))


for _format in (
    AnnotationFormat("coco", ("coco",), ("coco",), _canonical),
    AnnotationFormat("flickr-gtdata", ("gtdata", "split"), ("gtdata", "split"),
                     lambda f: flickr_from_gtdata(f["gtdata"], f["split"])),
    AnnotationFormat("flickr-xml", ("xml_dir",), ("xml_dir",), lambda f: flickr_from_xml(f["xml_dir"], f["split"]),
                     optional_split=True),
    AnnotationFormat("audioset-instrument", ("normav",), ("normav", "tags"),
                     lambda f: audioset_from_normav(f["normav"], f["tags"])),
    AnnotationFormat("vggss", ("source",), ("source",), lambda f: field_sets.vggss(f["source"], f["split"]),
                     optional_split=True),
    AnnotationFormat("slavc-extended", ("source", "gtdata"), ("source",),
                     lambda f: field_sets.slavc_extended(f["source"], f["gtdata"], f["split"]), optional_split=True),
    AnnotationFormat("is3", ("source",), ("source",), lambda f: field_sets.box_list(f["source"], "is3")),
    AnnotationFormat("avsbench-box", ("source",), ("source",),
                     lambda f: field_sets.box_list(f["source"], "avsbench-box")),
):
    ANNOTATION_FORMATS.register(_format)
FORMATS = ANNOTATION_FORMATS.names()


def annotation_key(dataset: str, argument: str) -> str:
    """The workflow config key of a converter argument: `datasets.<name>.annotations.<argument>` (the tags are the
    dataset's `test_tags`)."""
    return f"datasets.{dataset}." + ("test_tags" if argument == "tags" else f"annotations.{argument}")


def convert_configured(fmt: str, files: dict[str, str | Path | None], dataset: str) -> Conversion:
    """The `convert_annotations` rule's conversion: `convert`, and a file it cannot use is named together with the
    config key that points at it."""
    try:
        return convert(fmt, **files)
    except BadInput as exc:
        argument = next((a for a, p in files.items() if p is not None and Path(p) == Path(exc.path)), None)
        if argument is None:
            raise
        raise BadInput(exc.path, f"{exc.reason} (set by {annotation_key(dataset, argument)})") from None


def convert(
    fmt: str,
    *,
    gtdata: str | Path | None = None,
    split: str | Path | None = None,
    xml_dir: str | Path | None = None,
    normav: str | Path | None = None,
    tags: str | Path | None = None,
    source: str | Path | None = None,
    coco: str | Path | None = None,
) -> Conversion:
    """Convert with the registered format `fmt`; the rule and `msl convert-annotations` both call this."""
    spec = ANNOTATION_FORMATS.get(fmt)
    files = {"gtdata": gtdata, "split": split, "xml_dir": xml_dir, "normav": normav, "tags": tags, "source": source,
             "coco": coco}
    absent = [key for key in spec.required if files[key] is None]
    if absent:
        raise ConfigError(f"annotations.{absent[0]}", f"required by format '{fmt}' but not given")
    return spec.convert(files)
