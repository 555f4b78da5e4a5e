"""The config schema and its one loader: every key documented with a default, bad values rejected naming the key,
and the documented precedence (schema default → config.yaml → dataset block → preset → command line)."""

import pytest
import yaml

from msl_core.config import load_config, schema, validated
from msl_core.config.values import coerce
from msl_core.errors import ConfigError
from support.workspace import REPO


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_shipped_config_is_valid(config):
    validated(config)


def walk(node, path=""):
    if not isinstance(node, dict):
        return
    for name, sub in node.get("properties", {}).items():
        yield f"{path}.{name}".lstrip("."), sub
        yield from walk(sub, f"{path}.{name}")


def test_every_key_has_type_description_and_default():
    s = schema()
    nodes = list(walk(s)) + list(walk(s["$defs"]["dataset"], "datasets.<name>"))
    assert len(nodes) > 30
    for key, node in nodes:
        assert "description" in node, key
        assert "default" in node, key
        assert "type" in node or "$ref" in node, key


def test_schema_alone_is_a_complete_config():
    """Without any config.yaml every section is there at its default (what the `msl` commands fall back on)."""
    c = load_config(None)
    assert c["train"]["stage2"]["margin"] == 1.4 and c["labels"]["sharpen_threshold"] == 0.3
    assert set(c["scenes"]["presets"]) == {"tiny", "default", "large"}


@pytest.mark.parametrize("edit, key", [
    (lambda c: c["audio"].__setitem__("n_mels", "sixty-four"), "audio.n_mels"),
    (lambda c: c.__setitem__("devise", "cpu"), "devise"),
    (lambda c: c.__setitem__("preset", "huge"), "huge"),
    (lambda c: c["datasets"]["flickr"].__setitem__("window_s", -1), "datasets.flickr.window_s"),
    (lambda c: c["datasets"]["scenes"].__setitem__("root", "videos/"), "datasets.scenes.root"),
    (lambda c: c["datasets"]["ave"].__setitem__("test_tags", "t.pkl"), "datasets.ave.test_tags"),
])
def test_bad_values_are_rejected_naming_the_key(config, edit, key):
    edit(config)
    with pytest.raises(ConfigError) as err:
        validated(config)
    assert key in str(err.value)


def test_command_line_strings_take_the_schema_types():
    config = {"skip_bad_inputs": "true", "model": {"allow_random_init": "False"}, "seed": "true",
              "datasets": {"x": {"kind": "flickr", "root": "true"}}, "ingest": {"shard_clips": "3"},
              "train": {"stage2": {"lr": "3e-4"}}, "evaluate": {"seeds": "null"}}
    coerce(config, schema())
    assert config["skip_bad_inputs"] is True and config["model"]["allow_random_init"] is False
    assert config["ingest"]["shard_clips"] == 3 and config["train"]["stage2"]["lr"] == 3e-4
    assert config["seed"] == "true" and config["datasets"]["x"]["root"] == "true"  # not booleans: left to validation


def _write(tmp_path, config):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_precedence_schema_global_dataset_preset_command_line(tmp_path, config):
    config["labels"]["sharpen_threshold"] = 0.25                      # global over the schema's 0.3
    config["labels"]["normalise"] = "none"
    config["datasets"]["scenes"]["labels"] = {"normalise": "quantile"}  # dataset block over the global
    config["train"]["stage2"]["lr"] = 5e-4                             # global, but the preset sets lr_stage2
    path = _write(tmp_path, config)

    c = load_config(path)
    scenes, flickr = c["datasets"]["scenes"], c["datasets"]["flickr"]
    assert scenes["labels"]["sharpen_threshold"] == 0.25 and flickr["labels"]["sharpen_threshold"] == 0.25
    assert scenes["labels"]["normalise"] == "quantile" and flickr["labels"]["normalise"] == "none"
    assert scenes["train"]["stage2"]["lr"] == config["scenes"]["presets"]["default"]["lr_stage2"]
    assert flickr["train"]["stage2"]["lr"] == 5e-4                    # presets size the scenes only
    assert c["scenes"]["n_clips"] == config["scenes"]["presets"]["default"]["n_clips"]

    c = load_config(path, {"train": {"stage2": {"lr": "3e-4"}}, "labels": {"normalise": "none"},
                           "preset": "tiny", "scenes": {"probe_scenes": "2"}})
    scenes = c["datasets"]["scenes"]
    assert scenes["train"]["stage2"]["lr"] == 3e-4                    # the command line over the preset
    assert scenes["train"]["stage2"]["epochs"] == config["scenes"]["presets"]["tiny"]["epochs_stage2"]
    assert scenes["labels"]["normalise"] == "none"                    # ... and over the dataset block
    assert c["scenes"]["probe_scenes"] == 2 and c["scenes"]["n_clips"] == 9


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nowhere.yaml"):
        load_config(tmp_path / "nowhere.yaml")
