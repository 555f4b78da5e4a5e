"""What a dataset without boxes can still be scored on (AVE): its annotated audio-visual events, second by second.

AVE (Tian et al., ECCV 2018) marks, per 10-s video, the seconds in which one of 28 events is both heard and seen;
its categories are AudioSet classes, so they map onto the model's categories (e.g. "Church bell" → Sounds of things
and Music). On the test clips' seconds:
- audio / visual accuracy: on event seconds, the arg-max of σ(z^a) (σ(z^v)) is one of the event's categories;
  audio-visual accuracy asks both;
- temporal AUC: how well the audio probability of the clip's event category tells its event seconds from its
  background seconds (0.5 = chance).
Every number carries its item count.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.errors import BadInput
from msl_core.stores.maps import MapsStore
from msl_core.teachers.categories import CategorySet, split_tags
from msl_core.teachers.report import roc_auc


def read_probabilities(path: str | Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    """maps.h5 → (clip_id/second table, audio_prob (M, C), visual_prob (M, C), categories)."""
    store = MapsStore(path)
    for key in ("audio_prob", "visual_prob"):
        if key not in store:
            raise BadInput(store.path, f"no '{key}' dataset (rerun `localize`)")
    keys = pd.DataFrame({"clip_id": store.read_strings("clip_id"), "second": store.read("second").astype(int)})
    return keys, store.read("audio_prob"), store.read("visual_prob"), store.strings("categories")


def score_events(maps: str | Path, index: pd.DataFrame, categories: CategorySet) -> dict:
    """Event numbers of the test rows of maps.h5 against the per-second tags of index.csv (see the module doc)."""
    keys, audio, visual, names = read_probabilities(maps)
    if tuple(names) != tuple(categories.names):
        raise BadInput(maps, f"categories {names} differ from the dataset's {list(categories.names)}")
    tags = index.set_index(["clip_id", "second"])["tags"]
    rows = [(k, tags.get((c, s), "")) for k, (c, s) in enumerate(zip(keys["clip_id"], keys["second"]))]
    truth = np.stack([categories.encode(split_tags(t), source="index.csv") for _, t in rows]) > 0  # (M, C)
    event = truth.any(1)
    if not event.any():
        raise BadInput(maps, "no test second carries an annotated event")
    audio_hit = truth[np.arange(len(rows)), audio.argmax(1)]
    visual_hit = truth[np.arange(len(rows)), visual.argmax(1)]
    out = {
        "n_clips": int(keys["clip_id"].nunique()),
        "n_event_seconds": int(event.sum()),
        "n_background_seconds": int((~event).sum()),
        "audio_accuracy": float(audio_hit[event].mean()),
        "visual_accuracy": float(visual_hit[event].mean()),
        "audio_visual_accuracy": float((audio_hit & visual_hit)[event].mean()),
        "chance_accuracy": float(truth[event].sum(1).mean() / truth.shape[1]),
        "categories": list(names),
    }
    out |= _temporal(keys, audio, truth, event)
    out["per_event"] = _per_event([t for _, t in rows], event, audio_hit, visual_hit)
    return out


def _temporal(keys: pd.DataFrame, audio: np.ndarray, truth: np.ndarray, event: np.ndarray) -> dict:
    """AUC of the clip's event-category audio probability, event seconds against background seconds."""
    clip_truth = pd.DataFrame(truth).groupby(keys["clip_id"].to_numpy()).transform("max").to_numpy()  # (M, C)
    score = np.where(clip_truth, audio, 0.0).max(1)
    has_event = clip_truth.any(1)
    positives, negatives = score[event & has_event], score[~event & has_event]
    return {"temporal_auc": _auc(positives, negatives), "n_temporal_pairs": int(len(positives) * len(negatives))}


def _auc(positives: np.ndarray, negatives: np.ndarray) -> float | None:
    """The labels report's rank AUC (ties count one half); None without both kinds (JSON has no NaN)."""
    value = roc_auc(np.concatenate([positives, negatives]),
                    np.concatenate([np.ones(len(positives), bool), np.zeros(len(negatives), bool)]))
    return None if np.isnan(value) else value


def _per_event(tags: list[str], event: np.ndarray, audio_hit: np.ndarray, visual_hit: np.ndarray) -> dict:
    by_name: dict[str, list[int]] = {}
    for k, value in enumerate(tags):
        for name in split_tags(value):
            by_name.setdefault(name, []).append(k)
    return {name: {"n": len(ks), "audio_accuracy": float(audio_hit[ks].mean()),
                   "visual_accuracy": float(visual_hit[ks].mean())}
            for name, ks in sorted(by_name.items()) if event[ks].all()}


def write_events(numbers: dict, json_path: str | Path, txt_path: str | Path, figure: str | Path | None = None) -> None:
    """events.json with every number; events.txt the audio-visual accuracy (with its count); a per-event chart."""
    Path(json_path).write_text(json.dumps(numbers, indent=1))
    Path(txt_path).write_text(f"{numbers['audio_visual_accuracy']:.6f}\n")
    if figure is not None:
        from msl_core.plots import per_event_chart  # matplotlib only when a picture is asked for

        per_event_chart(numbers, figure)
