"""The loss-curve figure of a training stage."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

NOT_LOSSES = ("epoch", "samples_per_s")


def plot_losses(history: list[dict], path: str | Path, title: str = "") -> None:
    """One line per loss term over epochs (total in black)."""
    epochs = [row["epoch"] for row in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for key in history[0]:
        if key in NOT_LOSSES or key.startswith("val_") and key != "val_loss":
            continue  # of the val terms only the total: it picks the epoch
        style = {"color": "black", "linewidth": 2} if key == "loss" else {}
        style = {"color": "black", "linewidth": 2, "linestyle": "--"} if key == "val_loss" else style
        ax.plot(epochs, [row[key] for row in history], marker="o", label=key, **style)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("mean loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
