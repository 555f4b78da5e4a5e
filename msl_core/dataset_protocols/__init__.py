"""The protocols a dataset is scored by (`datasets.<name>.protocol`, docs/method.md §5), one module each.

Each module registers a `DatasetProtocol`: which annotated frames are scored, what their ground truth is, how maps
are thresholded, whether each class is also scored on its own map, and where the headline numbers sit in
metrics.json. `msl_core.evaluation` asks the entry and never compares protocol names. Entries are plain data (the
workflow reads `threshold_key` while it plans). Adding a protocol is one module here plus its test. The field's
protocols table (LVS, SLAVC, IS3, DSOL, ...) is a different thing: `msl_core.protocols`.
"""

from __future__ import annotations

from dataclasses import dataclass

from msl_core.registry import Registry


@dataclass(frozen=True)
class DatasetProtocol:
    name: str
    threshold: float  # the reference's binarisation: predicted region = upsampled map > threshold · its max
    threshold_key: str  # the key under `evaluate:` that overrides `threshold` in the workflow
    ground_truth: str  # consensus: Flickr's annotator agreement (§5.2); union: 1 inside any box (§5.4)
    class_specific: bool  # also score each annotated class's own map against that class's boxes
    boxes_required: bool = False  # an annotated frame without boxes is reported as excluded, not merely unscored
    n_classes: int | None = None  # score only frames with exactly this many annotated classes
    headline: tuple[str, ...] = ("class_agnostic",)  # the metrics.json block that ciou.txt and auc.txt report

    def scores(self, boxes: dict) -> bool:
        """Whether a frame with these {class: boxes} (at least one) is in the test set."""
        return self.n_classes is None or len(boxes) == self.n_classes

    def headline_numbers(self, numbers: dict) -> dict:
        for key in self.headline:
            numbers = numbers[key]
        return numbers


DATASET_PROTOCOLS: Registry[DatasetProtocol] = Registry("protocol", "datasets.<ds>.protocol", __name__)
register = DATASET_PROTOCOLS.register


def dataset_protocol(name: str) -> DatasetProtocol:
    return DATASET_PROTOCOLS.get(name)
