"""Localisation over a dataset split → maps.h5 (docs/architecture.md), via `models.localization.localize_batch`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from msl_core.errors import BadInput, ConfigError
from msl_core.models.localization import LocalizationConfig, localize_batch
from msl_core.stores.frames import RepeatedFrames
from msl_core.stores.logmel import WholeFileAudio
from msl_core.stores.maps import localize_layout, maps_writer
from msl_core.stores.proposals import ProposalsStore
from msl_core.training.data import check_media, read_index, split_rows
from msl_core.training.model_file import load_model

log = logging.getLogger(__name__)


def write_maps(frames: str | Path, logmel: str | Path, index: str | Path, stage1_model: str | Path,
               stage2_model: str | Path, out: str | Path, cfg: LocalizationConfig,
               device: torch.device | None = None, batch_size: int = 16, split: str = "test",
               progress: bool = True, whole_file_audio: str | Path | None = None,
               proposals: str | Path | None = None) -> int:
    """Write maps for the rows of `split` to `out` (see the module doc); returns the number of rows M.

    With `whole_file_audio` (logmel_test.h5), each row hears its whole peak-normalised recording, as the
    reference's Flickr test (docs/method.md §5.1), instead of its training window; rows then go one by one (their
    lengths differ). `proposals` (proposals.h5, rows as frames.h5) is read when `cfg.snap` asks for it."""
    device = device or torch.device("cpu")
    frames, logmel, index, out = Path(frames), Path(logmel), Path(index), Path(out)
    frame_store, logmel_store = check_media(frames, logmel)
    table = read_index(index, len(frame_store))
    for col in ("clip_id", "second"):
        if col not in table.columns:
            raise BadInput(index, f"has no '{col}' column")
    rows = split_rows(table, index, split)
    stage1, stage2 = load_model(stage1_model, device), load_model(stage2_model, device)
    if stage1.cfg.num_classes != stage2.cfg.num_classes:
        raise BadInput(stage2_model, f"has {stage2.cfg.num_classes} classes, {Path(stage1_model).name} has "
                                     f"{stage1.cfg.num_classes}")
    m, c, s = len(rows), stage2.cfg.num_classes, cfg.output_size
    boxes = frame_proposals(proposals, len(frame_store)) if cfg.snap == "proposals" else None
    attrs = {"reference_double_sigmoid": cfg.reference_double_sigmoid, "class_threshold": cfg.class_threshold,
             "test_audio": "whole_file" if whole_file_audio else "window"}
    categories = list(stage2.cfg.categories) or [str(i) for i in range(c)]
    audio = WholeFileAudio(whole_file_audio) if whole_file_audio else None
    pixels, sounds = frame_store.rows("frames"), logmel_store.rows("logmel")
    step = 1 if audio else batch_size
    with maps_writer(out, table.iloc[rows].assign(row=rows), localize_layout(c, s), categories, attrs) as dsets:
        for start in tqdm(range(0, m, step), desc="localize", file=sys.stderr, disable=not progress,
                          mininterval=2.0):
            sel = rows[start : start + step]  # increasing: rows come from np.flatnonzero
            pictures, frame_of_row = distinct_pictures(pixels.read(sel))
            x = stage2.prepare_frames(torch.from_numpy(pictures).to(device))
            a = audio.read_row(int(sel[0]))[None] if audio else sounds.read(sel).astype(np.float32, copy=False)
            a = torch.from_numpy(a).to(device)
            near = (torch.from_numpy(boxes[0].read(sel)), torch.from_numpy(boxes[1].read(sel))) if boxes else None
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                maps = localize_batch(stage2, x, a, cfg, stage1=stage1, proposals=near,
                                      frame_of_row=torch.from_numpy(frame_of_row).to(device))
            for key, dset in dsets.items():
                dset[start : start + len(sel)] = maps[key].float().cpu().numpy().astype(dset.dtype)
    log.info("wrote %d %s maps (%d categories, %d×%d) to %s", m, split, c, s, s, out)
    return m


def distinct_pictures(pictures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A batch's frames (N, H, W, 3) → its distinct pictures, each once (a lone one twice: the vision network never
    sees one frame alone, so each gets the numbers it gets in any batch, msl_core.training.trunk_cache BATCH), and
    (N,) the index of each row's picture among them. A static shot's rows share one picture."""
    first = RepeatedFrames().sources(np.arange(len(pictures)), pictures)
    distinct, frame_of_row = np.unique(first, return_inverse=True)
    return pictures[np.repeat(distinct, 2) if len(distinct) == 1 else distinct], frame_of_row.reshape(-1)


def frame_proposals(path: str | Path | None, n_rows: int):
    """Row readers of proposals.h5's boxes and objectness, checked against the frames' row count."""
    if path is None:
        raise ConfigError("evaluate.snap", "'proposals' needs the frames' proposals.h5")
    store = ProposalsStore(path).for_frames(n_rows)
    return store.rows("boxes"), store.rows("scores")
