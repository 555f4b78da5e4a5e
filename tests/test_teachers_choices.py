"""The teachers' registered choices: what each label source reads, where each classifier's weights come from, and
which files each proposal backend needs (checked against the config objects that carry those keys)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from msl_core.errors import ConfigError
from msl_core.models.backbones import IMAGENET_MEAN, vision_backbone
from msl_core.teachers.choices import AUDIO_SOURCES, IMAGE_CLASSIFIERS, PROPOSAL_BACKENDS, VISUAL_SOURCES, make_proposer
from msl_core.teachers.proposals import ProposalConfig
from msl_core.teachers.pseudo_labels import LabelConfig

READS = {"tags", "tagger", "audio", "frames", "classifier", "proposals"}


def test_label_sources_read_known_inputs():
    assert {s.name: s.reads for s in AUDIO_SOURCES} == {"tags": ("tags",), "audio_tagger": ("tagger",)}
    for source in VISUAL_SOURCES:
        assert set(source.reads) <= READS and "tagger" not in source.reads, source.name
        assert ("proposals" in source.reads) <= ("classifier" in source.reads)  # crops go through the classifier
    with pytest.raises(ConfigError, match="labels.visual_source.*'clip'.*known: tags, image_classifier"):
        LabelConfig(visual_source="clip")


def test_image_classifiers():
    mobilenet = IMAGE_CLASSIFIERS.get("mobilenet_v2")
    # The converted tflite model: the backbone's file and normalisation, with TF-slim's extra background logit.
    assert mobilenet.shipped == vision_backbone("mobilenet_v2").weights.shipped and mobilenet.background
    assert mobilenet.mean == mobilenet.std == (0.5, 0.5, 0.5)
    for name in ("resnet18", "resnet50"):
        spec = IMAGE_CLASSIFIERS.get(name)
        assert spec.shipped is None and not spec.background and spec.mean == IMAGENET_MEAN


def test_proposal_backends_name_config_keys(tmp_path):
    keys = {f.name for f in fields(ProposalConfig)}
    for backend in PROPOSAL_BACKENDS:
        assert set(backend.files.values()) <= keys and set(backend.required) <= set(backend.files.values())
    with pytest.raises(ConfigError, match="proposals.backend.*'ssd'"):
        make_proposer(ProposalConfig(backend="ssd"))
    with pytest.raises(ConfigError, match="proposals.faster_rcnn_weights"):  # the faster-rcnn entry builds its proposer
        make_proposer(ProposalConfig(backend="faster-rcnn"))
