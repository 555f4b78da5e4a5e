"""Multi-source frames (the built-in scenes, AVE): every frame with at least one sounding box, class-agnostic cIoU
against the union of the boxes and class-specific cIoU averaged over the frame's sounding classes, maps binarised at
0.5·max as the Flickr protocol."""

from msl_core.dataset_protocols import DatasetProtocol, register

MULTI_SOURCE = register(DatasetProtocol("multi-source", threshold=0.5, threshold_key="ciou_threshold",
                                        ground_truth="union", class_specific=True))
