"""Every config leaf takes effect: changing it changes what some rule is handed (its params, inputs or outputs, or
the default targets), on the default preset as well as tiny; the few throughput-only keys are listed with why.

The contract is read from the parsed workflow itself (Snakemake's API, ~0.5 s a parse): every rule's params and
input functions are called for every configured dataset, so a value that validation accepts and no rule reads
shows up here as an unchanged contract.
"""

from __future__ import annotations

import copy
import inspect
from pathlib import Path

import pytest
import yaml
from snakemake.api import SnakemakeApi
from snakemake.exceptions import WorkflowError
from snakemake.io import apply_wildcards
from snakemake.iocontainers import Namedlist, Wildcards
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

from msl_core.config import schema, validated
from msl_core.config.load import PRESET_SCENES
from msl_core.errors import MslError

REPO = Path(__file__).resolve().parents[1]

# Keys that change how fast, never what: scripts read them from the config, not from params (a change reruns nothing).
THROUGHPUT_ONLY = {
    "device": "where the networks run (CPU and GPU give the same results up to float rounding)",
    "train.workers": "data-loader processes",
    # the train rules' gpu resource follows it (tests/test_distributed.py checks it and the equal results)
    "train.gpus": "training processes, one per GPU: the same losses and weights as one process up to float rounding",
}


def _call(function, wildcards, output):
    kwargs = {"output": output} if "output" in inspect.signature(function).parameters else {}
    try:
        return function(wildcards, **kwargs)
    except (WorkflowError, MslError) as exc:  # a planning-time error is part of the contract (it names what to set)
        return f"error: {exc}"


def _values(items, wildcards, output):
    """Each item's value, input and params functions called ."""
    def value_of(item):
        if getattr(item, "is_callable", lambda: False)():
            item = getattr(item._file, "callable", None) or item._file  # unpack(f) keeps f in a flagged string
        function = item if callable(item) else None
        return _call(function, wildcards, output) if function else item

    return {name: value_of(item) for name, item in items}


def contract(workdir: Path, config: dict, preset: str) -> dict:
    """{rule: {dataset: (params, inputs, outputs)}} of the workflow parsed in `workdir` with `config` as its
    config.yaml and `--config preset=<preset>`, plus the default targets."""
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    overrides = {"preset": preset}
    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        try:
            workflow = api.workflow(resource_settings=ResourceSettings(cores=1),
                                    config_settings=ConfigSettings(config=overrides),
                                    snakefile=workdir / "Snakefile", workdir=workdir)._workflow
        except (WorkflowError, MslError) as exc:  # refused at parse time, naming the key: the value was read
            return {"error": str(exc)}
        datasets = list(workflow.globals["config"]["datasets"])
        table = {"targets": repr(workflow.globals["final_targets"]())}
        for rule in workflow.rules:
            per_dataset = {}
            for name in datasets:
                values = {"dataset": name, "raw_dataset": name, "seed": "1", "shard": "0"}
                output = Namedlist(toclone=[apply_wildcards(str(pattern), values) for pattern in rule.output])
                for key, (start, end) in rule.output._get_names():
                    output._set_name(key, start, end)
                if output and not rule.is_producer(output[0]):
                    continue  # the rule makes nothing for this dataset (its wildcard constraints)
                wc = Wildcards(fromdict={key: values[key] for key in rule.wildcard_names})
                per_dataset[name] = repr((_values(rule.params._allitems(), wc, output),
                                          _values(rule.input._allitems(), wc, output), list(output)))
            table[rule.name] = per_dataset
    return table


def leaves(node: dict, value, path: str, defs: dict):
    """(dotted key, schema node, current value) of every scalar or list setting under `node`."""
    node = defs.get(node.get("$ref", "").rsplit("/", 1)[-1], {}) | node if "$ref" in node else node
    if node.get("type") == "object" and isinstance(value, dict):
        props = node.get("properties")
        children = props.items() if props else ((key, node["additionalProperties"]) for key in value)
        for key, child in children:
            if key in value:
                yield from leaves(child, value[key], f"{path}.{key}".lstrip("."), defs)
        return
    yield path, node, value


def changed(node: dict, value):
    """Another valid value for a leaf: the next enum value, a flipped boolean, a nearby number, another path."""
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "enum" in node:
        return next(v for v in node["enum"] if v not in (value, None))
    if isinstance(value, bool):
        return not value
    if isinstance(value, int) and not isinstance(value, bool):
        top = node.get("maximum")
        return value - 2 if top is not None and value + 2 > top else value + 2  # even: frame sides stay even
    if isinstance(value, float):
        top = node.get("maximum", node.get("exclusiveMaximum"))
        return value * 0.5 if top is not None and value * 1.5 >= top else value * 1.5
    if isinstance(value, list):
        return [*value[:-1], value[-1] + 1] if value and isinstance(value[-1], int) else value[:-1] if len(value) > 1 else [0, 1]
    if value is None and "number" in types:
        return 0.05
    if value is None and "integer" in types:
        return 2
    if value is None and "array" in types:
        return [0, 1]
    if "pattern" in node:
        return "cpu"
    return f"elsewhere/{Path(value).name}" if value else "some/file"


# Leaves that apply only beside another setting: the walk sets that one first (in the base and the change alike).
CONDITIONS = {
    "model.efficientat_weights": {"model.audio_backbone": "efficientat_mn04"},
    "model.resnet18_weights": {"datasets.scenes.vision_backbone": "resnet18"},
    "model.allow_random_init": {"datasets.scenes.vision_backbone": "resnet18"},
    "model.freeze_vision_stages.resnet18": {"datasets.scenes.vision_backbone": "resnet18",
                                           "model.allow_random_init": True},
}

# Values the generic rule above would make invalid.
SPECIAL = {
    "scenes.objects_per_clip": [3, 4],
    "scenes.sounding_per_second": [1, 1],
    "scenes.scale_range": [0.3, 0.6],
    "scenes.gain_db": [-5.0, 0.0],
    "scenes.backgrounds": None,  # one value only (skimage): nothing to change to
}


# Leaves whose value resolves per preset: the change moves away from what the preset resolved it to.
PER_PRESET = {
    "train.cache_trunk": {"default": False, "tiny": True},  # auto caches for default's 5 + 5 epochs, not tiny's 1 + 1
}


def _set(config: dict, key: str, value) -> dict:
    out = copy.deepcopy(config)
    *parents, last = key.split(".")
    node = out
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A copy of the workflow whose ../shared resolves to the real assets (the contract checks their paths)."""
    root = tmp_path_factory.mktemp("contract")
    ws = root / "ws"
    ws.mkdir()
    for name in ("Snakefile", "workflow", "profiles", "envs"):
        (ws / name).symlink_to(REPO / name)
    (root / "shared").symlink_to(REPO.parent / "shared")
    return ws


SHIPPED = validated(yaml.safe_load((REPO / "config.yaml").read_text()))
PRESET_SENSITIVE = ("train.", "scenes.")  # what a preset changes: tiny walks these, default walks every leaf


def _leaf_cases():
    config, s = SHIPPED, schema()
    cases = []
    for preset in ("default", "tiny"):
        for key, node, value in leaves(s, config, "", s["$defs"]):
            if key in ("preset", "scenes.presets") or key.startswith("scenes.presets."):
                continue
            if preset == "tiny" and not key.startswith(PRESET_SENSITIVE):
                continue
            cases.append((preset, key, node, value))
        for key, value in config["scenes"]["presets"][preset].items():
            node = s["properties"]["scenes"]["properties"]["presets"]["additionalProperties"]["properties"][key]
            cases.append((preset, f"scenes.presets.{preset}.{key}", node, value))
    return cases


CASES = _leaf_cases()


def _preset_sets(preset: str, key: str) -> bool:
    """A `scenes:` key the preset sets wins over config.yaml by design (test_config_schema tests the order)."""
    section, _, name = key.partition(".")
    return section == "scenes" and name in PRESET_SCENES and SHIPPED["scenes"]["presets"][preset].get(name) is not None


def _effective(key: str, value):
    """A dataset's `labels.<k>: null` inherits the global `labels.<k>`: a change must move away from that."""
    parts = key.split(".")
    if value is None and parts[0] == "datasets" and parts[2] == "labels":
        return SHIPPED["labels"][parts[3]]
    return value


@pytest.mark.parametrize("preset", ["default", "tiny"])
def test_every_leaf_changes_what_some_rule_is_handed(workdir, preset):
    bases, silent = {}, []
    for case_preset, key, node, value in CASES:
        if case_preset != preset or key in THROUGHPUT_ONLY or key.endswith(".kind") or _preset_sets(preset, key):
            continue
        new = PER_PRESET[key][preset] if key in PER_PRESET else SPECIAL[key] if key in SPECIAL else \
            changed(node, _effective(key, value))
        if new is None:
            continue
        config = SHIPPED
        for condition, setting in CONDITIONS.get(key, {}).items():
            config = _set(config, condition, setting)
        names = tuple(CONDITIONS.get(key, {}))
        if names not in bases:
            bases[names] = contract(workdir, config, preset)
        after = contract(workdir, _set(config, key, new), preset)
        if after == bases[names]:
            silent.append(f"{key}: {value!r} -> {new!r}")
    assert not silent, "settings that change nothing any rule is handed:\n" + "\n".join(silent)


def test_the_walk_covers_the_schema():
    keys = {key for _, key, _, _ in CASES}
    assert {"train.stage2.lr", "labels.audio_source", "audio.n_mels", "datasets.scenes.labels.audio_source",
            "datasets.flickr.annotations.gtdata", "evaluate.gate", "scenes.presets.default.lr_stage2"} <= keys
    assert len(keys) > 120
