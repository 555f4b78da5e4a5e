"""Manifests (one row per clip) and the index (one row per frame + audio window), the row order of every HDF5 file.

A manifest row is a video (`video_path`) or a Flickr-style pair (`image_path` + `audio_path`). The index splits each
clip into consecutive windows of `window_s` seconds; row k of a clip pairs the frame shown at `start_s + k·window_s`
with the audio window that starts there. `ingest` decides which clips exist and writes the index with the stores.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from msl_core.errors import BadInput, MslError

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ["clip_id", "video_path", "image_path", "audio_path", "split", "start_s", "tags",
                    "tags_per_second", "visible_per_second"]
INDEX_COLUMNS = ["row", "clip_id", "second", "split", "start_s", "window_s", "video_path", "image_path",
                 "audio_path", "tags", "visible"]
SPLITS = ("train", "val", "test")


def load_manifest(path: str | Path) -> pd.DataFrame:
    """Read and check a manifest CSV; relative media paths resolve against the manifest's folder."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, "manifest not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except UnicodeDecodeError as exc:
        raise BadInput(path, f"not UTF-8 text (byte {exc.start}): save the manifest as UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise BadInput(path, f"not a readable CSV ({exc})") from None
    if "clip_id" not in frame or "split" not in frame:
        raise BadInput(path, f"manifest needs columns clip_id and split, has {list(frame.columns)}")
    for column in MANIFEST_COLUMNS:
        if column not in frame:
            frame[column] = ""
    bad_split = [f"row {row}: {value!r}" for row, value in enumerate(frame["split"], start=2) if value not in SPLITS]
    if bad_split:
        raise BadInput(path, f"column split: unknown value(s) at {', '.join(bad_split[:5])}; expected one of {SPLITS}")
    repeated = frame["clip_id"].duplicated(keep=False).to_numpy()
    duplicated = [f"row {row}: {value!r}" for row, (value, again) in enumerate(zip(frame["clip_id"], repeated), start=2)
                  if again]
    if duplicated:
        raise BadInput(path, f"column clip_id: duplicate id(s) at {', '.join(duplicated[:6])}")
    for column in ("video_path", "image_path", "audio_path"):
        frame[column] = [_resolve(p, path.parent) for p in frame[column]]
    neither = frame[(frame["video_path"] == "") & ((frame["image_path"] == "") | (frame["audio_path"] == ""))]
    if len(neither):
        raise BadInput(path, f"row(s) for clip(s) {neither['clip_id'].tolist()[:5]} have neither video_path "
                             "nor image_path + audio_path")
    frame["start_s"] = [_seconds(value, path, row) for row, value in enumerate(frame["start_s"], start=2)]
    return frame[MANIFEST_COLUMNS]


def _seconds(value: str, path: Path, row: int) -> float:
    """A non-negative number of seconds (empty: 0); `row` is the CSV line (the header is line 1)."""
    try:
        seconds = float(value) if value else 0.0
    except ValueError:
        raise BadInput(path, f"row {row}, column start_s: {value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise BadInput(path, f"row {row}, column start_s: {value!r} is not a non-negative number of seconds")
    return seconds


def _resolve(value: str, base: Path) -> str:
    if not value:
        return ""
    candidate = Path(value)
    return str(candidate if candidate.is_absolute() else (base / candidate))


@dataclass
class Rejection:
    clip_id: str
    path: str
    reason: str


def clip_rows(clip: pd.Series, n: int, window_s: float) -> list[dict]:
    """The index rows of a clip with `n` whole windows (without the `row` number)."""
    per_second = clip["tags_per_second"]
    return [{
        "clip_id": clip["clip_id"],
        "second": round(k * window_s),
        "split": clip["split"],
        "start_s": clip["start_s"] + k * window_s,
        "window_s": window_s,
        "video_path": clip["video_path"],
        "image_path": clip["image_path"],
        "audio_path": clip["audio_path"],
        "tags": _per_second(per_second, k) if per_second else clip["tags"],
        "visible": _per_second(clip["visible_per_second"], k),
    } for k in range(n)]


def _per_second(value: str, k: int) -> str:
    parts = value.split("|") if value else []
    return parts[k] if k < len(parts) else ""


def finish_index(rows: list[dict], rejected: list[Rejection], skip_bad_inputs: bool,
                 require_rows: bool = True) -> pd.DataFrame:
    """The index of the usable clips' rows, numbered. Without `skip_bad_inputs` any rejection stops the run with
    one `MslError` naming every bad clip, one line each, so they are fixed in one round. A shard of a dataset may
    hold no usable clip (`require_rows=False`); a dataset must hold one."""
    if rejected and not skip_bad_inputs:
        lines = "\n".join(f"  {r.path}: {r.reason}" for r in rejected)
        raise MslError(f"{len(rejected)} unusable clip(s) (or set skip_bad_inputs: true to list them in "
                       f"rejected.csv and go on):\n{lines}")
    if not rows and require_rows:
        raise MslError(f"no usable clip in the manifest ({len(rejected)} rejected)")
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS[1:])
    index.insert(0, "row", range(len(index)))
    return index


def write_index(index: pd.DataFrame, rejected: list[Rejection], index_path: str | Path,
                rejected_path: str | Path) -> None:
    index.to_csv(index_path, index=False)
    pd.DataFrame([vars(r) for r in rejected], columns=["clip_id", "path", "reason"]).to_csv(rejected_path, index=False)


def read_index(path: str | Path) -> pd.DataFrame:
    index = pd.read_csv(path, dtype={"clip_id": str, "tags": str, "visible": str, "video_path": str,
                                     "image_path": str, "audio_path": str}, keep_default_na=False)
    missing = set(INDEX_COLUMNS) - set(index.columns)
    if missing:
        raise BadInput(path, f"index lacks columns {sorted(missing)}")
    return index

