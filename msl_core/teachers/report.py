"""The labels report: per-category pseudo-label rates and, where true tags exist, the audio tagger's agreement.

Agreement compares, per category, the tagger's category score (max over member classes, before sharpening) with the
row's sounding tags: precision, recall and F1 at the sharpening threshold, and the ROC AUC (threshold-free).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def label_rates(audio: np.ndarray, visual: np.ndarray, categories: list[str], threshold: float = 0.5) -> pd.DataFrame:
    """Per category: share of rows whose audio / visual label exceeds `threshold`, and the mean label values."""
    return pd.DataFrame({
        "category": categories,
        "audio_rate": (audio > threshold).mean(axis=0) if len(audio) else np.zeros(len(categories)),
        "visual_rate": (visual > threshold).mean(axis=0) if len(visual) else np.zeros(len(categories)),
        "audio_mean": audio.mean(axis=0) if len(audio) else np.zeros(len(categories)),
        "visual_mean": visual.mean(axis=0) if len(visual) else np.zeros(len(categories)),
    })


def roc_auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """ROC AUC by the rank statistic (ties count half); NaN when only one class is present."""
    pos, neg = scores[truth], scores[~truth]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def tagger_agreement(scores: np.ndarray, truth: np.ndarray, categories: list[str], threshold: float) -> pd.DataFrame:
    """Per category: rows with the tag, precision / recall / F1 of `scores > threshold`, and AUC."""
    truth = truth > 0.5
    predicted = scores > threshold
    rows = []
    for c, name in enumerate(categories):
        tp = int((predicted[:, c] & truth[:, c]).sum())
        n_pred, n_true = int(predicted[:, c].sum()), int(truth[:, c].sum())
        precision = tp / n_pred if n_pred else float("nan")
        recall = tp / n_true if n_true else float("nan")
        f1 = 2 * tp / (n_pred + n_true) if n_pred + n_true else float("nan")
        rows.append({"category": name, "tagged_rows": n_true, "precision": precision, "recall": recall, "f1": f1,
                     "auc": roc_auc(scores[:, c], truth[:, c])})
    return pd.DataFrame(rows)


@dataclass
class LabelsReport:
    dataset: str
    sources: str
    rates: pd.DataFrame
    agreement: dict[str, pd.DataFrame] | None = None   # vocabulary kind -> per-category table
    label_agreement: dict[str, pd.DataFrame] | None = None  # "audio" / "visual" labels vs. the truth (train rows)

    def markdown(self) -> str:
        lines = [f"# Pseudo labels of `{self.dataset}`", "", f"Sources: {self.sources}.", "",
                 "## Label rates per category (share of rows with label > 0.5; mean label)", "",
                 self.rates.to_markdown(index=False, floatfmt=".3f"), ""]
        for modality, table in (self.label_agreement or {}).items():
            lines += [f"## The {modality} labels vs. the truth (train rows)", "",
                      ("The labels written to labels.h5 against the true "
                       f"{'sounding' if modality == 'audio' else 'visible'} objects: precision/recall/F1 at 0.3 "
                       "(the stage-2 filter), AUC threshold-free. The truth only measures; no label uses it."), "",
                      table.to_markdown(index=False, floatfmt=".3f"), ""]
        for kind, table in (self.agreement or {}).items():
            lines += [f"## Audio tagger vs. the true sounding tags ({kind})", "",
                      ("Tagger category score = max over the category's AudioSet classes; "
                      "precision/recall/F1 at the sharpening threshold; AUC is threshold-free."), "",
                      table.to_markdown(index=False, floatfmt=".3f"), ""]
        return "\n".join(lines)

    def figure(self, path: str | Path) -> None:
        panels_of = {f"{m} labels vs. truth": t for m, t in (self.label_agreement or {}).items()}
        panels_of |= {f"tagger vs. true tags ({k})": t for k, t in (self.agreement or {}).items()}
        tables = list(panels_of.values())
        panels = 1 + len(tables)
        rows = max([len(self.rates)] + [len(t) for t in tables])
        fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 0.35 * rows + 1.8), squeeze=False)
        y = np.arange(len(self.rates))
        ax = axes[0, 0]
        ax.barh(y - 0.2, self.rates["audio_rate"], 0.4, label="audio")
        ax.barh(y + 0.2, self.rates["visual_rate"], 0.4, label="visual")
        ax.set_yticks(y, self.rates["category"])
        ax.invert_yaxis()
        ax.set_xlabel("share of rows with label > 0.5")
        ax.legend(loc="lower right")
        for panel, (title, table) in enumerate(panels_of.items(), start=1):
            ax, y = axes[0, panel], np.arange(len(table))
            ax.barh(y - 0.2, table["f1"].fillna(0), 0.4, label="F1")
            ax.barh(y + 0.2, table["auc"].fillna(0), 0.4, label="AUC")
            ax.set_yticks(y, table["category"])
            ax.invert_yaxis()
            ax.set_xlim(0, 1)
            ax.set_xlabel(title)
            ax.legend(loc="lower right")
        fig.suptitle(f"Pseudo labels: {self.dataset}")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
