"""The protocols of the field, each as published code scores it, on one set of maps.

Every protocol works on a 224×224 grid (all the codes below resize maps and boxes to 224; maps are upsampled
bilinearly from maps.h5) and returns lower-case metric keys: `success_rate`, `auc`, `mean_ciou`, `ap`, `max_f1`,
`iiou`, `iauc`, `nsa`, `pia`, with `n_items` (positives scored) and `n_negatives` where negatives count.
Sources: LVS (Chen et al., CVPR 2021) and EZ-VSL (Mo & Morgado, ECCV 2022) test code; SLAVC (Mo & Morgado,
NeurIPS 2022) `EvaluatorFull`; IS3 (Senocak et al., ICCV 2023) `Evaluator_iiou`; DSOL (Hu et al., NeurIPS 2020)
`music-exp/eval.py`; T-VSL (Mahmud et al., CVPR 2024) reports DSOL's class-aware cIoU as a mean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from msl_core import metrics
from msl_core.protocols.data import NEGATIVE_KINDS, MapSource, chunks

GRID = 224
SUCCESS_CIOU = 0.5  # "cIoU@0.5" of LVS/EZ-VSL/SLAVC/IS3


@dataclass(frozen=True)
class Protocol:
    """A registered protocol: what it measures, who reports it, how maps are thresholded, and how to score."""

    name: str
    measures: str
    used_by: str
    threshold_rule: str
    needs: tuple[str, ...] = ()  # subset of: negatives, groups, silent
    headline: tuple[str, ...] = ("success_rate", "auc")  # the numbers of the protocols table

    grid: ClassVar[int] = GRID

    def missing(self, source: MapSource) -> str | None:
        """Why this protocol cannot score these items (None when it can)."""
        items = source.items
        checks = {
            "negatives": any(not it.positive for it in items) or "no negative items",
            "groups": any(it.group for it in items) or "no interactive groups",
            "silent": any(it.silent for it in items) or "no silent objects",
        }
        for need in self.needs:
            verdict = checks.get(need, True)
            if verdict is not True:
                return verdict
        return None

    maps: ClassVar[tuple[str, ...]] = ()  # map kinds beyond the normalised one: raw, class

    def score(self, source: MapSource, method: str) -> dict:
        raise NotImplementedError

    def lacks(self, source: MapSource, method: str) -> str | None:
        """Why `method` cannot be scored (a maps file without `<method>_raw` / `<method>_class`), else None."""
        absent = [kind for kind in self.maps if not source.has(method, kind)]
        return f"no {' or '.join(absent)} maps for {method}" if absent else None

    def describe(self) -> dict:
        return {"name": self.name, "measures": self.measures, "used_by": self.used_by,
                "threshold_rule": self.threshold_rule}


def positive_cious(source: MapSource, method: str, rows: list[int],
                   binarise: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Class-agnostic cIoU (docs/method.md §5.2) of the items `rows`."""
    out = np.empty(len(rows))
    done = 0
    for chunk in chunks(rows):
        gt = np.stack([source.ground_truth(i) for i in chunk])
        out[done : done + len(chunk)] = metrics.ciou(binarise(source.agnostic(method, chunk)), gt)
        done += len(chunk)
    return out


def _positives(source: MapSource) -> list[int]:
    """Positives scored by the non-interactive protocols: interactive items (IS3's, the demo's solo probes) are
    IS3's own test and stay out when the set also has ordinary positives."""
    positives = [i for i, item in enumerate(source.items) if item.positive]
    ordinary = [i for i in positives if not source.items[i].group]
    return ordinary or positives


def _negatives(source: MapSource) -> list[int]:
    return [i for i, item in enumerate(source.items) if not item.positive]


@dataclass(frozen=True)
class TopHalf(Protocol):
    """Flickr-SoundNet / VGG-SS as LVS-style code scores them: cIoU of the top half of the min-max map."""

    rule: str = "ge"

    def score(self, source, method):
        rows = _positives(source)
        cious = positive_cious(source, method, rows, lambda m: metrics.binarise_top_half(m, self.rule))
        return {"n_items": len(rows), **metrics.summarise(cious, SUCCESS_CIOU)}


@dataclass(frozen=True)
class Extended(Protocol):
    """SLAVC's extended test sets: can the model tell that a sound has no visible source, and where it is when it has?

    One confidence per item from the un-normalised map (mean of its top quarter); a firing positive counts as a
    true positive only when localised (cIoU ≥ 0.5 on the EZ-VSL top-half map). AP and max-F1 over all items,
    success/AUC over the positives.
    """

    legacy: bool = False
    maps = ("raw",)

    def score(self, source, method):
        everyone = list(range(len(source.items)))
        positive = np.array([item.positive for item in source.items])
        cious = np.zeros(len(everyone))
        rows = _positives(source)
        cious[rows] = positive_cious(source, method, rows, metrics.binarise_top_half)
        confidence = np.concatenate([metrics.top_quarter_confidence(source.raw(method, c)) for c in chunks(everyone)])
        hit = positive & (cious >= SUCCESS_CIOU)
        return {
            "n_items": len(rows),
            "n_negatives": int((~positive).sum()),
            **metrics.summarise(cious[rows], SUCCESS_CIOU),
            "ap": metrics.average_precision(confidence, positive, hit, self.legacy),
            "max_f1": metrics.max_f1(confidence, positive, hit, self.legacy),
        }


@dataclass(frozen=True)
class Interactive(Protocol):
    """IS3: one frame heard several times, once per sounding object; the frame counts only if every one of its
    sounds is localised on its own object (IIoU), over cIoU thresholds 0…1 (IAUC)."""

    def score(self, source, method):
        rows = [i for i, item in enumerate(source.items) if item.positive and item.group]
        cious = positive_cious(source, method, rows, lambda m: metrics.binarise_top_half(m, "gt"))
        groups: dict[str, float] = {}
        for i, value in zip(rows, cious):
            group = source.items[i].group
            groups[group] = min(groups.get(group, np.inf), value)  # min_k [cIoU_k ≥ t] = [min_k cIoU_k ≥ t]
        worst = np.array(list(groups.values()))
        return {
            "n_items": len(rows),
            "n_groups": len(groups),
            **metrics.summarise(cious, SUCCESS_CIOU),
            "iiou": metrics.success_rate(worst, SUCCESS_CIOU),
            "iauc": metrics.auc(worst),
        }


@dataclass(frozen=True)
class ClassAware(Protocol):
    """DSOL's class-aware test: each sounding class's own map against that class's boxes (map > τ·max, strict),
    averaged over the frame's sounding classes; NSA = share of a silent class's map at or below `silent_level`
    (absolute, as DSOL's eval.py), averaged over the frame's silent classes, then over frames.

    `success_at` None reports the mean class-aware cIoU (T-VSL's "CIoU"), else the success rate at that cIoU
    (DSOL's "CIoU@0.3").
    """

    relative: float = 0.2
    success_at: float | None = 0.3
    silent_level: float = 0.2
    silent_scope: str = "visible"  # visible: silent objects in view (paper); all: every non-sounding class (code)
    maps = ("class",)

    def score(self, source, method):
        rows = _positives(source)
        pairs = [(i, name) for i in rows for name in sorted(source.items[i].boxes)]
        values = np.empty(len(pairs))
        done = 0
        for chunk in chunks(pairs):
            maps = source.class_maps(method, chunk)
            gt = np.stack([source.ground_truth(i, name) for i, name in chunk])
            values[done : done + len(chunk)] = metrics.ciou(metrics.binarise(maps, self.relative), gt)
            done += len(chunk)
        per_item = np.zeros(len(source.items))
        counts = np.zeros(len(source.items))
        np.add.at(per_item, [i for i, _ in pairs], values)
        np.add.at(counts, [i for i, _ in pairs], 1)
        cious = per_item[rows] / counts[rows]
        out = {"n_items": len(rows), "auc": metrics.auc(cious), "mean_ciou": float(np.mean(cious))}
        if self.success_at is not None:
            out["success_rate"] = metrics.success_rate(cious, self.success_at)
            out |= self._nsa(source, method, rows)
        return out

    def _nsa(self, source: MapSource, method: str, rows: list[int]) -> dict:
        pairs = []
        for i in rows:
            item = source.items[i]
            heard = {source.column(n) for n in item.boxes}
            candidates = item.silent if self.silent_scope == "visible" else tuple(source.all_categories())
            # Scenes map fine classes to coarse columns: a silent dog beside a barking cat shares the Animal map.
            pairs += [(i, n) for n in dict.fromkeys(candidates) if source.column(n) not in heard]
        if not pairs:
            return {"nsa": None, "n_silent": 0}
        quiet = np.zeros(len(source.items))
        counts = np.zeros(len(source.items))
        for chunk in chunks(pairs):
            share = 1.0 - metrics.share_above(source.class_maps(method, chunk), self.silent_level)
            np.add.at(quiet, [i for i, _ in chunk], share)
            np.add.at(counts, [i for i, _ in chunk], 1)
        has = counts > 0
        return {"nsa": float(np.mean(quiet[has] / counts[has])), "n_silent": int(has.sum())}


@dataclass(frozen=True)
class Quietness(Protocol):
    """Share of the image lit (un-normalised map above `level`) when the audio has no visible source; lower is
    better. Reported per negative kind, beside the positives' success/AUC (EZ-VSL top-half rule)."""

    level: float = 0.5
    maps = ("raw",)

    def score(self, source, method):
        rows, negatives = _positives(source), _negatives(source)
        cious = positive_cious(source, method, rows, metrics.binarise_top_half)
        lit = np.concatenate([metrics.share_above(source.raw(method, c), self.level) for c in chunks(negatives)])
        kinds = np.array([source.items[i].negative for i in negatives])
        by_kind = {k: float(lit[kinds == k].mean()) for k in NEGATIVE_KINDS if (kinds == k).any()}
        return {"n_items": len(rows), "n_negatives": len(negatives), **metrics.summarise(cious, SUCCESS_CIOU),
                "pia": float(lit.mean()), "pia_by_kind": by_kind}


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        TopHalf("lvs", "success rate (cIoU ≥ 0.5) and 21-point AUC of the positives", "LVS, SSL-TIE",
                "min-max map > its median, plus its maximum (LVS code)", rule="gt_or_max"),
        TopHalf("ezvsl", "success rate (cIoU ≥ 0.5) and 21-point AUC of the positives", "EZ-VSL, SLAVC, FNAC",
                "min-max map ≥ its median (top 50 %)", rule="ge"),
        Extended("slavc-extended", "AP and max-F1 over positives and negatives; success/AUC of the positives",
                 "SLAVC, and papers testing on its extended Flickr / VGG-SS",
                 "confidence = mean of the raw map's top quarter; all-point AP; positives ≥ median", ("negatives",),
                 ("ap", "max_f1", "success_rate")),
        Extended("slavc-extended-code", "as slavc-extended, AP and max-F1 as SLAVC's released code integrates them",
                 "SLAVC (released code)", "as slavc-extended; AP over ⌈N/200⌉-spaced thresholds, F1 over deciles",
                 ("negatives",), ("ap", "max_f1"), legacy=True),
        Interactive("is3", "IIoU / IAUC: a frame counts only if all its sounds are localised", "IS3 (SSL-Align)",
                    "min-max map > its median (strict)", ("groups",), ("iiou", "iauc")),
        ClassAware("dsol", "class-averaged cIoU success at 0.3, AUC; NSA of silent classes", "DSOL, CSOL",
                   "class map > 0.2·max; NSA: silent class map ≤ 0.2", ("silent",), ("success_rate", "auc", "nsa")),
        ClassAware("dsol-code", "as dsol, with DSOL's released eval.py thresholds", "DSOL (released code)",
                   "class map > 0.5·max; NSA over every non-sounding class, map ≤ 0.2", (), ("success_rate", "nsa"),
                   relative=0.5,
                   silent_scope="all"),
        ClassAware("tvsl", "mean class-aware cIoU (T-VSL's \"CIoU\") and AUC", "T-VSL",
                   "class map > 0.2·max", (), ("mean_ciou", "auc"), success_at=None),
        Quietness("pia", "share of the image lit under silence, noise, off-screen audio (lower is better)",
                  "negative-audio tests (SLAVC, IS3 silence/noise)", "raw map > 0.5", ("negatives",), ("pia",)),
    )
}
