"""Tux Paint stamps: obtaining Debian's `tuxpaint-stamps-default`, the stamp-to-class table, the catalogue, loading.

Each stamp is `<name>.png` (RGBA photo cut-out; alpha is an exact mask) + `<name>.ogg` (a recording of the object).
The package is GPL-2: it is fetched into a cache folder (or read from a folder the user names), never committed.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import librosa
import numpy as np
import pandas as pd

from msl_core.errors import BadInput, ConfigError
from msl_core.media import decode_audio

log = logging.getLogger(__name__)

PACKAGE = "tuxpaint-stamps-default"
PACKAGE_ROOT = Path("usr/share/tuxpaint/stamps")   # where the .deb puts the stamps
CATALOGUE_COLUMNS = ["stamp", "class", "audioset_class", "audioset_category", "png", "ogg", "width", "height",
                     "duration_s"]
TARGET_RMS = 0.1         # every recording is brought to -20 dBFS over its active part before the random gain
ACTIVE_FRACTION = 0.25   # a 1-s window counts as sounding when its RMS is at least this share of the active RMS


def class_table(path: str | Path | None = None) -> pd.DataFrame:
    """The stamp-to-class table (`msl_core/data/scene_classes.csv` unless `path`): stamp, path, class, AudioSet."""
    if path is None:
        path = resources.files("msl_core") / "data" / "scene_classes.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    needed = {"stamp", "path", "class", "audioset_class", "audioset_category"}
    if not needed <= set(table.columns):
        raise BadInput(path, f"class table needs columns {sorted(needed)}, has {list(table.columns)}")
    per_class = table.groupby("class", sort=False)["audioset_category"].nunique()
    if (per_class > 1).any():
        raise BadInput(path, f"class(es) {per_class[per_class > 1].index.tolist()} span several AudioSet categories")
    return table


def class_names(table: pd.DataFrame) -> list[str]:
    """Classes in order of first appearance in the table: the category order of every output."""
    return list(dict.fromkeys(table["class"]))


def coco_categories(table: pd.DataFrame) -> list[dict]:
    """COCO categories `{id, name, supercategory}`, ids from 1, supercategory = the AudioSet top-level category."""
    first = table.drop_duplicates("class")
    return [{"id": i + 1, "name": row["class"], "supercategory": row["audioset_category"]}
            for i, (_, row) in enumerate(first.iterrows())]


def obtain_stamps(stamps_dir: str | Path | None, cache_dir: str | Path, package: str = PACKAGE) -> Path:
    """The folder holding the stamp tree: `stamps_dir` when given, else the package unpacked into `cache_dir`.

    Downloads with `apt-get download` (no root needed) and unpacks with `dpkg-deb -x`, once; raises
    `ConfigError` naming both ways to provide the stamps when neither works.
    """
    if stamps_dir:
        root = Path(stamps_dir)
        if not root.is_dir():
            raise ConfigError("scenes.stamps_dir", f"{root} is not a folder; point it at an unpacked {package} "
                                                   f"stamp tree (e.g. /usr/share/tuxpaint/stamps) or set it to null "
                                                   f"to `apt-get download {package}` into scenes.cache_dir")
        return root
    unpack = Path(cache_dir) / "stamps" / "tree"
    root = unpack / PACKAGE_ROOT
    if (unpack / ".complete").is_file():
        return root
    deb = _download(package, Path(cache_dir) / "stamps" / "deb")
    if unpack.exists():
        shutil.rmtree(unpack)
    unpack.mkdir(parents=True)
    _run_tool(["dpkg-deb", "-x", str(deb), str(unpack)], package, cache_dir)
    (unpack / ".complete").touch()
    return root


def _download(package: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    debs = sorted(folder.glob(f"{package}_*.deb"))
    if not debs:
        _run_tool(["apt-get", "download", package], package, folder.parent.parent, cwd=folder)
        debs = sorted(folder.glob(f"{package}_*.deb"))
    if not debs:
        raise _unobtainable(package, folder.parent.parent, "apt-get download wrote no .deb")
    return debs[-1]


def _run_tool(command: list[str], package: str, cache_dir: str | Path, cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise _unobtainable(package, cache_dir, f"`{command[0]}` is not installed") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise _unobtainable(package, cache_dir, f"`{' '.join(command)}` failed: {last}")


def _unobtainable(package: str, cache_dir: str | Path, why: str) -> ConfigError:
    return ConfigError("scenes.stamps_dir", (
        f"is null and the Debian package {package} could not be obtained into scenes.cache_dir={cache_dir} ({why}). "
        f"Either make `apt-get download {package}` work (Debian/Ubuntu with network access), or set "
        f"scenes.stamps_dir to an unpacked stamp tree (e.g. /usr/share/tuxpaint/stamps after "
        f"`apt-get install {package}`, or DIR/{PACKAGE_ROOT} after `dpkg-deb -x {package}_*.deb DIR`)"))


def build_catalogue(root: str | Path, table: pd.DataFrame) -> pd.DataFrame:
    """One row per stamp of the class table with its PNG/OGG paths and sizes; `BadInput` naming missing files."""
    root = Path(root)
    rows, missing = [], []
    for _, entry in table.iterrows():
        png, ogg = root / f"{entry['path']}.png", root / f"{entry['path']}.ogg"
        absent = [str(p) for p in (png, ogg) if not p.is_file()]
        if absent:
            missing += absent
            continue
        height, width = cv2.imread(str(png), cv2.IMREAD_UNCHANGED).shape[:2]
        rows.append({"stamp": entry["stamp"], "class": entry["class"], "audioset_class": entry["audioset_class"],
                     "audioset_category": entry["audioset_category"], "png": str(png.resolve()),
                     "ogg": str(ogg.resolve()), "width": width, "height": height,
                     "duration_s": round(float(librosa.get_duration(path=str(ogg))), 4)})
    if missing:
        raise BadInput(root, f"not a {PACKAGE} stamp tree: {len(missing)} file(s) missing, e.g. {missing[:3]}")
    return pd.DataFrame(rows, columns=CATALOGUE_COLUMNS)


def read_catalogue(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, "stamp catalogue not found (run the `stamps` rule or `msl scenes stamps`)")
    return pd.read_csv(path, keep_default_na=False)


@dataclass
class Stamp:
    """A loaded stamp: RGBA cropped to its alpha box, and its recording trimmed and loudness-normalised."""

    name: str
    cls: str
    rgba: np.ndarray          # (H, W, 4) uint8
    audio: np.ndarray         # (T,) float32 at the dataset's sample rate, active RMS = TARGET_RMS
    active_starts: np.ndarray  # sample offsets of 1-s windows that really sound (all 0 for short recordings)


def load_stamp(row: pd.Series, sample_rate: int) -> Stamp:
    """Read one catalogue row's PNG (alpha-cropped) and OGG (decoded by ffmpeg, trimmed, normalised)."""
    rgba = cv2.imread(row["png"], cv2.IMREAD_UNCHANGED)
    if rgba is None or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise BadInput(row["png"], "expected an RGBA PNG (the alpha channel is the object mask)")
    rgba = cv2.cvtColor(rgba, cv2.COLOR_BGRA2RGBA)
    ys, xs = np.nonzero(rgba[..., 3] >= 128)
    if len(ys) == 0:
        raise BadInput(row["png"], "alpha channel is empty")
    rgba = np.ascontiguousarray(rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1])
    audio = decode_audio(row["ogg"], sample_rate)
    audio, _ = librosa.effects.trim(audio, top_db=40)
    if audio.size < sample_rate // 20:
        raise BadInput(row["ogg"], "recording is silent or shorter than 50 ms")
    audio = (audio * (TARGET_RMS / _active_rms(audio, sample_rate))).astype(np.float32)
    return Stamp(row["stamp"], row["class"], rgba, audio, _active_starts(audio, sample_rate))


def _frame_rms(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    hop = sample_rate // 20
    return librosa.feature.rms(y=audio, frame_length=2 * hop, hop_length=hop, center=True)[0]


def _active_rms(audio: np.ndarray, sample_rate: int) -> float:
    """RMS over the frames within 20 dB of the loudest: pauses between barks do not lower the level."""
    frames = _frame_rms(audio, sample_rate)
    active = frames[frames >= 0.1 * frames.max()]
    return float(np.sqrt(np.mean(active ** 2)))


def _active_starts(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Offsets (step 50 ms) of the 1-s windows whose RMS is at least ACTIVE_FRACTION of the target level."""
    if audio.size <= sample_rate:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, audio.size - sample_rate + 1, sample_rate // 20)
    power = np.concatenate([[0.0], np.cumsum(audio.astype(np.float64) ** 2)])
    rms = np.sqrt((power[starts + sample_rate] - power[starts]) / sample_rate)
    good = starts[rms >= ACTIVE_FRACTION * TARGET_RMS]
    return good if good.size else starts[[int(np.argmax(rms))]]
