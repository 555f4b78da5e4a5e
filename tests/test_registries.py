"""Every `enum` of the config schema is tied to the registry (or constant) the code dispatches on: the values a
user may write are exactly the names the code knows, so a choice can be neither offered and unknown nor known and
refused. A new enum fails here until it is tied to its registry."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from msl_core.adapters import DATASET_KINDS
from msl_core.annotations import ANNOTATION_FORMATS
from msl_core.config import SCHEMA_PATH
from msl_core.dataset_protocols import DATASET_PROTOCOLS
from msl_core.errors import ConfigError
from msl_core.evaluation import BASELINES
from msl_core.models.backbones import AUDIO_BACKBONES, VISION_BACKBONES
from msl_core.models.coarse_to_fine import VISUAL_EMBEDDINGS
from msl_core.models.localization import GATES, SNAPS
from msl_core.models.losses import PAIRS
from msl_core.registry import Registry
from msl_core.teachers import categories, proposals, pseudo_labels
from msl_core.teachers.choices import AUDIO_SOURCES, IMAGE_CLASSIFIERS, PROPOSAL_BACKENDS, VISUAL_SOURCES
from msl_core.training.loop import SELECT

REPO = Path(__file__).resolve().parents[1]


def config_schema_path() -> Path:
    return SCHEMA_PATH


def schema_enums(node, path=()):
    """(dotted path, enum values) of every enum; `$defs.dataset` reads as `dataset`, array items as `[]`."""
    if isinstance(node, dict):
        if "enum" in node:
            yield ".".join(path), node["enum"]
        for name, sub in {**node.get("$defs", {}), **node.get("properties", {})}.items():
            yield from schema_enums(sub, (*path, name))
        if isinstance(node.get("items"), dict):
            yield from schema_enums(node["items"], (*path, "[]"))


def presets() -> tuple[str, ...]:
    return tuple(yaml.safe_load((REPO / "config.yaml").read_text())["scenes"]["presets"])


# Schema path → the names the code knows. Extension points are registries; two-way switches that no one extends
# are tied to the constant their code checks.
TIED = {
    "dataset.kind": DATASET_KINDS,
    "dataset.protocol": DATASET_PROTOCOLS,
    "dataset.vision_backbone": VISION_BACKBONES,
    "model.audio_backbone": AUDIO_BACKBONES,
    "model.visual_embedding": VISUAL_EMBEDDINGS,
    "dataset.annotations.format": ANNOTATION_FORMATS,
    "dataset.categories": categories.KINDS,
    "dataset.labels.audio_source": AUDIO_SOURCES,
    "labels.audio_source": AUDIO_SOURCES,
    "dataset.labels.visual_source": VISUAL_SOURCES,
    "labels.visual_source": VISUAL_SOURCES,
    "dataset.labels.image_classifier": IMAGE_CLASSIFIERS,
    "labels.image_classifier": IMAGE_CLASSIFIERS,
    "dataset.labels.normalise": pseudo_labels.NORMALISATIONS,
    "labels.normalise": pseudo_labels.NORMALISATIONS,
    "proposals.backend": PROPOSAL_BACKENDS,
    "proposals.faster_rcnn_arch": proposals.FASTER_RCNN_ARCHS,
    "train.stage2.pairs": PAIRS,
    "train.select": SELECT,
    "evaluate.gate": GATES,
    "evaluate.snap": SNAPS,
    "evaluate.baselines.[]": BASELINES,
    "preset": presets(),
}
# Enums with no code-side list (each checked where it is read, with its own error); documented here on purpose.
UNTIED = {
    "dataset.test_audio": "whole_file | window: read by the workflow's WHOLE_FILE_TEST and training.inference",
    "scenes.backgrounds": "a single value (skimage) until a second background source exists",
    "train.cache_trunk": "auto | true | false: a switch, read by config.settings.trunk_settings",
}


def names(known) -> set[str]:
    return set(known.names() if isinstance(known, Registry) else known)


def test_every_enum_is_tied_or_documented():
    paths = {path for path, _ in schema_enums(yaml.safe_load(config_schema_path().read_text()))}
    assert paths == set(TIED) | set(UNTIED), "tie each new enum to its registry in TIED (or explain it in UNTIED)"


@pytest.mark.parametrize(("path", "values"), [(path, values) for path, values in schema_enums(
    yaml.safe_load(config_schema_path().read_text())) if path not in UNTIED], ids=lambda v: v if isinstance(v, str) else "")
def test_enum_values_are_the_registry_names(path, values):
    # null in a dataset's labels block inherits the global `labels:` value; it names no entry.
    assert {v for v in values if v is not None} == names(TIED[path])


def test_freeze_vision_stages_has_one_bound_per_vision_backbone():
    """`model.freeze_vision_stages` is keyed by vision backbone; each bound is that backbone's stage count."""
    schema = yaml.safe_load(config_schema_path().read_text())
    per_backbone = schema["properties"]["model"]["properties"]["freeze_vision_stages"]["properties"]
    assert set(per_backbone) == names(VISION_BACKBONES)
    for name, bound in per_backbone.items():
        assert bound["maximum"] == VISION_BACKBONES.get(name).stages


def test_protocol_threshold_keys_and_reference_defaults():
    """Each protocol's threshold key exists under `evaluate:` and defaults to the protocol's reference threshold."""
    evaluate = yaml.safe_load(config_schema_path().read_text())["properties"]["evaluate"]["properties"]
    for protocol in DATASET_PROTOCOLS:
        assert evaluate[protocol.threshold_key]["default"] == protocol.threshold, protocol.name


def test_backbone_weight_keys_exist_in_the_schema():
    model = yaml.safe_load(config_schema_path().read_text())["properties"]["model"]["properties"]
    keys = [spec.weights.key for spec in [*VISION_BACKBONES, *AUDIO_BACKBONES] if spec.weights.key]
    assert keys and all(key.startswith("model.") and key.removeprefix("model.") in model for key in keys)


def test_a_registry_refuses_a_name_twice_and_names_the_known_ones():
    registry = Registry("widget", "section.widget")
    registry.register(DATASET_PROTOCOLS.get("flickr"), "a")
    with pytest.raises(ValueError, match="widget 'a' is registered twice"):
        registry.register(DATASET_PROTOCOLS.get("flickr"), "a")
    with pytest.raises(ConfigError, match="config key 'datasets.x.widget': 'b' is not a known widget; known: a"):
        registry.get("b", "datasets.x.widget")
    assert "a" in registry and "b" not in registry and registry.names() == ("a",)
