"""Pseudo labels per index row: audio and visual category vectors in [0, 1] (docs/method.md §2.4), written to labels.h5.

Sources (`labels.audio_source`, `labels.visual_source`, overridable per dataset):
- `tags`: the dataset's own per-second tags (audio: sounding tags; visual: every visible object when known, else the
  sounding tags);
- `audio_tagger`: the EfficientAT AudioSet tagger on each row's audio window, mapped to the categories (audio only);
- `image_classifier`: an ImageNet classifier on the row's frame, top-k pooled onto the categories (visual only);
- `rois`: the same classifier on each proposal crop of the frame, the strongest category evidence over the crops
  (`roi_labels.py`; visual only);
- `from_audio`: the visual label is the audio label (README of the reference: "also practical").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.config import default
from msl_core.errors import BadInput, ConfigError
from msl_core.stores.hdf5 import H5Rows
from msl_core.teachers.categories import CategorySet, split_tags
from msl_core.teachers.choices import AUDIO_SOURCES, VISUAL_SOURCES
from msl_core.teachers.roi_labels import roi_labels

log = logging.getLogger(__name__)

NORMALISATIONS = ("none", "quantile")


@dataclass(frozen=True)
class LabelConfig:
    """The `labels:` config section (with a dataset's `labels:` overrides applied)."""

    audio_source: str = default("labels.audio_source")
    visual_source: str = default("labels.visual_source")
    sharpen_threshold: float = default("labels.sharpen_threshold")  # reference: a > 0.3 -> 0.4 a + 0.6
    sharpen_scale: float = default("labels.sharpen_scale")
    tagger_weights: str | None = None
    audioset_labels: str | None = None
    ontology: str | None = None
    audio_map: str | None = None        # user table (C, 527) .npy/.csv; null: derived from the ontology
    image_classifier: str = default("labels.image_classifier")
    image_classifier_weights: str | None = None
    image_map: str | None = None        # user table (1000, C) .npy/.csv; null: msl_core/data/imagenet_audioset7.csv
    image_top_k: int = default("labels.image_top_k")
    # msl extension (reference: none): each teacher's category scores (the tagger's, and the image teacher's for
    # image_classifier / rois) divided by their own `normalise_quantile` over the dataset, so a category a teacher
    # scores low everywhere still reaches the 0.3 filter where it is heard or seen most. Uses no truth: only the
    # dataset's own score distribution.
    normalise: str = default("labels.normalise")
    normalise_quantile: float = default("labels.normalise_quantile")

    def __post_init__(self) -> None:
        AUDIO_SOURCES.get(self.audio_source), VISUAL_SOURCES.get(self.visual_source)  # unknown: a ConfigError
        if not 0.0 <= self.sharpen_threshold <= 1.0:
            raise ConfigError("labels.sharpen_threshold", f"must be in [0, 1], got {self.sharpen_threshold}")
        if not 0.0 <= self.sharpen_scale <= 1.0:
            raise ConfigError("labels.sharpen_scale", f"must be in [0, 1], got {self.sharpen_scale}")
        if self.image_top_k < 1:
            raise ConfigError("labels.image_top_k", f"must be >= 1, got {self.image_top_k}")
        if self.normalise not in NORMALISATIONS:
            raise ConfigError("labels.normalise", f"'{self.normalise}' is not one of {NORMALISATIONS}")
        if not 0.0 < self.normalise_quantile <= 1.0:
            raise ConfigError("labels.normalise_quantile", f"must be in (0, 1], got {self.normalise_quantile}")

    @classmethod
    def from_config(cls, section: dict, overrides: dict | None = None) -> LabelConfig:
        known = {f.name for f in fields(cls)}
        merged = {**section, **{k: v for k, v in (overrides or {}).items() if v is not None}}
        return cls(**{k: v for k, v in merged.items() if k in known})


def quantile_normalise(scores: np.ndarray, quantile: float, fit: np.ndarray | None = None) -> np.ndarray:
    """Each category's scores divided by that category's `quantile` over the `fit` rows (bool mask; default all),
    clipped to [0, 1]."""
    if not len(scores):
        return scores
    scale = np.quantile(scores if fit is None else scores[fit], quantile, axis=0)
    return np.clip(scores / np.maximum(scale, 1e-6), 0.0, 1.0).astype(np.float32)


def scale_rows(index: pd.DataFrame) -> np.ndarray | None:
    """The rows whose teacher scores set the quantile scale: the training split's, so that the labels of the rows
    trained on do not move with the test set (its size, its probe clips); every row where the index has no split."""
    if "split" not in index.columns:
        return None
    train = (index["split"] == "train").to_numpy()
    return train if train.any() else None


def sharpen(scores: np.ndarray, threshold: float, scale: float) -> np.ndarray:
    """Reference generate_label.py: values above `threshold` move to scale·a + (1 − scale); others stay."""
    return np.where(scores > threshold, scale * scores + (1.0 - scale), scores).astype(np.float32)


def tag_labels(index: pd.DataFrame, categories: CategorySet, source: str = "index") -> tuple[np.ndarray, np.ndarray]:
    """Audio = the row's sounding tags; visual = its visible objects, or its sounding tags where visibility is unknown."""
    audio = np.stack([categories.encode(split_tags(v), source=source) for v in index["tags"]]) if len(index) else \
        np.zeros((0, len(categories)), np.float32)
    visible = index["visible"] if "visible" in index else pd.Series([""] * len(index))
    visual = audio.copy()
    for i, value in enumerate(visible):
        if split_tags(value):
            visual[i] = categories.encode(split_tags(value), source=source)
    return audio, visual


def clip_windows(rows: pd.DataFrame, sample_rate: int) -> np.ndarray:
    """(len(rows), window samples) float32 audio of one clip's rows, one ffmpeg call; zero-padded at the file's end."""
    from msl_core.media import decode_audio

    first = rows.iloc[0]
    window = round(float(first["window_s"]) * sample_rate)
    start = float(rows["start_s"].min())
    span = float(rows["start_s"].max()) - start + float(first["window_s"])
    wave = decode_audio(first["video_path"] or first["audio_path"], sample_rate, start_s=start, duration_s=span)
    out = np.zeros((len(rows), window), np.float32)
    for i, row_start in enumerate(rows["start_s"].to_numpy(float)):
        offset = round((row_start - start) * sample_rate)
        chunk = wave[offset:offset + window]
        out[i, :len(chunk)] = chunk
    return out


def tagger_probabilities(index: pd.DataFrame, weights: str | Path, device="cpu") -> np.ndarray:
    """(N, 527) AudioSet probabilities of every row's audio window (EfficientAT, 32 kHz)."""
    from msl_core.teachers.efficientat import SAMPLE_RATE, AudioTagger

    tagger = AudioTagger(weights, device)
    probs = np.zeros((len(index), tagger.model.classifier[-1].out_features), np.float32)
    for clip_id, rows in index.groupby("clip_id", sort=False):
        probs[rows["row"].to_numpy()] = tagger(clip_windows(rows, SAMPLE_RATE))
        log.debug("tagged clip %s", clip_id)
    return probs


def classifier_probabilities(frames_path: str | Path, name: str, weights: str | Path, device="cpu",
                             batch_size: int = 64) -> np.ndarray:
    """(N, 1000) ImageNet probabilities of every stored frame."""
    from msl_core.teachers.image_classifier import ImageClassifier

    classifier = ImageClassifier(name, weights, device)
    frames = H5Rows(frames_path, "frames")
    if not len(frames):
        return np.zeros((0, 1000), np.float32)
    return np.concatenate([classifier(frames.data[i:i + batch_size]) for i in range(0, len(frames), batch_size)])


def visual_teacher_labels(categories: CategorySet, cfg: LabelConfig, frames_path: str | Path | None,
                          proposals_path: str | Path | None, device="cpu") -> np.ndarray:
    """(N, C) visual labels from the image classifier: on whole frames (top-k pooled) or on proposal crops."""
    from msl_core.teachers import category_maps
    from msl_core.teachers.image_classifier import ImageClassifier

    if frames_path is None:
        raise ConfigError("labels.visual_source", f"{cfg.visual_source} needs the dataset's frames.h5")
    membership = category_maps.image_map(categories, table=cfg.image_map)
    if "proposals" not in VISUAL_SOURCES.get(cfg.visual_source).reads:  # whole frames
        probs = classifier_probabilities(frames_path, cfg.image_classifier, cfg.image_classifier_weights, device)
        return category_maps.pool_top_k(probs, membership, cfg.image_top_k)
    if proposals_path is None:
        raise ConfigError("labels.visual_source", "rois needs the dataset's proposals.h5")
    classifier = ImageClassifier(cfg.image_classifier, cfg.image_classifier_weights, device)
    return roi_labels(frames_path, proposals_path, classifier, membership)


def compute_labels(index: pd.DataFrame, categories: CategorySet, cfg: LabelConfig, *,
                   frames_path: str | Path | None = None, proposals_path: str | Path | None = None,
                   device="cpu") -> tuple[np.ndarray, np.ndarray]:
    """Audio and visual labels (N, C) for every index row from the configured sources."""
    from msl_core.teachers import category_maps

    audio_reads, visual_reads = AUDIO_SOURCES.get(cfg.audio_source).reads, VISUAL_SOURCES.get(cfg.visual_source).reads
    tag_audio = tag_visual = None
    if "tags" in audio_reads + visual_reads:
        if not any(split_tags(v) for v in index["tags"]):
            raise ConfigError("labels.audio_source" if "tags" in audio_reads else "labels.visual_source",
                              "'tags' chosen but the dataset's index has no tags; use audio_tagger / from_audio")
        tag_audio, tag_visual = tag_labels(index, categories)
    if "tags" in audio_reads:
        audio = tag_audio
    else:
        if not cfg.tagger_weights:
            raise ConfigError("labels.tagger_weights", "audio_source audio_tagger needs the tagger's weights file")
        membership = category_maps.audio_map(categories, table=cfg.audio_map, ontology=cfg.ontology,
                                             class_labels=cfg.audioset_labels)
        scores = category_maps.pool_max(tagger_probabilities(index, cfg.tagger_weights, device), membership)
        if cfg.normalise == "quantile":
            scores = quantile_normalise(scores, cfg.normalise_quantile, scale_rows(index))
        audio = sharpen(scores, cfg.sharpen_threshold, cfg.sharpen_scale)
    if "tags" in visual_reads:
        visual = tag_visual
    elif "audio" in visual_reads:
        visual = audio.copy()
    else:
        visual = visual_teacher_labels(categories, cfg, frames_path, proposals_path, device)
        if cfg.normalise == "quantile":
            visual = quantile_normalise(visual, cfg.normalise_quantile, scale_rows(index))
    return audio.astype(np.float32), visual.astype(np.float32)


def tagger_agreement_table(index: pd.DataFrame, categories: CategorySet, cfg: LabelConfig,
                           device="cpu") -> dict[str, pd.DataFrame] | None:
    """The tagger's per-category agreement with the index's true sounding tags, keyed by vocabulary.

    Scene classes are also scored at the level of their 7 AudioSet top-level categories. None without tags.
    """
    from msl_core.teachers import category_maps
    from msl_core.teachers.categories import category_set
    from msl_core.teachers.report import tagger_agreement

    if not any(split_tags(v) for v in index["tags"]):
        return None
    vocabularies = [categories] + ([category_set("audioset7")] if categories.kind == "classes" else [])
    memberships = {}
    for vocabulary in vocabularies:
        try:
            memberships[vocabulary.kind] = (vocabulary, category_maps.audio_map(
                vocabulary, table=cfg.audio_map if vocabulary is categories else None, ontology=cfg.ontology,
                class_labels=cfg.audioset_labels))
        except ConfigError as exc:  # a dataset's own tags that are not AudioSet classes: nothing to compare
            log.warning("tagger not compared on the '%s' vocabulary: %s", vocabulary.kind, exc)
    if not memberships:
        return None
    probs = tagger_probabilities(index, cfg.tagger_weights, device)  # the costly part: only when it is compared
    tables = {}
    for kind, (vocabulary, membership) in memberships.items():
        truth, _ = tag_labels(index, vocabulary)
        scores = category_maps.pool_max(probs, membership)
        tables[kind] = tagger_agreement(scores, truth, list(vocabulary.names), cfg.sharpen_threshold)
    return tables


def label_agreement_tables(index: pd.DataFrame, categories: CategorySet, audio: np.ndarray, visual: np.ndarray,
                           threshold: float = default("train.stage2.prob_filter"), split: str = "train",
                           ) -> dict[str, pd.DataFrame] | None:
    """The written labels against the true sounding (audio) and visible (visual) objects on `split` rows, where the
    index has tags; None otherwise. The truth measures label rules; it never makes labels."""
    from msl_core.teachers.report import tagger_agreement

    rows = (index["split"] == split).to_numpy()
    if not rows.any() or not any(split_tags(v) for v in index["tags"]):
        return None
    try:
        truth_audio, truth_visual = tag_labels(index[rows], categories)
    except BadInput as exc:  # tags outside the label vocabulary: nothing to compare with
        log.warning("labels not compared with the tags: %s", exc)
        return None
    names = list(categories.names)
    return {"audio": tagger_agreement(audio[rows], truth_audio, names, threshold),
            "visual": tagger_agreement(visual[rows], truth_visual, names, threshold)}
