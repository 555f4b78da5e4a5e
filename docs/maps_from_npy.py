"""Write another model's heat maps as a maps.h5 that `msl evaluate --protocol …` scores.

    python docs/maps_from_npy.py HEATMAPS_DIR maps.h5 [--size 224]

HEATMAPS_DIR holds one 2-D `.npy` array per item, the model's raw (un-normalised) localisation scores:
`<clip_id>.npy` (second 0: Flickr, VGG-SS, IS3 items) or `<clip_id>/<second>.npy` (videos). The clip ids are the
`clip_id`s of the COCO annotations (`msl convert-annotations` prints them; negatives of SLAVC's lists are
`<video>@<audio>` when the audio is another clip's). Each map is resized (bilinear) to size×size and written as:

- `stage2`      (M, S, S) float32: the map min-max normalised to [0, 1] (what every top-half rule sees);
- `stage2_raw`  (M, S, S) float32: the map as the model gave it (SLAVC's confidence and PIA need its scale);
- `clip_id` (str), `second` (int32): the keys that match COCO images (`split` = test); attr `categories` = [] (no
  class maps; class-aware protocols, dsol and tvsl, also need `stage2_class` (M, C, S, S) with `categories` naming C).

It writes through msl's own maps.h5 writer (`msl_core.stores.maps.write_maps`), so run it where msl is installed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from msl_core.stores.maps import write_maps


def read_maps(folder: Path, size: int) -> tuple[list[str], list[int], np.ndarray]:
    keys, maps = [], []
    for path in sorted(folder.rglob("*.npy")):
        relative = path.relative_to(folder)
        clip, second = (relative.parent.as_posix(), int(path.stem)) if relative.parent != Path(".") else (path.stem, 0)
        heat = np.load(path, allow_pickle=False).astype(np.float32)
        if heat.ndim != 2 or not np.isfinite(heat).all():
            raise SystemExit(f"{path}: expected a finite 2-D heat map, got shape {heat.shape}")
        resized = F.interpolate(torch.from_numpy(heat)[None, None], size=(size, size), mode="bilinear",
                                align_corners=False)
        keys.append((clip, second))
        maps.append(resized[0, 0].numpy())
    if not maps:
        raise SystemExit(f"{folder}: no .npy heat maps")
    return [c for c, _ in keys], [s for _, s in keys], np.stack(maps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("heatmaps", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    clips, seconds, raw = read_maps(args.heatmaps, args.size)
    low = raw.min(axis=(1, 2), keepdims=True)
    span = raw.max(axis=(1, 2), keepdims=True) - low
    items = pd.DataFrame({"clip_id": clips, "second": seconds, "split": "test"})
    normalised = np.where(span > 0, (raw - low) / np.where(span > 0, span, 1.0), 0.0).astype(np.float32)
    write_maps(args.out, items, {"stage2": normalised, "stage2_raw": raw}, categories=[])
    print(f"{args.out}: {len(clips)} maps, {args.size}x{args.size}")


if __name__ == "__main__":
    main()
