"""Raw dataset layouts → manifest CSV (docs/method.md §1.3–1.5, §5), with the splits the datasets publish.

Every adapter lists each clip its split files name, also when its media are missing (the row then points where
the file was expected), so `missing_media` can name them at planning time instead of a silently smaller split.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.annotations import ANNOTATION_FORMATS
from msl_core.config import default
from msl_core.errors import BadInput, ConfigError, MslError
from msl_core.manifest import MANIFEST_COLUMNS
from msl_core.readers import read_pickle
from msl_core.registry import Registry
from msl_core.splits import assign_splits, describe, read_ids, split_counts

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")
# AudioSet-instrument's 15 classes, in the order of its tag vectors (docs/method.md §5.3).
AUDIOSET_INSTRUMENTS = ("Banjo", "Cello", "Drum", "Guitar", "Harp", "Harmonica", "Oboe", "Piano", "Saxophone",
                        "Trombone", "Trumpet", "Violin", "Flute", "Accordion", "Horn")
AVE_SPLIT_FILES = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}
AVE_SECONDS = 10


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


def missing_media(manifest: pd.DataFrame) -> list[str]:
    """Clip ids whose video (or image or sound) file does not exist."""
    def absent(row) -> bool:
        paths = [row["video_path"]] if row["video_path"] else [row["image_path"], row["audio_path"]]
        return not all(p and Path(p).is_file() for p in paths)

    return [row["clip_id"] for _, row in manifest.iterrows() if absent(row)]


# ---------------------------------------------------------------------------------------------------------------------
# SoundNet-Flickr


def flickr_manifest(root: str | None, test_ids: list[str], val_fraction: float = default("datasets.<name>.val_fraction"),
                    seed: int = default("seed"),
                    key: str = "datasets.flickr.root") -> pd.DataFrame:
    """SoundNet-Flickr: image + wav pairs with the same stem (the reference's layout), else videos.

    The ids of the test list are the test split (listed even where their pair is missing); every other pair trains,
    less a seeded validation fraction.
    """
    folder = _root(root, key)
    images, sounds = _by_stem(folder, IMAGE_SUFFIXES), _by_stem(folder, AUDIO_SUFFIXES)
    pairs = sorted(set(images) & set(sounds))
    if pairs:
        ids = sorted(set(pairs) | set(test_ids))
        splits = assign_splits(ids, set(test_ids), val_fraction, seed)
        return _frame([{"clip_id": i, "image_path": str(images.get(i, folder / f"{i}.jpg")),
                        "audio_path": str(sounds.get(i, folder / f"{i}.wav")), "split": s}
                       for i, s in zip(ids, splits)])
    videos = _by_stem(folder, VIDEO_SUFFIXES)
    if not videos:
        raise BadInput(folder, "no image+audio pairs (same stem) and no videos found")
    ids = sorted(set(videos) | set(test_ids))
    splits = assign_splits(ids, set(test_ids), val_fraction, seed)
    return _frame([{"clip_id": i, "video_path": str(videos.get(i, folder / f"{i}.mp4")), "split": s}
                   for i, s in zip(ids, splits)])


def flickr_test_ids(annotations: dict, key: str) -> list[str]:
    """The test list: `annotations.split` (gtest.txt or an LVS/SLAVC csv), else the stems of `annotations.xml_dir`."""
    if annotations.get("split"):
        return read_ids(annotations["split"])
    if annotations.get("xml_dir") and Path(annotations["xml_dir"]).is_dir():
        return sorted(p.stem for p in Path(annotations["xml_dir"]).glob("*.xml"))
    raise ConfigError(f"{key}.annotations.split", "is not set: the test split comes from the dataset's own list "
                                                  "(the reference's gtest.txt, or the LVS/SLAVC flickr_test.csv)")


# ---------------------------------------------------------------------------------------------------------------------
# AVE


def ave_manifest(root: str | None, key: str = "datasets.ave.root") -> pd.DataFrame:
    """AVE: `AVE/<id>.mp4` + `Annotations.txt` (`Category&VideoID&Quality&StartTime&EndTime`) + the three split files.

    A video may carry several events (several lines): its per-second tags are their union. A video named in two
    split files is tested (never trained on).
    """
    folder = _root(root, key)
    annotations = folder / "Annotations.txt"
    if not annotations.is_file():
        raise BadInput(annotations, "AVE annotation file not found")
    split_of = _ave_splits(folder)
    events: dict[str, list[dict]] = {}
    for rec in _ave_records(annotations):
        events.setdefault(rec["video_id"], []).append(rec)
    unlisted = sorted(set(events) - set(split_of))
    if unlisted:
        log.warning("AVE: %d annotated video(s) are in no split file and are left out (first: %s)", len(unlisted),
                    ", ".join(unlisted[:5]))
    rows = []
    for video_id in sorted(set(events) & set(split_of)):
        seconds = [sorted({r["category"] for r in events[video_id] if r["start"] <= s < r["end"]})
                   for s in range(AVE_SECONDS)]
        rows.append({"clip_id": video_id, "video_path": str(folder / "AVE" / f"{video_id}.mp4"),
                     "split": split_of[video_id], "tags": ";".join(sorted({r["category"] for r in events[video_id]})),
                     "tags_per_second": "|".join(";".join(tags) for tags in seconds)})
    return _frame(rows)


def _ave_splits(folder: Path) -> dict[str, str]:
    """{video_id: split}; a video in several files takes the later of train < val < test."""
    split_of: dict[str, str] = {}
    for split, name in AVE_SPLIT_FILES.items():
        path = folder / name
        if not path.is_file():
            raise BadInput(path, f"AVE {split} split file not found (AVE ships {', '.join(AVE_SPLIT_FILES.values())})")
        split_of |= {rec["video_id"]: split for rec in _ave_records(path)}
    return split_of


def _ave_records(path: Path) -> list[dict]:
    records = []
    for number, line in enumerate(path.read_text().splitlines()):
        fields = line.strip().split("&")
        if number == 0 and fields[0] == "Category" or not line.strip():
            continue
        if len(fields) != 5:
            raise BadInput(path, f"line {number + 1}: expected Category&VideoID&Quality&StartTime&EndTime")
        try:
            start, end = int(fields[3]), int(fields[4])
        except ValueError:
            raise BadInput(path, f"line {number + 1}: start/end seconds {fields[3]!r}, {fields[4]!r} are not "
                                 "whole numbers") from None
        records.append({"category": fields[0], "video_id": fields[1], "start": start, "end": end})
    return records


# ---------------------------------------------------------------------------------------------------------------------
# AudioSet-instrument


def audioset_instrument_manifest(root: str | None, train_tags: str | None, test_tags: str | None,
                                 val_fraction: float = default("datasets.<name>.val_fraction"),
                                 seed: int = default("seed"),
                                 key: str = "datasets.audioset_instrument") -> pd.DataFrame:
    """AudioSet-instrument: `<video_id>.mp4` clips + the reference's `{video_id: 15-dim multi-hot}` tag pickles,
    one per split (`train_audio.pkl` trains, `val_audio.pkl` is the test set of `normav.json`)."""
    folder = _root(root, f"{key}.root")
    tables = {split: _tag_table(path, f"{key}.{split}_tags") for split, path in
              (("train", train_tags), ("test", test_tags))}
    both = sorted(set(tables["train"]) & set(tables["test"]))
    if both:
        log.warning("AudioSet-instrument: %d clip(s) in both tag pickles are tested only (first: %s)", len(both),
                    ", ".join(both[:5]))
    tags = tables["train"] | tables["test"]
    ids = sorted(tags)
    splits = assign_splits(ids, set(tables["test"]), val_fraction, seed)
    videos = _by_stem(folder, VIDEO_SUFFIXES)
    return _frame([{"clip_id": i, "video_path": str(videos.get(i, folder / f"{i}.mp4")), "split": s,
                    "tags": ";".join(n for n, v in zip(AUDIOSET_INSTRUMENTS, tags[i]) if v > 0)}
                   for i, s in zip(ids, splits)])


def _tag_table(path: str | None, key: str) -> dict[str, np.ndarray]:
    if not path or not Path(path).is_file():
        raise ConfigError(key, f"tag pickle {path!r} not found")
    table = read_pickle(path, "AudioSet-instrument tag pickle")
    if not isinstance(table, dict) or not table:
        raise BadInput(path, "expected a non-empty dict {video_id: 15-dim multi-hot}")
    vectors = {}
    for video_id, vector in table.items():
        vector = np.asarray(vector, dtype=np.float64).reshape(-1)
        if vector.size != len(AUDIOSET_INSTRUMENTS):
            raise BadInput(path, f"{video_id}: tag vector has {vector.size} entries, expected 15")
        vectors[str(video_id)] = vector
    return vectors


# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetKind:
    """A `datasets.<name>.kind`: how its manifest is built from the dataset's config block, and what it needs."""

    name: str
    # (settings, config key `datasets.<name>`, seed) -> manifest; None: the workflow builds the data (scenes)
    manifest: Callable[[dict, str, int], pd.DataFrame] | None = field(repr=False)
    # settings -> {key under datasets.<name>: value} of the files the dataset cannot run without
    required: Callable[[dict], dict] = field(repr=False, default=lambda settings: {})
    events: bool = False  # without test boxes it is scored on its event labels (events.txt)
    test_audio: bool = False  # honours `test_audio` (whole_file: the reference's Flickr test loader)

    @property
    def built_in(self) -> bool:
        """The workflow makes its data itself (the scenes): no adapter, no user files."""
        return self.manifest is None


DATASET_KINDS: Registry[DatasetKind] = Registry("dataset kind", "datasets.<ds>.kind")


def _flickr(settings: dict, key: str, seed: int) -> pd.DataFrame:
    test_ids = flickr_test_ids(settings.get("annotations") or {}, key)
    return flickr_manifest(settings.get("root"), test_ids, settings["val_fraction"], seed, key=f"{key}.root")


def _flickr_files(settings: dict) -> dict:
    """The root, and the test list: `annotations.split`, else the stems of the XML annotations' folder."""
    annotations = settings.get("annotations") or {}
    fmt = annotations.get("format")
    from_xml = fmt in ANNOTATION_FORMATS and "xml_dir" in ANNOTATION_FORMATS.get(fmt).keys
    test_list = "xml_dir" if from_xml and not annotations.get("split") else "split"
    return {"root": settings.get("root"), f"annotations.{test_list}": annotations.get(test_list)}


def _audioset_instrument(settings: dict, key: str, seed: int) -> pd.DataFrame:
    return audioset_instrument_manifest(settings.get("root"), settings.get("train_tags"), settings.get("test_tags"),
                                        settings["val_fraction"], seed, key=key)


def _manifest(settings: dict, key: str, seed: int) -> pd.DataFrame:
    from msl_core.manifest import load_manifest

    return load_manifest(_manifest_path(settings, key))


for _kind in (
    DatasetKind("scenes", None),
    DatasetKind("flickr", _flickr, _flickr_files, test_audio=True),
    DatasetKind("ave", lambda settings, key, seed: ave_manifest(settings.get("root"), key=f"{key}.root"),
                lambda settings: {"root": settings.get("root")}, events=True),
    DatasetKind("audioset_instrument", _audioset_instrument,
                lambda settings: {key: settings.get(key) for key in ("root", "train_tags", "test_tags")}),
    DatasetKind("manifest", _manifest, lambda settings: {"manifest": settings.get("manifest")}),
):
    DATASET_KINDS.register(_kind)


def build_manifest(dataset: str, settings: dict, seed: int = 0) -> pd.DataFrame:
    """The manifest of the dataset's config block, by its `kind`."""
    key = f"datasets.{dataset}"
    kind = DATASET_KINDS.get(settings.get("kind"), f"{key}.kind")
    if kind.built_in:
        raise ConfigError(f"{key}.kind", f"no adapter for kind {kind.name!r}: the workflow builds it")
    return kind.manifest(settings, key, seed)


def _manifest_path(settings: dict, key: str) -> Path:
    path = settings.get("manifest")
    if not path or not Path(path).is_file():
        raise ConfigError(f"{key}.manifest", f"manifest CSV {path!r} not found")
    return Path(path)


def check_splits(manifest: pd.DataFrame, dataset: str, skip_bad_inputs: bool = False) -> list[str]:
    """Planning-time checks of a manifest. An empty train or test split is named (training, resp. scoring, will
    stop on it; labels and proposals still run). Every listed clip must have its media: with `skip_bad_inputs`,
    missing ones are left to `index`, which rejects and lists them. Returns the warnings to show."""
    counts = split_counts(manifest)
    warnings = [f"dataset '{dataset}': the {split} split is empty ({describe(counts, 'clips')}); "
                f"{'training' if split == 'train' else 'scoring'} needs it" for split in ("train", "test")
                if counts[split] == 0]
    missing = missing_media(manifest)
    if not missing:
        return warnings
    by_split = manifest.set_index("clip_id").loc[missing, "split"].value_counts().to_dict()
    text = (f"dataset '{dataset}': {len(missing)} listed clip(s) have no media ({by_split}); first: "
            f"{', '.join(missing[:10])}")
    if not skip_bad_inputs:
        raise MslError(text + " (set skip_bad_inputs: true to run without them; they go to rejected.csv)")
    return [*warnings, text + "; skipped (skip_bad_inputs), listed in rejected.csv"]
