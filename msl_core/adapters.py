"""Raw dataset layouts → manifest CSV (method.md §1.3–1.5). Root paths come from config.yaml."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.errors import BadInput, ConfigError
from msl_core.manifest import MANIFEST_COLUMNS
from msl_core.readers import read_pickle

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")
# AudioSet-instrument's 15 classes, in the order of its tag vectors (method.md §5.3).
AUDIOSET_INSTRUMENTS = ("Banjo", "Cello", "Drum", "Guitar", "Harp", "Harmonica", "Oboe", "Piano", "Saxophone",
                        "Trombone", "Trumpet", "Violin", "Flute", "Accordion", "Horn")


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in MANIFEST_COLUMNS:
        if column not in frame:
            frame[column] = ""
    return frame[MANIFEST_COLUMNS]


def _root(root: str | None, key: str) -> Path:
    if not root:
        raise ConfigError(key, "is not set: point it at your copy of the dataset")
    path = Path(root)
    if not path.is_dir():
        raise ConfigError(key, f"folder {path} does not exist")
    return path


def _by_stem(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.rglob("*")) if p.suffix.lower() in suffixes}


def flickr_manifest(root: str | None, split: str = "train", key: str = "datasets.flickr.root") -> pd.DataFrame:
    """SoundNet-Flickr: image + wav pairs with the same stem (the reference's layout), else videos."""
    folder = _root(root, key)
    images, sounds = _by_stem(folder, IMAGE_SUFFIXES), _by_stem(folder, AUDIO_SUFFIXES)
    pairs = sorted(set(images) & set(sounds))
    if pairs:
        return _frame([{"clip_id": stem, "image_path": str(images[stem]), "audio_path": str(sounds[stem]),
                        "split": split} for stem in pairs])
    videos = _by_stem(folder, VIDEO_SUFFIXES)
    if not videos:
        raise BadInput(folder, "no image+audio pairs (same stem) and no videos found")
    return _frame([{"clip_id": stem, "video_path": str(path), "split": split} for stem, path in videos.items()])


def ave_manifest(root: str | None, key: str = "datasets.ave.root") -> pd.DataFrame:
    """AVE: `AVE/<id>.mp4` + `Annotations.txt` (`Category&VideoID&Quality&StartTime&EndTime`).

    Splits from `trainSet.txt`/`valSet.txt`/`testSet.txt` (same format) when present; per-second tags mark the
    annotated event's seconds.
    """
    folder = _root(root, key)
    annotations = folder / "Annotations.txt"
    if not annotations.is_file():
        raise BadInput(annotations, "AVE annotation file not found")
    split_of = {}
    for split, name in (("train", "trainSet.txt"), ("val", "valSet.txt"), ("test", "testSet.txt")):
        if (folder / name).is_file():
            split_of |= {rec["video_id"]: split for rec in _ave_records(folder / name)}
    rows = []
    for rec in _ave_records(annotations):
        video = folder / "AVE" / f"{rec['video_id']}.mp4"
        per_second = "|".join(rec["category"] if rec["start"] <= s < rec["end"] else "" for s in range(10))
        rows.append({"clip_id": rec["video_id"], "video_path": str(video), "split": split_of.get(rec["video_id"],
                     "train"), "tags": rec["category"], "tags_per_second": per_second})
    return _frame(rows)


def _ave_records(path: Path) -> list[dict]:
    records = []
    for number, line in enumerate(path.read_text().splitlines()):
        fields = line.strip().split("&")
        if number == 0 and fields[0] == "Category" or not line.strip():
            continue
        if len(fields) != 5:
            raise BadInput(path, f"line {number + 1}: expected Category&VideoID&Quality&StartTime&EndTime")
        records.append({"category": fields[0], "video_id": fields[1], "start": int(fields[3]), "end": int(fields[4])})
    return records


def audioset_instrument_manifest(root: str | None, tags: str | None, split: str = "test",
                                 key: str = "datasets.audioset_instrument") -> pd.DataFrame:
    """AudioSet-instrument: `<video_id>.mp4` clips + a `{video_id: 15-dim multi-hot}` pickle (sorted key order)."""
    folder = _root(root, f"{key}.root")
    if not tags or not Path(tags).is_file():
        raise ConfigError(f"{key}.tags", f"tag pickle {tags!r} not found")
    table = read_pickle(tags, "AudioSet-instrument tag pickle")
    videos = _by_stem(folder, VIDEO_SUFFIXES)
    rows = []
    for video_id in sorted(table):
        vector = np.asarray(table[video_id]).reshape(-1)
        if vector.size != len(AUDIOSET_INSTRUMENTS):
            raise BadInput(tags, f"{video_id}: tag vector has {vector.size} entries, expected 15")
        names = ";".join(n for n, v in zip(AUDIOSET_INSTRUMENTS, vector) if v > 0)
        rows.append({"clip_id": video_id, "video_path": str(videos.get(video_id, folder / f"{video_id}.mp4")),
                     "split": split, "tags": names})
    return _frame(rows)


def build_manifest(dataset: str, settings: dict) -> pd.DataFrame:
    """Dispatch on `settings['kind']` (the dataset's config block)."""
    kind = settings.get("kind")
    key = f"datasets.{dataset}"
    if kind == "flickr":
        return flickr_manifest(settings.get("root"), key=f"{key}.root")
    if kind == "ave":
        return ave_manifest(settings.get("root"), key=f"{key}.root")
    if kind == "audioset_instrument":
        return audioset_instrument_manifest(settings.get("root"), settings.get("tags"), key=key)
    if kind == "manifest":
        from msl_core.manifest import load_manifest

        return load_manifest(_manifest_path(settings, key))
    raise ConfigError(f"{key}.kind", f"no adapter for kind {kind!r}")


def _manifest_path(settings: dict, key: str) -> Path:
    path = settings.get("manifest")
    if not path or not Path(path).is_file():
        raise ConfigError(f"{key}.manifest", f"manifest CSV {path!r} not found")
    return Path(path)
