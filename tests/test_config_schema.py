"""The config schema: every key documented with a default, and bad values rejected naming the key."""

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from support.workspace import REPO

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_shipped_config_is_valid(config):
    validate(copy.deepcopy(config), str(SCHEMA))


def walk(node, path=""):
    if not isinstance(node, dict):
        return
    for name, sub in node.get("properties", {}).items():
        yield f"{path}.{name}".lstrip("."), sub
        yield from walk(sub, f"{path}.{name}")


def test_every_key_has_type_description_and_default():
    schema = yaml.safe_load(SCHEMA.read_text())
    nodes = list(walk(schema)) + list(walk(schema["$defs"]["dataset"], "datasets.<name>"))
    assert len(nodes) > 30
    for key, node in nodes:
        assert "description" in node, key
        assert "default" in node or node.get("type") == "object", key
        assert "type" in node or "$ref" in node, key


@pytest.mark.parametrize("edit, key", [
    (lambda c: c["audio"].__setitem__("n_mels", "64"), "n_mels"),
    (lambda c: c.__setitem__("devise", "cpu"), "devise"),
    (lambda c: c.__setitem__("preset", "huge"), "huge"),
    (lambda c: c["datasets"]["flickr"].__setitem__("window_s", -1), "window_s"),
])
def test_bad_values_are_rejected_naming_the_key(config, edit, key):
    edit(config)
    with pytest.raises(WorkflowError) as err:
        validate(config, str(SCHEMA))
    assert key in str(err.value)


def test_command_line_booleans_take_any_case(repo):
    from msl_core.config_values import coerce_booleans

    config = {"skip_bad_inputs": "true", "model": {"allow_random_init": "False"}, "seed": "true",
              "datasets": {"x": {"kind": "flickr", "root": "true"}}, "ingest": {"shard_clips": "3"}}
    coerce_booleans(config, repo / "workflow/schemas/config.schema.yaml")
    assert config["skip_bad_inputs"] is True and config["model"]["allow_random_init"] is False
    assert config["ingest"]["shard_clips"] == 3
    assert config["seed"] == "true" and config["datasets"]["x"]["root"] == "true"  # not booleans: left to validation
