# Shared by every rule file: config validation, dataset lookup, wildcard constraints, named input functions.
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


validate(config, "../schemas/config.schema.yaml")

DATASETS = list(config["datasets"])
SCENES = [name for name, ds in config["datasets"].items() if ds["kind"] == "scenes"]
RAW_DATASETS = [name for name in DATASETS if name not in SCENES]


def _alternation(names):
    return "|".join(names) if names else "(?!)"


wildcard_constraints:
    dataset=_alternation(DATASETS),
    raw_dataset=_alternation(RAW_DATASETS),


def dataset_config(dataset):
    return config["datasets"][dataset]


def manifest_path(wildcards):
    """The built-in scenes write their manifest beside the videos; user datasets get one from their adapter."""
    if wildcards.dataset in SCENES:
        return f"results/{wildcards.dataset}/videos/manifest.csv"
    return f"results/{wildcards.dataset}/manifest.csv"


def raw_data(wildcards):
    """Planning-time check that a user dataset is configured and present, naming the key to set."""
    settings = dataset_config(wildcards.raw_dataset)
    needed = {"root": settings.get("root")}
    if settings["kind"] == "audioset_instrument":
        needed["tags"] = settings.get("tags")
    if settings["kind"] == "manifest":
        needed = {"manifest": settings.get("manifest")}
    for key, value in needed.items():
        if not value:
            raise WorkflowError(
                f"dataset '{wildcards.raw_dataset}' is not configured: set datasets.{wildcards.raw_dataset}.{key} "
                f"in config.yaml (or --config) to your copy of the data"
            )
        if not Path(value).exists():
            raise WorkflowError(
                f"dataset '{wildcards.raw_dataset}': datasets.{wildcards.raw_dataset}.{key} = {value} does not exist"
            )
    return list(needed.values())


def raw_dataset_settings(wildcards):
    return dataset_config(wildcards.raw_dataset)


def window_seconds(wildcards):
    return dataset_config(wildcards.dataset)["window_s"]
