"""A resolved config (msl_core.config.load_config) → the keyword arguments of every typed settings object.

The rules' `params:` and the `msl` subcommands both build their settings here, so one config value reaches one
place; no function here has a default of its own (the schema holds them all).
"""

from __future__ import annotations

from msl_core.adapters import DATASET_KINDS
from msl_core.dataset_protocols import dataset_protocol
from msl_core.errors import ConfigError
from msl_core.models.backbones import audio_backbone, vision_backbone


def _dataset(config: dict, dataset: str) -> dict:
    try:
        return config["datasets"][dataset]
    except KeyError:
        raise ConfigError(f"datasets.{dataset}", "no such dataset in the config") from None


def vision_weights(config: dict, dataset: str) -> str | None:
    """The ImageNet checkpoint of the dataset's vision backbone. A backbone without one would start from random
    weights, which changes what every number means: refused unless `model.allow_random_init` says so."""
    name = _dataset(config, dataset)["vision_backbone"]
    spec = vision_backbone(name).weights
    if spec.shipped:
        return spec.shipped  # converted from the shipped assets by a rule (convert_mobilenet)
    weights = _at(config, spec.key)
    if not weights and not config["model"]["allow_random_init"]:
        raise ConfigError(spec.key, f"is not set, so dataset '{dataset}''s {name} vision backbone would start from "
                          "random weights: set it to a torchvision ImageNet state dict, use "
                          f"datasets.{dataset}.vision_backbone: mobilenet_v2 (shipped weights), or set "
                          "model.allow_random_init: true")
    return weights


def audio_weights(config: dict) -> str | None:
    """The AudioSet release a pretrained audio backbone starts from (None for the reference's from-scratch ResNet)."""
    name = config["model"]["audio_backbone"]
    spec = audio_backbone(name).weights
    if not spec.pretrained:
        return None
    if not _at(config, spec.key):
        raise ConfigError(spec.key, f"is not set: audio_backbone {name} starts from its AudioSet release")
    return _at(config, spec.key)


def front_end_settings(config: dict) -> dict:
    """What the log-mel rules compute: the audio backbone's front end (the `audio:` keys only where they apply)."""
    backbone = config["model"]["audio_backbone"]
    librosa = audio_backbone(backbone).front_end == "librosa"
    return {"audio_backbone": backbone, "audio": config["audio"] if librosa else {}}


def result_warnings(config: dict, dataset: str) -> list[str]:
    """Settings that change what the dataset's numbers mean (shown on the console, in metrics.json and the report)."""
    settings, warnings = _dataset(config, dataset), []
    key = vision_backbone(settings["vision_backbone"]).weights.key
    if key and not _at(config, key):
        warnings.append(f"the vision {settings['vision_backbone']} started from random weights "
                        "(model.allow_random_init: true)")
    if DATASET_KINDS.get(settings["kind"]).test_audio and settings["test_audio"] == "window":
        warnings.append("test audio is the training window, not the reference's whole peak-normalised file "
                        f"(datasets.{dataset}.test_audio: window)")
    return warnings


def _at(config: dict, key: str):
    """The value at a dotted config key (a registry entry names its weights by key)."""
    value = config
    for part in key.split("."):
        value = value[part]
    return value


def model_settings(config: dict, dataset: str, stage: int = 2) -> dict:
    """Keyword arguments of `ModelConfig` (besides the categories, which come from labels.h5). Stage 1 is handed
    no stage-2-only key (stage 2 starts its projectors afresh), so changing one retrains stage 2 alone."""
    backbone = _dataset(config, dataset)["vision_backbone"]
    m = config["model"]
    stage2_only = {"visual_embedding": m["visual_embedding"]} if stage == 2 else {}
    return stage2_only | {
        "vision_backbone": backbone,
        "audio_backbone": m["audio_backbone"],
        "embed_dim": m["embed_dim"],
        "hidden_dim": m["hidden_dim"],
        "freeze_vision_stages": m["freeze_vision_stages"][backbone],
    }


def train_settings(config: dict, dataset: str, stage: int) -> dict:
    """Keyword arguments of `TrainConfig` for a stage."""
    t = _dataset(config, dataset)["train"]  # the preset's epochs and learning rates already applied (load.py)
    s = t[f"stage{stage}"]
    settings = {
        "stage": stage,
        "epochs": s["epochs"],
        "lr": s["lr"],
        "momentum": s["momentum"],
        "weight_decay": s["weight_decay"],
        "batch_size": t["batch_size"],
        "flip_prob": t["flip_prob"],
        "seed": config["seed"],
        "select": t["select"],
    }
    if stage == 2:  # the alignment loss's own values: a change reruns stage 2 only
        settings |= {key: s[key] for key in ("margin", "prob_filter", "background_weight", "pairs")}
    return settings


def train_gpus(config: dict, dataset: str) -> int:
    """Training processes of a dataset's stages (`train.gpus`, one per GPU): each takes batch_size / gpus rows."""
    from msl_core.training.distributed import check_gpus

    t = _dataset(config, dataset)["train"]
    check_gpus(t["gpus"], t["batch_size"])
    return t["gpus"]


def trunk_settings(config: dict, dataset: str) -> dict | None:
    """What rule trunk_features computes the dataset's trunk.h5 with (the frozen vision stages' features), or None
    when training computes them itself (`train.cache_trunk`). `auto` caches where it saves compute: the cache runs
    the frozen stages once per frame and view (2 with flips), training without it once per epoch of either stage."""
    settings = _dataset(config, dataset)
    backbone, t = settings["vision_backbone"], settings["train"]
    frozen = config["model"]["freeze_vision_stages"][backbone]
    views = 2 if t["flip_prob"] > 0 else 1
    wanted = t["cache_trunk"]
    if wanted == "auto":  # random frozen stages (model.allow_random_init) are drawn per run: nothing fixed to cache
        epochs = t["stage1"]["epochs"] + t["stage2"]["epochs"]
        wanted = frozen > 0 and epochs > views and bool(vision_weights(config, dataset))
    elif wanted and frozen == 0:
        raise ConfigError("train.cache_trunk", f"is true, but no {backbone} stage is frozen "
                                               f"(model.freeze_vision_stages.{backbone}: 0)")
    elif wanted and not vision_weights(config, dataset):
        raise ConfigError("train.cache_trunk", f"is true, but the frozen {backbone} stages start from random "
                                               "weights, drawn per run: there is nothing fixed to cache")
    if not wanted:
        return None
    return {"vision_backbone": backbone, "freeze_vision_stages": frozen, "flipped": views == 2}


def localize_settings(config: dict) -> dict:
    """Keyword arguments of `LocalizationConfig`."""
    e = config["evaluate"]
    return {
        "class_threshold": e["class_threshold"],
        "reference_double_sigmoid": e["reference_double_sigmoid"],
        "map_size": e["map_size"],
        "gate": e["gate"],
        "snap": e["snap"],
        "contrast_heard": e["contrast_heard"],
    }


def label_settings(config: dict, dataset: str) -> dict:
    """The `labels:` section as it applies to the dataset (its own block and the command line resolved)."""
    return dict(_dataset(config, dataset)["labels"])


def proposal_settings(config: dict) -> dict:
    return dict(config["proposals"])


def evaluation_settings(config: dict, dataset: str) -> dict:
    """Keyword arguments of `EvalSettings` (with the baselines scored beside the maps)."""
    protocol = _dataset(config, dataset)["protocol"]
    e = config["evaluate"]
    threshold = e[dataset_protocol(protocol).threshold_key]
    return {
        "protocol": protocol,
        "threshold": threshold,
        "success_ciou": e["success_ciou"],
        "centre_sigma": e["centre_sigma"],
        "baselines": list(e["baselines"]),
        "allow_missing_maps": config["skip_bad_inputs"],
    }


def scenes_settings(config: dict) -> dict:
    """Keyword arguments of `ScenesConfig`: the `scenes:` section with the preset's sizes, and the seed."""
    s = config["scenes"]
    keys = ("n_clips", "duration_s", "width", "height", "snr_db", "holdout_stamps", "objects_per_clip",
            "sounding_per_second", "change_prob", "scale_range", "max_occlusion", "max_outside", "gain_db",
            "val_fraction", "test_fraction", "backgrounds", "probe_scenes", "probe_duration_s")
    return {"seed": config["seed"]} | {key: tuple(s[key]) if isinstance(s[key], list) else s[key] for key in keys}
