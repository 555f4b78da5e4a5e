"""The trainable tail of the demo's vision backbone (MobileNetV2 blocks 14-18 on a 16×16 grid), forward + backward:
its atrous blocks run on sub-grids (`AtrousBlock`, what the workflow trains) against the same blocks with their
convolutions dilated (the baseline, the same weights), alternating `--repeats` times; medians.

    .venv/bin/python bench/atrous_tail.py --threads 2

Last line: `atrous_tail_speedup: <dilated time ÷ sub-grid time>` (the outputs are checked equal, to rounding, first).
"""

from __future__ import annotations

import argparse
import statistics

import torch
from timing import timed

from msl_core.models.mobilenet_v2 import DILATED_BLOCKS, STRIDE_ONE_BLOCK, mobilenet_v2_features


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="forward + backward passes per timing")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    blocks = list(mobilenet_v2_features().train().features)[STRIDE_ONE_BLOCK:]
    x = torch.randn(args.batch, 96, 16, 16).contiguous(memory_format=torch.channels_last)

    def tail(sub_grids: bool) -> torch.Tensor:
        y = x
        for index, block in enumerate(blocks, STRIDE_ONE_BLOCK):
            y = block(y) if sub_grids or index not in DILATED_BLOCKS else block.dilated(y)
        return y

    with torch.no_grad():
        torch.testing.assert_close(tail(True), tail(False), rtol=1e-5, atol=1e-5)  # the same function

    def steps(sub_grids: bool) -> None:
        for _ in range(args.steps):
            tail(sub_grids).square().mean().backward()

    times = {True: [], False: []}
    for sub_grids in (True, False):  # warm-up
        steps(sub_grids)
    for _ in range(args.repeats):
        for sub_grids in (False, True):
            times[sub_grids].append(timed(lambda sub_grids=sub_grids: steps(sub_grids)) / args.steps)
    ours, base = statistics.median(times[True]), statistics.median(times[False])
    print(f"blocks {STRIDE_ONE_BLOCK}-{STRIDE_ONE_BLOCK + len(blocks) - 1}, batch {args.batch}, 16x16 grid, "
          f"threads {args.threads}: forward + backward {base * 1000:.0f} ms dilated, {ours * 1000:.0f} ms on sub-grids")
    print(f"atrous_tail_speedup: {base / ours:.2f}")


if __name__ == "__main__":
    main()
