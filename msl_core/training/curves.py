"""The loss-curve figure of a training stage."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

NOT_LOSSES = ("epoch", "samples_per_s", "val_success")


def plot_losses(history: list[dict], path: str | Path, title: str = "", chosen: int | None = None) -> None:
    """One line per training loss term over epochs (total in black), the val loss dashed, the val success rate on
    its own axis, and the epoch that became the model (`chosen`) marked."""
    epochs = [row["epoch"] for row in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for key in history[0]:
        if key in NOT_LOSSES or key.startswith("val_") and key != "val_loss":
            continue  # of the val terms only the total: it picks the epoch
        style = {"color": "black", "linewidth": 2} if key == "loss" else {}
        style = {"color": "black", "linewidth": 2, "linestyle": "--"} if key == "val_loss" else style
        ax.plot(epochs, [row[key] for row in history], marker="o", label=key, **style)
    if chosen is not None and chosen != epochs[-1]:
        ax.axvline(chosen, color="grey", linestyle=":", label=f"model: epoch {chosen}")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("mean loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if "val_success" in history[0]:
        right = ax.twinx()
        line = right.plot(epochs, [row["val_success"] for row in history], marker="s", color="tab:green",
                          linestyle="-.", label="val_success")
        right.set_ylabel("val success rate (cIoU ≥ 0.5)")
        right.set_ylim(0, 1)
        handles, labels = handles + line, labels + ["val_success"]
    ax.legend(handles, labels, fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
