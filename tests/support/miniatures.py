"""Miniatures of the real raw layouts (SoundNet-Flickr, AVE, AudioSet-instrument, a user manifest), made from the
tiny built-in scenes: real photographed objects with their real recorded sounds, and their true boxes.

Each builder writes the files a user of that dataset has (same names, folders and formats as the distributed ones)
and returns the config block to point msl at them plus what the run must find (split ids, scorable items).
"""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.adapters import AUDIOSET_INSTRUMENTS
from msl_core.teachers.categories import read_scene_classes

HEADER = "Category&VideoID&Quality&StartTime&EndTime\n"


@dataclass
class Demo:
    """The tiny scenes: videos, manifest rows and every clip's per-second boxes (sounding and silent)."""

    folder: Path
    manifest: pd.DataFrame
    size: tuple[int, int]  # width, height
    sounding: dict[tuple[str, int], list[tuple[str, list[float]]]] = field(default_factory=dict)
    silent: dict[tuple[str, int], list[tuple[str, list[float]]]] = field(default_factory=dict)

    def video(self, clip_id: str) -> Path:
        return self.folder / "videos" / f"{clip_id}.mp4"

    def seconds(self, clip_id: str) -> int:
        return len(self.manifest.set_index("clip_id").loc[clip_id, "tags_per_second"].split("|"))


def build_demo(folder: Path, msl: Path, config: Path) -> Demo:
    subprocess.run([str(msl), "scenes", "build", "--preset", "tiny", "--out", str(folder), "--config", str(config)],
                   check=True, capture_output=True)
    manifest = pd.read_csv(folder / "videos" / "manifest.csv", dtype=str, keep_default_na=False)
    scenes = manifest[manifest["clip_id"].str.fullmatch(r"scene_\d+")]  # not the protocol probes (silence, noise…)
    demo = Demo(folder, scenes.reset_index(drop=True), (0, 0))
    for path in sorted((folder / "annotations").glob("*.json")):
        coco = json.loads(path.read_text())
        if "images" not in coco:
            continue
        names = {c["id"]: c["name"] for c in coco["categories"]}
        images = {im["id"]: im for im in coco["images"]}
        for im in coco["images"]:
            key = (im["clip_id"], int(im["second"]))
            demo.size = (im["width"], im["height"])
            demo.sounding.setdefault(key, [])
            demo.silent[key] = [(names[o["category_id"]], o["bbox"]) for o in im.get("silent_objects", [])]
        for ann in coco["annotations"]:
            im = images[ann["image_id"]]
            demo.sounding[(im["clip_id"], int(im["second"]))].append((names[ann["category_id"]], ann["bbox"]))
    return demo


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *args], check=True)


# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class Miniature:
    settings: dict  # the datasets.<name> config block
    test_ids: list[str]
    train_ids: list[str]  # train + val
    n_items: int  # items the protocol scores (or event seconds, for AVE)


def flickr(demo: Demo, root: Path, test_clips: list[str]) -> Miniature:
    """SoundNet-Flickr: `Data/<digit>/<flickr id>.jpg` + `.wav` pairs, the reference's `gtdata.pkl` (1-based
    xmin, ymin, xmax, ymax strings on the 256×256 image) and `gtest.txt` (`<id>.png` per line)."""
    width, height = demo.size
    ids = {clip: str(10000130166 + 977 * k) for k, clip in enumerate(demo.manifest["clip_id"])}
    gtdata = {}
    for k, (clip, fid) in enumerate(ids.items()):
        folder = root / "Data" / fid[-1]
        folder.mkdir(parents=True, exist_ok=True)
        _ffmpeg("-i", str(demo.video(clip)), "-frames:v", "1", "-q:v", "2", str(folder / f"{fid}.jpg"))
        _ffmpeg("-i", str(demo.video(clip)), "-vn", "-ac", "1", "-ar", "44100", str(folder / f"{fid}.wav"))
        if clip in test_clips:
            boxes = [[x * 256 / width + 1, y * 256 / height + 1, (x + w) * 256 / width, (y + h) * 256 / height]
                     for _, (x, y, w, h) in demo.sounding[(clip, 0)]]
            gtdata[k] = {"visual": f"./Dataset/Data/{fid[-1]}/{fid}.jpg", "audio": f"./Dataset/Data/{fid[-1]}/{fid}.wav",
                         "anno": np.array([[str(round(v)) for v in b] for b in boxes]),
                         "roi": np.zeros((8, 4), np.float32)}
    (root / "gtdata.pkl").write_bytes(pickle.dumps(gtdata))
    test_ids = [ids[c] for c in test_clips]
    (root / "gtest.txt").write_text("".join(f"{i}.png\n" for i in test_ids))
    settings = {"root": str(root), "window_s": 2.0,
                "annotations": {"format": "flickr-gtdata", "gtdata": str(root / "gtdata.pkl"),
                                "split": str(root / "gtest.txt")}}
    n_items = sum(1 for c in test_clips if demo.sounding[(c, 0)])
    return Miniature(settings, test_ids, [ids[c] for c in ids if c not in test_clips], n_items)


def ave(demo: Demo, root: Path, test_clips: list[str], val_clips: list[str]) -> Miniature:
    """AVE: `AVE/<video id>.mp4`, `Annotations.txt` and the three split files (`Category&VideoID&Quality&Start&End`).
    A clip's event is the AudioSet class of the first object heard, over the first run of seconds it sounds."""
    (root / "AVE").mkdir(parents=True)
    audioset_class = read_scene_classes().set_index("class")["audioset_class"]
    lines, n_event_seconds = {"train": [], "val": [], "test": []}, 0
    for clip, per_second in zip(demo.manifest["clip_id"], demo.manifest["tags_per_second"]):
        video_id = f"v{clip[-4:]}AVEx{clip[-2:]}"[:11]
        shutil.copy(demo.video(clip), root / "AVE" / f"{video_id}.mp4")
        heard = [set(s.split(";")) - {""} for s in per_second.split("|")]
        source = min(heard[0])
        start = 0
        end = next((s for s in range(len(heard)) if source not in heard[s]), len(heard))
        split = "test" if clip in test_clips else "val" if clip in val_clips else "train"
        lines[split].append(f"{audioset_class[source]}&{video_id}&good&{start}&{end}\n")
        if split == "test":
            n_event_seconds += end - start
    (root / "Annotations.txt").write_text(HEADER + "".join(lines["train"] + lines["val"] + lines["test"]))
    for split, name in (("train", "trainSet.txt"), ("val", "valSet.txt"), ("test", "testSet.txt")):
        (root / name).write_text(HEADER + "".join(lines[split]))
    ids = [line.split("&")[1] for split in lines for line in lines[split]]
    test_ids = [line.split("&")[1] for line in lines["test"]]
    return Miniature({"root": str(root)}, test_ids, [i for i in ids if i not in test_ids], n_event_seconds)


def audioset_instrument(demo: Demo, root: Path, test_clips: list[str]) -> Miniature:
    """AudioSet-instrument: `<youtube id>.mp4` clips, `train_audio.pkl` / `val_audio.pkl` ({id: 15-dim multi-hot}),
    and `normav.json` (COCO-like; image_id = 10·clip index + frame, clip index = position in the sorted keys of
    val_audio.pkl; bbox = [x, y, w, h] divided by the frame's width and height). Each scene class plays one instrument."""
    root.mkdir(parents=True)
    classes = list(read_scene_classes()["class"])
    instrument = {c: AUDIOSET_INSTRUMENTS[[0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12][k]] for k, c in enumerate(classes)}
    ids = {clip: f"{clip[-4:]}YouTube"[:11] for clip in demo.manifest["clip_id"]}
    tables = {"train": {}, "test": {}}
    for clip, tags in zip(demo.manifest["clip_id"], demo.manifest["tags"]):
        shutil.copy(demo.video(clip), root / f"{ids[clip]}.mp4")
        vector = np.zeros(15)
        vector[[AUDIOSET_INSTRUMENTS.index(instrument[t]) for t in tags.split(";")]] = 1.0
        tables["test" if clip in test_clips else "train"][ids[clip]] = vector
    (root / "train_audio.pkl").write_bytes(pickle.dumps(tables["train"]))
    (root / "val_audio.pkl").write_bytes(pickle.dumps(tables["test"]))
    width, height = demo.size
    images, annotations, n_items = [], [], 0
    by_id = {ids[c]: c for c in test_clips}
    for clip_index, video_id in enumerate(sorted(tables["test"])):
        clip = by_id[video_id]
        tagged = {instrument[t] for t in demo.manifest.set_index("clip_id").loc[clip, "tags"].split(";")}
        for second in range(demo.seconds(clip)):
            objects = [(instrument[name], box) for name, box in demo.sounding[(clip, second)] + demo.silent[(clip, second)]
                       if instrument[name] in tagged]
            if not objects:
                continue
            image_id = 10 * clip_index + second
            images.append({"id": image_id, "width": width, "height": height})
            for name, (x, y, w, h) in objects:
                annotations.append({"image_id": image_id, "id": len(annotations), "iscrowd": 0,
                                    "category_id": AUDIOSET_INSTRUMENTS.index(name), "segmentation": [[0.0]],
                                    "bbox": [x / width, y / height, w / width, h / height], "area": float(w * h)})
            n_items += len({name for name, _ in objects}) == 2  # the protocol scores two-class frames only
    normav = {"categories": [{"id": i, "name": n} for i, n in enumerate(AUDIOSET_INSTRUMENTS)], "images": images,
              "annotations": annotations}
    (root / "normav.json").write_text(json.dumps(normav))
    settings = {"root": str(root), "train_tags": str(root / "train_audio.pkl"),
                "test_tags": str(root / "val_audio.pkl"),
                "annotations": {"format": "audioset-instrument", "normav": str(root / "normav.json")}}
    return Miniature(settings, sorted(tables["test"]), sorted(tables["train"]), n_items)


def two_class_frames(demo: Demo, clip: str) -> int:
    """Seconds of a clip in which two classes are visible (AudioSet-instrument scores only those)."""
    return sum(len({n for n, _ in demo.sounding[(clip, s)] + demo.silent[(clip, s)]}) >= 2
               for s in range(demo.seconds(clip)))


def manifest(demo: Demo, root: Path, test_clips: list[str]) -> Miniature:
    """A user's own data: `manifest.csv` (clip_id, video_path, split, tags, tags_per_second) and COCO test boxes
    carrying `clip_id` and `second` (the format `msl convert-annotations` writes)."""
    root.mkdir(parents=True)
    table = demo.manifest.copy()
    table["video_path"] = [str(demo.video(c)) for c in table["clip_id"]]
    table["split"] = ["test" if c in test_clips else "train" for c in table["clip_id"]]
    table[["clip_id", "video_path", "split", "tags", "tags_per_second"]].to_csv(root / "manifest.csv", index=False)
    names = sorted(read_scene_classes()["class"])
    images, annotations, n_items = [], [], 0
    width, height = demo.size
    for clip in test_clips:
        for second in range(demo.seconds(clip)):
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": f"{clip}/{second:04d}", "width": width, "height": height,
                           "clip_id": clip, "second": second})
            for name, box in demo.sounding[(clip, second)]:
                annotations.append({"id": len(annotations) + 1, "image_id": image_id, "iscrowd": 0,
                                    "category_id": names.index(name) + 1, "bbox": box, "area": box[2] * box[3]})
            n_items += bool(demo.sounding[(clip, second)])
    coco = {"images": images, "annotations": annotations,
            "categories": [{"id": k + 1, "name": n} for k, n in enumerate(names)]}
    (root / "test.json").write_text(json.dumps(coco))
    settings = {"kind": "manifest", "manifest": str(root / "manifest.csv"), "window_s": 1.0, "categories": "tags",
                "protocol": "multi-source", "annotations": {"format": "coco", "coco": str(root / "test.json")}}
    train = [c for c in table["clip_id"] if c not in test_clips]
    return Miniature(settings, test_clips, train, n_items)


def vggss(demo: Demo, root: Path, test_clips: list[str]) -> Miniature:
    """VGG-SS as LVS / EZ-VSL distribute its test set: a frame (`frames/<file>.jpg`) and a recording
    (`audio/<file>.wav`) per clip, listed in a user manifest with their tags, `vggss.json` (`[{file, class, bbox:
    [[x1, y1, x2, y2], …]}]`, corners normalised to [0, 1]) and the csv test list (`vggss_test.csv`, one id a line)."""
    width, height = demo.size
    (root / "frames").mkdir(parents=True)
    (root / "audio").mkdir()
    rows, boxes = [], []
    for clip, tags in zip(demo.manifest["clip_id"], demo.manifest["tags"]):
        image, audio = root / "frames" / f"{clip}.jpg", root / "audio" / f"{clip}.wav"
        _ffmpeg("-i", str(demo.video(clip)), "-frames:v", "1", "-q:v", "2", str(image))
        _ffmpeg("-i", str(demo.video(clip)), "-vn", "-ac", "1", "-ar", "16000", str(audio))
        split = "test" if clip in test_clips else "train"
        rows.append({"clip_id": clip, "image_path": str(image), "audio_path": str(audio), "split": split,
                     "tags": tags})
        sounding = demo.sounding[(clip, 0)]
        if split == "test" and sounding:
            boxes.append({"file": clip, "class": sounding[0][0],
                          "bbox": [[x / width, y / height, (x + w) / width, (y + h) / height]
                                   for _, (x, y, w, h) in sounding]})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    (root / "vggss.json").write_text(json.dumps(boxes))
    (root / "vggss_test.csv").write_text("".join(f"{clip}\n" for clip in test_clips))
    settings = {"kind": "manifest", "manifest": str(root / "manifest.csv"), "window_s": 2.0, "categories": "tags",
                "protocol": "flickr", "annotations": {"format": "vggss", "source": str(root / "vggss.json"),
                                                      "split": str(root / "vggss_test.csv")}}
    return Miniature(settings, test_clips, [c for c in demo.manifest["clip_id"] if c not in test_clips], len(boxes))
