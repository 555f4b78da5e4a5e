"""The one front door of configuration: read, type, validate, fill the schema's defaults, resolve precedence.

Precedence, lowest first (docs/configuration in the README):
  1. the schema's default (`msl_core/config/schema.yaml`, the only place a default is written);
  2. the global sections of config.yaml (`labels:`, `train:`, `scenes:`, ...);
  3. a dataset's own block (`datasets.<name>.labels`);
  4. the preset, for the built-in scenes (`scenes.presets.<preset>`: sizes, epochs, learning rates);
  5. the command line (`--config` / `overrides`): its global keys, then its dataset blocks.
The resolved config carries, per dataset, the complete `labels` and `train` sections that apply to it, and in
`scenes` the preset's sizes: every settings object is built from those (msl_core.config.settings).
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import yaml

from msl_core.config.values import coerce
from msl_core.errors import ConfigError

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")
PRESET_TRAIN = {"epochs_stage1": ("stage1", "epochs"), "epochs_stage2": ("stage2", "epochs"),
                "lr_stage1": ("stage1", "lr"), "lr_stage2": ("stage2", "lr")}
PRESET_SCENES = ("n_clips", "duration_s", "probe_scenes")
# The dataset keys each kind reads (msl_core.adapters); any other key set away from its default is refused, so
# that a key no rule reads cannot look like a setting.
_COMMON = ("kind", "window_s", "categories", "protocol", "vision_backbone", "labels")
KIND_KEYS = {
    "scenes": _COMMON,
    "flickr": (*_COMMON, "root", "val_fraction", "test_audio", "annotations"),
    "ave": (*_COMMON, "root", "annotations"),
    "audioset_instrument": (*_COMMON, "root", "train_tags", "test_tags", "val_fraction", "annotations"),
    "manifest": (*_COMMON, "manifest", "annotations"),
}


@cache
def _schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def schema() -> dict:
    """The config schema (a copy: callers may walk and edit it)."""
    return copy.deepcopy(_schema())


def default(key: str):
    """The schema's default of a dotted key (`train.stage2.margin`, `datasets.<any>.window_s`): the typed settings
    objects and the commands' options take their defaults from here, so each is written once, in the schema."""
    node, parts = _schema(), key.split(".")
    if parts[0] == "datasets":
        node, parts = _schema()["$defs"]["dataset"], parts[2:]
    for part in parts:
        try:
            node = node["properties"][part]
        except KeyError:
            raise KeyError(f"the config schema has no key {key!r}") from None
    return copy.deepcopy(node["default"])


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> dict:
    """config.yaml at `path` (None: the schema's defaults alone) with command-line `overrides` → resolved config."""
    file_config = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError("--config", f"{path} does not exist")
        file_config = yaml.safe_load(path.read_text()) or {}
        if not isinstance(file_config, dict):
            raise ConfigError(str(path), "is not a YAML mapping of config keys")
    return resolve(_merged(file_config, overrides or {}), overrides or {})


def resolve(config: dict, overrides: dict | None = None) -> dict:
    """A merged config (file, then command line: Snakemake's `config`) → the validated, resolved config.
    `overrides` are the command-line values alone, which win over the preset and the dataset blocks."""
    config = validated(config)
    cli = coerce(copy.deepcopy(dict(overrides or {})), _schema())
    presets = config["scenes"]["presets"]
    if config["preset"] not in presets:
        raise ConfigError("preset", f"unknown preset {config['preset']!r}; scenes.presets defines {sorted(presets)}")
    preset = presets[config["preset"]]
    for name, block in config["datasets"].items():
        block["labels"] = _dataset_labels(config["labels"], name, block.get("labels") or {}, cli)
        block["train"] = _dataset_train(config["train"], preset if block["kind"] == "scenes" else {}, cli)
    config["scenes"] = _scenes(config["scenes"], preset, cli)
    return config


def validated(config: dict) -> dict:
    """A copy of `config`, typed and checked against the schema, with every missing key at its default (no
    precedence applied: each section as written)."""
    config = coerce(copy.deepcopy(dict(config)), _schema())
    _validate(config)
    _check_kinds(config["datasets"])
    return config


@cache
def _kind_defaults(kind: str) -> dict:
    """A dataset block of this kind with every key at its default."""
    block = {"kind": kind}
    list(_filling_validator()({"$defs": _schema()["$defs"], **_schema()["$defs"]["dataset"]}).iter_errors(block))
    return block


def _check_kinds(datasets: dict) -> None:
    for name, block in datasets.items():
        defaults = _kind_defaults(block["kind"])
        for key, value in block.items():
            if key not in KIND_KEYS[block["kind"]] and value != defaults.get(key):
                raise ConfigError(f"datasets.{name}.{key}", f"does not apply to a dataset of kind {block['kind']} "
                                  f"(its keys: {', '.join(KIND_KEYS[block['kind']])})")


def _dataset_labels(global_labels: dict, name: str, own: dict, cli: dict) -> dict:
    """Global `labels:`, the dataset's non-null keys over it, then the command line's (global, then dataset)."""
    cli_own = ((cli.get("datasets") or {}).get(name) or {}).get("labels") or {}
    resolved = dict(global_labels)
    for layer in (own, cli.get("labels") or {}, cli_own):
        resolved |= {key: value for key, value in layer.items() if value is not None}
    return resolved


def _dataset_train(global_train: dict, preset: dict, cli: dict) -> dict:
    """Global `train:`, the preset's epochs and learning rates over it (scenes), then the command line's."""
    resolved = copy.deepcopy(global_train)
    for key, (stage, setting) in PRESET_TRAIN.items():
        if preset.get(key) is not None:
            resolved[stage][setting] = preset[key]
    return _merged(resolved, cli.get("train") or {})


def _scenes(section: dict, preset: dict, cli: dict) -> dict:
    """The `scenes:` section with the preset's sizes (a command-line `scenes.probe_scenes` still wins)."""
    resolved = dict(section) | {key: preset[key] for key in PRESET_SCENES if preset.get(key) is not None}
    cli_scenes = {key: value for key, value in (cli.get("scenes") or {}).items() if key != "presets"}
    return resolved | cli_scenes


def _merged(base: dict, top: dict) -> dict:
    """`top` over `base`, mappings merged key by key (as Snakemake merges --config over config.yaml)."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@cache
def _filling_validator():
    """A draft 2020-12 validator that fills each missing property with its schema default before checking it
    (jsonschema is imported here, not at start-up: the many modules that only read `default()` never need it)."""
    import jsonschema

    check_properties = jsonschema.Draft202012Validator.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for key, sub in props.items():
                if isinstance(sub, dict) and "default" in sub:
                    instance.setdefault(key, copy.deepcopy(sub["default"]))
        yield from check_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(jsonschema.Draft202012Validator, {"properties": properties})


def _validate(config: dict) -> None:
    """Fill defaults in place; the first error names the key (dotted path) and what is wrong."""
    errors = sorted(_filling_validator()(_schema()).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        key = ".".join(str(part) for part in error.absolute_path) or "config"
        raise ConfigError(key, error.message)
