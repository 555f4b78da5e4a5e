"""The README's still of `msl locate`: one frame of a demo overlay, from the workflow's own outputs.

    .venv/bin/python docs/locate_still.py results/scenes/overlays docs/images/locate_demo.png [--clip ID --start S]

Takes the overlay window that shows the most (most sources drawn on screen, then the highest summed probability),
or window S of clip ID, writes its frame at mid-window as a PNG, and prints what the README's caption states: the
clip, the window, each heard category with its probability and whether it is on screen, and the model's on-screen
threshold. The overlays come from `snakemake results/scenes/overlays.png` (the first `evaluate.overlays` test clips).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from msl_core.locate.contact_sheet import frame_at, richest_window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overlays", type=Path, help="a folder of msl locate outputs (<clip>.mp4 + <clip>.json)")
    parser.add_argument("png", type=Path)
    parser.add_argument("--clip", default=None)
    parser.add_argument("--start", type=float, default=None, help="the window's start in seconds")
    args = parser.parse_args()
    video, located, window = richest_window(args.overlays, args.clip, args.start)
    frame = frame_at(video, window["start_s"] + 0.5 / located["fps"])
    args.png.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.png), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    heard = ", ".join(f"{s['category']} {s['probability']:.2f}" + (" (off screen)" if s["on_screen"] is False else "")
                      for s in window["sources"]) or "nothing heard"
    print(f"{args.png}: {video.stem}, {window['start_s']:g}-{window['end_s']:g} s: {heard}; "
          f"on-screen threshold {located['on_screen_threshold'] or 0:.2f}; model {located['model']}")


if __name__ == "__main__":
    main()
