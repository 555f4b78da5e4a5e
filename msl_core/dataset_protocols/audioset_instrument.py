"""AudioSet-instrument (docs/method.md §5.3–5.4): frames with exactly two annotated instrument classes; class-agnostic
cIoU against the union of the boxes and class-specific cIoU of each class's map, maps binarised at 0.1·max
(reference utils/evaluate.py)."""

from msl_core.dataset_protocols import DatasetProtocol, register

AUDIOSET_INSTRUMENT = register(DatasetProtocol("audioset-instrument", threshold=0.1,
                                               threshold_key="audioset_ciou_threshold", ground_truth="union",
                                               class_specific=True, n_classes=2))
