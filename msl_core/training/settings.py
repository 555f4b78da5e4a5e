"""Validated workflow config → the typed settings of training and localisation (shared by rules and the CLI)."""

from __future__ import annotations

from msl_core.errors import ConfigError


def _dataset(config: dict, dataset: str) -> dict:
    try:
        return config["datasets"][dataset]
    except KeyError:
        raise ConfigError(f"datasets.{dataset}", "no such dataset in the config") from None


def _preset_or_train(config: dict, dataset: str, stage: int, key: str):
    """Scenes take `<key>_stage<k>` from their preset when it sets one; otherwise train.stage<k>.<key>."""
    if _dataset(config, dataset)["kind"] == "scenes":
        value = config["scenes"]["presets"][config["preset"]].get(f"{key}_stage{stage}")
        if value is not None:
            return value
    return config["train"][f"stage{stage}"][key]


def stage_epochs(config: dict, dataset: str, stage: int) -> int:
    return _preset_or_train(config, dataset, stage, "epochs")


def vision_weights(config: dict, dataset: str) -> str | None:
    """The ImageNet checkpoint of the dataset's vision backbone. A backbone without one would start from random
    weights, which changes what every number means: refused unless `model.allow_random_init` says so."""
    if _dataset(config, dataset)["vision_backbone"] == "mobilenet_v2":
        return "results/weights/mobilenet_v2_imagenet.pt"  # rule convert_mobilenet
    weights = config["model"]["resnet18_weights"]
    if not weights and not config["model"].get("allow_random_init", False):
        raise ConfigError("model.resnet18_weights", f"is not set, so dataset '{dataset}''s resnet18 vision backbone "
                          "would start from random weights: set it to a torchvision ImageNet resnet18 state dict, use "
                          f"datasets.{dataset}.vision_backbone: mobilenet_v2 (shipped weights), or set "
                          "model.allow_random_init: true")
    return weights


def audio_weights(config: dict) -> str | None:
    """The AudioSet release a pretrained audio backbone starts from (None for the reference's from-scratch ResNet)."""
    m = config["model"]
    if m["audio_backbone"] == "resnet18":
        return None
    if not m["efficientat_weights"]:
        raise ConfigError("model.efficientat_weights", f"is not set: audio_backbone {m['audio_backbone']} starts "
                                                       "from the EfficientAT AudioSet release")
    return m["efficientat_weights"]


def front_end_settings(config: dict) -> dict:
    """What the log-mel rules compute: the audio backbone's front end (the `audio:` keys only where they apply)."""
    backbone = config["model"]["audio_backbone"]
    return {"audio_backbone": backbone, "audio": config["audio"] if backbone == "resnet18" else {}}


def result_warnings(config: dict, dataset: str) -> list[str]:
    """Settings that change what the dataset's numbers mean (shown on the console, in metrics.json and the report)."""
    settings, warnings = _dataset(config, dataset), []
    if settings["vision_backbone"] == "resnet18" and not config["model"]["resnet18_weights"]:
        warnings.append("the vision ResNet-18 started from random weights (model.allow_random_init: true)")
    if settings["kind"] == "flickr" and settings.get("test_audio") == "window":
        warnings.append("test audio is the training window, not the reference's whole peak-normalised file "
                        f"(datasets.{dataset}.test_audio: window)")
    return warnings


def model_settings(config: dict, dataset: str) -> dict:
    """Keyword arguments of `ModelConfig` (besides the categories, which come from labels.h5)."""
    backbone = _dataset(config, dataset)["vision_backbone"]
    m = config["model"]
    return {
        "vision_backbone": backbone,
        "audio_backbone": m["audio_backbone"],
        "embed_dim": m["embed_dim"],
        "hidden_dim": m["hidden_dim"],
        "freeze_vision_stages": m["freeze_vision_stages"][backbone],
    }


def train_settings(config: dict, dataset: str, stage: int) -> dict:
    """Keyword arguments of `TrainConfig` for a stage."""
    t = config["train"]
    s = t[f"stage{stage}"]
    settings = {
        "stage": stage,
        "epochs": stage_epochs(config, dataset, stage),
        "lr": _preset_or_train(config, dataset, stage, "lr"),
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


def localize_settings(config: dict) -> dict:
    """Keyword arguments of `LocalizationConfig`."""
    e = config["evaluate"]
    return {
        "class_threshold": e["class_threshold"],
        "reference_double_sigmoid": e["reference_double_sigmoid"],
        "map_size": e["map_size"],
        "gate": e["gate"],
    }
