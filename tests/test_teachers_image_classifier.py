"""The ImageNet teacher on real photos through the 256x256 frame path, and its weight checks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from skimage import data
from torchvision.models import resnet18

from msl_core.errors import BadInput, ConfigError
from msl_core.models.mobilenet_v2 import convert_tflite
from msl_core.teachers.categories import category_set
from msl_core.teachers.category_maps import image_map, pool_top_k
from msl_core.teachers.image_classifier import ImageClassifier


@pytest.fixture(scope="module")
def mobilenet_weights(assets, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v2_imagenet.pt"
    torch.save(convert_tflite(assets / "weights/mobilenet_v2_1.0_224_quant.tflite"), path)
    return path


def frame(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (256, 256), interpolation=cv2.INTER_LINEAR)  # as frames.h5 stores it


def test_mobilenet_teacher_on_real_photos(mobilenet_weights, small_threads):
    classifier = ImageClassifier("mobilenet_v2", mobilenet_weights)
    probs = classifier(np.stack([frame(data.chelsea()), frame(data.coffee())]))
    assert probs.shape == (2, 1000)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert 281 <= probs[0].argmax() <= 285  # a cat (torchvision indices)
    scores = pool_top_k(probs, image_map(category_set("audioset7")), k=10)
    assert scores[0].argmax() == 2  # Animal
    assert scores[1].argmax() == 6  # coffee -> food -> Channel, environment and background


def test_resnet_needs_matching_weights(tmp_path):
    with pytest.raises(ConfigError, match="labels.image_classifier_weights"):
        ImageClassifier("resnet50", None)
    path = tmp_path / "r18.pt"
    torch.save(resnet18().state_dict(), path)
    assert ImageClassifier("resnet18", path)(np.zeros((1, 256, 256, 3), np.uint8)).shape == (1, 1000)
    with pytest.raises(BadInput, match=r"r18\.pt: state dict has \d+ keys, torchvision resnet50 expects"):
        ImageClassifier("resnet50", path)
