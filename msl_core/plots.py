"""Pictures of evaluation numbers: a heatmap grid of chosen items, per-class and per-event bar charts.

The plots receive plain data (maps, boxes, tables); what to draw is decided by `evaluation` and `events`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # rule scripts and the CLI run without a display
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from msl_core import metrics

BOX_COLOURS = plt.get_cmap("tab10").colors


@dataclass
class HeatmapRow:
    """One item of the heatmap grid: its frame, ground truth and boxes, then each method's map and cIoU."""

    title: str
    frame: np.ndarray | None  # (256, 256, 3) uint8; None draws on grey
    truth: np.ndarray  # (256, 256) in [0, 1]
    boxes: dict[str, np.ndarray]  # category name -> (K, 4) [x, y, w, h] grid pixels
    maps: dict[str, tuple[np.ndarray, float]]  # method -> (map, cIoU)


def select_items(scores: np.ndarray, n_each: int = 2) -> list[tuple[str, int]]:
    """(label, item index) of the best, median and worst items by `scores` (one cIoU per item)."""
    order = np.argsort(-scores, kind="stable")
    n = len(order)
    middle = max(0, n // 2 - n_each // 2)
    picks = [("best", order[:n_each]), ("median", order[middle : middle + n_each]), ("worst", order[::-1][:n_each])]
    chosen, seen = [], set()
    for label, indices in picks:
        for index in indices:
            if int(index) not in seen:
                seen.add(int(index))
                chosen.append((label, int(index)))
    return chosen


def heatmap_grid(rows: list[HeatmapRow], title: str, out: str | Path, label_boxes: bool = False,
                 warnings: list[str] = ()) -> Path:
    """Rows: items; columns: ground truth, then each method's map over the frame. `warnings` go under the grid."""
    methods = list(rows[0].maps) if rows else []
    fig, axes = plt.subplots(len(rows), len(methods) + 1, figsize=(2.3 * (len(methods) + 1), 2.4 * len(rows)),
                             squeeze=False)
    for r, row in enumerate(rows):
        frame = row.frame if row.frame is not None else np.full((metrics.GRID, metrics.GRID, 3), 128, np.uint8)
        _panel(axes[r, 0], frame, row.truth, row.boxes, row.title, cmap="Greens", label_boxes=label_boxes)
        for c, (method, (heat, value)) in enumerate(row.maps.items(), start=1):
            _panel(axes[r, c], frame, heat / max(float(heat.max()), 1e-12), row.boxes, f"{method}  cIoU {value:.2f}")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    if warnings:  # a result whose meaning changed says so on the picture too
        fig.subplots_adjust(bottom=0.03 + 0.025 * len(warnings))
        fig.text(0.01, 0.005, "\n".join(f"warning: {w}" for w in warnings), color="firebrick", fontsize=8,
                 va="bottom")
    return _save(fig, out)


def _panel(ax, frame: np.ndarray, overlay: np.ndarray, boxes: dict[str, np.ndarray], title: str, cmap: str = "jet",
           label_boxes: bool = False) -> None:
    ax.imshow(frame)
    ax.imshow(overlay, cmap=cmap, alpha=0.45, vmin=0.0, vmax=1.0)
    for k, (name, category_boxes) in enumerate(sorted(boxes.items())):
        for x, y, w, h in category_boxes:
            colour = BOX_COLOURS[k % len(BOX_COLOURS)]
            ax.add_patch(Rectangle((x, y), w, h, fill=False, lw=1.2, ec=colour))
        if label_boxes and len(category_boxes):
            x, y = category_boxes[0][:2]
            ax.text(x + 3, y + 3, name, color="white", fontsize=6, va="top",
                    bbox={"facecolor": colour, "alpha": 0.8, "pad": 1, "lw": 0})
    ax.set_title(title, fontsize=7)
    ax.set_axis_off()


def per_class_chart(tables: dict[str, dict[str, dict]], title: str, out: str | Path) -> Path:
    """Mean cIoU per class for each method; `tables` is method -> class -> {n, mean_ciou}."""
    classes = sorted({name for table in tables.values() for name in table})
    fig, ax = plt.subplots(figsize=(min(11.0, max(5.0, 0.22 * len(classes) * max(1, len(tables)) + 2)), 4.8))
    width = 0.8 / max(1, len(tables))
    x = np.arange(len(classes))
    for k, (method, table) in enumerate(tables.items()):
        values = [table.get(name, {}).get("mean_ciou", np.nan) for name in classes]
        ax.bar(x + (k - (len(tables) - 1) / 2) * width, values, width, label=method)
    counts = {name: max(t.get(name, {}).get("n", 0) for t in tables.values()) for name in classes}
    ax.set_xticks(x, [f"{name}\n(n={counts[name]})" for name in classes], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.15)  # headroom for the legend
    ax.set_ylabel("mean cIoU", fontsize=9)
    ax.set_title(title, fontsize=9)
    if tables:
        ax.legend(fontsize=7, ncol=min(4, len(tables)), loc="upper center")
    else:
        ax.text(0.5, 0.5, "no class-specific maps", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    return _save(fig, out)


def per_event_chart(numbers: dict, out: str | Path) -> Path:
    """Audio and visual accuracy per annotated event (events.json of a dataset without boxes, e.g. AVE)."""
    table = numbers["per_event"]
    names = list(table)
    fig, ax = plt.subplots(figsize=(min(12.0, max(5.0, 0.45 * len(names) + 2)), 4.8))
    x = np.arange(len(names))
    for k, key in enumerate(("audio_accuracy", "visual_accuracy")):
        ax.bar(x + (k - 0.5) * 0.4, [table[n][key] for n in names], 0.4, label=key.replace("_", " "))
    ax.axhline(numbers["chance_accuracy"], color="grey", lw=0.8, ls="--", label="chance")
    ax.set_xticks(x, [f"{n}\n(n={table[n]['n']})" for n in names], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("accuracy on event seconds", fontsize=9)
    auc = numbers.get("temporal_auc")
    ax.set_title(f"events of {numbers['n_clips']} test clips, {numbers['n_event_seconds']} event seconds\n"
                 f"audio-visual accuracy {numbers['audio_visual_accuracy']:.3f}, temporal AUC "
                 f"{'n/a' if auc is None else f'{auc:.3f}'}", fontsize=9)
    ax.legend(fontsize=7, ncol=3, loc="upper center")
    fig.tight_layout()
    return _save(fig, out)


def _save(fig, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
