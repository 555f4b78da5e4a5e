"""ScenesConfig from config.yaml: presets, the seed, and errors naming the key."""

from __future__ import annotations

import pytest
import yaml

from msl_core.config import load_config
from msl_core.errors import ConfigError
from msl_core.scenes.config import PRESETS, ScenesConfig, from_config


@pytest.fixture(scope="module")
def config(repo):
    return yaml.safe_load((repo / "config.yaml").read_text())


def scenes_config(repo, preset):
    return from_config(load_config(repo / "config.yaml", {"preset": preset}))


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_of_config_yaml_builds_a_config(repo, config, preset):
    cfg = scenes_config(repo, preset)
    sizes = config["scenes"]["presets"][preset]
    assert (cfg.n_clips, cfg.duration_s) == (sizes["n_clips"], sizes["duration_s"])
    assert cfg.seed == config["seed"] and cfg.width == config["scenes"]["width"]


def test_top_level_preset_key_chooses(repo, config):
    assert scenes_config(repo, "tiny").n_clips == config["scenes"]["presets"]["tiny"]["n_clips"]


def test_unknown_preset_names_the_key(repo):
    with pytest.raises(ConfigError, match="'preset'.*huge"):
        scenes_config(repo, "huge")


def test_bad_values_name_their_key():
    with pytest.raises(ConfigError, match="scenes.sounding_per_second"):
        ScenesConfig(objects_per_clip=(2, 3), sounding_per_second=(2, 2))
    with pytest.raises(ConfigError, match="scenes.width/height"):
        ScenesConfig(width=321)
