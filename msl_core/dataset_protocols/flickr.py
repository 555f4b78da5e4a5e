"""SoundNet-Flickr (docs/method.md §5.1–5.2): every annotated test image, its ground truth the annotators' consensus
map, the map binarised at 0.5·max (reference new/main.py); one sound source per image, so class-agnostic only."""

from msl_core.dataset_protocols import DatasetProtocol, register

FLICKR = register(DatasetProtocol("flickr", threshold=0.5, threshold_key="ciou_threshold", ground_truth="consensus",
                                  class_specific=False, boxes_required=True, headline=()))
