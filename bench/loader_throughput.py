"""Batch reads of a frames store: the training loader's reader (`stores.hdf5.read_rows`, contiguous runs) against h5py's
fancy indexing of the same sorted rows and against plain row-by-row reads (the storage's own speed).

    .venv/bin/python bench/loader_throughput.py --rows 400 --batches 30

Last line: `loader_read_efficiency: <loader rows/s ÷ row-by-row rows/s>` (≥ 0.9 means the loader reads at the
storage's speed).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from msl_core.stores.hdf5 import read_rows


def rate(read, batches: list[np.ndarray]) -> float:
    start = time.perf_counter()
    for rows in batches:
        read(rows)
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--compression", default="lzf", choices=["lzf", "none"])
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frames.h5"
        with h5py.File(path, "w") as h5:  # the layout of the frames rule: one chunk per row
            h5.create_dataset("frames", data=rng.integers(0, 256, (args.rows, 256, 256, 3), dtype=np.uint8),
                              chunks=(1, 256, 256, 3), compression=None if args.compression == "none" else "lzf")
        batches = [rng.permutation(args.rows)[: args.batch_size] for _ in range(args.batches)]
        with h5py.File(path, "r") as h5:
            data = h5["frames"]
            by_row = rate(lambda rows: [data[int(r)] for r in rows], batches)
            fancy = rate(lambda rows: data[np.sort(rows)], batches)
            loader = rate(lambda rows: read_rows(data, rows), batches)
    print(f"rows {args.rows}, batch {args.batch_size}, {args.batches} batches, compression {args.compression}")
    print(f"row_by_row_rows_per_s: {by_row:.0f}")
    print(f"fancy_index_rows_per_s: {fancy:.0f}")
    print(f"loader_rows_per_s: {loader:.0f}")
    print(f"loader_read_efficiency: {loader / by_row:.3f}")


if __name__ == "__main__":
    main()
