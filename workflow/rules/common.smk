# Shared by all the .smk files: dataset lookup and the named input/params functions, stage by stage.
# (Rule files hold rules only; the Snakefile validates the config and sets the wildcard constraints.)
import sys
from dataclasses import asdict
from pathlib import Path

from snakemake.exceptions import WorkflowError

from msl_core.adapters import DATASET_KINDS, build_manifest, check_splits
from msl_core.annotations import ANNOTATION_FORMATS, annotation_key
from msl_core.dataset_protocols import dataset_protocol
from msl_core.errors import MslError
from msl_core.seeds import run_folder, training_seeds
from msl_core.spectrogram import front_end
from msl_core.teachers.choices import AUDIO_SOURCES, IMAGE_CLASSIFIERS, PROPOSAL_BACKENDS, VISUAL_SOURCES
from msl_core.splits import describe, split_counts
from msl_core.scenes.config import from_config as scenes_from_config
from msl_core.config import settings as cfg

DATASETS = list(config["datasets"])
SCENES = [name for name, ds in config["datasets"].items() if DATASET_KINDS.get(ds["kind"]).built_in]
RAW_DATASETS = [name for name in DATASETS if name not in SCENES]


def _alternation(names):
    return "|".join(names) if names else "(?!)"


def dataset_config(dataset):
    return config["datasets"][dataset]


def _raw_data_keys(dataset):
    """{config key (under datasets.<name>): value} of the files a user dataset cannot run without."""
    settings = dataset_config(dataset)
    return DATASET_KINDS.get(settings["kind"]).required(settings)


def final_targets():
    """The default targets: the built-in scenes plus every user dataset whose raw data is configured."""
    ready = [name for name in RAW_DATASETS if all(_raw_data_keys(name).values())]
    return [f"results/{name}/{output}" for name in SCENES + ready for output in dataset_targets(name)]


def score_target(name):
    """What a dataset ends in: ciou.txt where it has test boxes, else (AVE without boxes) the event accuracy."""
    if name in SCENES or _converted(name):
        return "ciou.txt"
    if DATASET_KINDS.get(dataset_config(name)["kind"]).events:
        return "events.txt"
    return "ciou.txt"


def dataset_targets(name):
    """A dataset's default outputs: its score, the field's protocols where it has boxes, labels, proposals and
    (evaluate.overlays > 0) `msl locate` overlays of its first test clips."""
    score = score_target(name)
    boxed = ("protocols.md",) if score == "ciou.txt" else ()
    overlays = ("overlays.png",) if config["evaluate"]["overlays"] else ()
    return (score, *boxed, "labels_report.md", "proposals.h5", *overlays)


def manifest_path(wildcards):
    """The built-in scenes write their manifest beside the videos; user datasets get one from their adapter."""
    if wildcards.dataset in SCENES:
        return f"results/{wildcards.dataset}/videos/manifest.csv"
    return f"results/{wildcards.dataset}/manifest.csv"


def configured_paths(paths, unset_message):
    """{config key: path} → the same paths; a planning-time error names the key that is unset or points nowhere.
    `unset_message` is a format string with `{key}`."""
    for key, value in paths.items():
        if not value:
            raise WorkflowError(unset_message.format(key=key))
        if not Path(value).exists():
            raise WorkflowError(f"{key} = {value} does not exist")
    return paths


def raw_data(wildcards):
    """Planning-time check that a user dataset is configured and present, naming the key to set, and that its
    splits hold clips whose media exist (msl_core.adapters.check_splits)."""
    name = wildcards.raw_dataset
    keys = {f"datasets.{name}.{key}": value for key, value in _raw_data_keys(name).items()}
    unset = f"dataset '{name}' is not configured: set {{key}} in config.yaml (or --config) to your copy of the data"
    paths = list(configured_paths(keys, unset).values())
    planned_splits(name)
    return paths


_PLANNED = {}


def planned_splits(name):
    """Build the dataset's manifest once per invocation, check its splits and print the counts (or the error)."""
    if name not in _PLANNED:
        try:
            manifest = build_manifest(name, dataset_config(name), config["seed"])
            warnings = check_splits(manifest, name, config["skip_bad_inputs"])
        except MslError as exc:
            raise WorkflowError(str(exc)) from None
        for text in warnings:
            print(f"msl: warning: {text}", file=sys.stderr)
        _PLANNED[name] = split_counts(manifest)
        print(f"msl: {name}: {describe(_PLANNED[name], 'clips')}", file=sys.stderr)
    return _PLANNED[name]


# Dataset keys that later rules read and the manifest never does: a change to them must not rebuild the manifest
# (and with it ingest and everything after).
NOT_MANIFEST = ("labels", "categories", "protocol", "vision_backbone")


def raw_dataset_settings(wildcards):
    settings = dataset_config(wildcards.raw_dataset)
    return {key: value for key, value in settings.items() if key not in NOT_MANIFEST}


# Datasets whose test rows hear their whole recording, peak-normalised (the reference's Flickr test loader).
WHOLE_FILE_TEST = [name for name in RAW_DATASETS
                   if DATASET_KINDS.get(dataset_config(name)["kind"]).test_audio
                   and dataset_config(name).get("test_audio") == "whole_file"]


FRONT_END = cfg.front_end_settings(config)
FRONT_END_SAMPLE_RATE = front_end(FRONT_END["audio_backbone"], FRONT_END["audio"]).sample_rate  # what ingest decodes to
SHARDS = config["ingest"]["shard_clips"]
INGESTED = {"index": "index.csv", "rejected": "rejected.csv", "frames": "frames.h5", "audio": "audio.h5"}


def ingest_params(shard_count):
    """What the decode depends on: a log-mel parameter other than the sample rate reruns `logmel` only."""
    return dict(window_s=window_seconds, size=config["frames"]["size"], sample_rate=FRONT_END_SAMPLE_RATE,
                skip_bad_inputs=config["skip_bad_inputs"], shards=shard_count)


def window_seconds(wildcards):
    return dataset_config(wildcards.dataset)["window_s"]


# Built-in scenes dataset (scenes.smk)


SCENES_CACHE = config["scenes"].get("cache_dir", ".cache/msl")
SCENES_SPLITS = ["train", "val", "test"]


def stamps_cache_dir(wildcards, output):
    """The cache folder, derived from the catalogue's path (<cache_dir>/stamps/catalogue.csv)."""
    return str(Path(output.catalogue).parent.parent)


def scenes_settings():
    """Every value that changes the videos (preset sizes, seed, layout), validated once at parse time."""
    settings = asdict(scenes_from_config(config))
    return {key: list(value) if isinstance(value, tuple) else value for key, value in settings.items()}


# Pseudo labels, teachers and proposals (labels.smk)
MOBILENET_WEIGHTS = IMAGE_CLASSIFIERS.get("mobilenet_v2").shipped  # rule convert_mobilenet writes it


def label_settings(wildcards):
    """The `labels:` section as it applies to the dataset (msl_core.config resolved its own block over it)."""
    return cfg.label_settings(config, wildcards.dataset)


def category_kind(wildcards):
    return dataset_config(wildcards.dataset)["categories"]


def pseudo_label_inputs(wildcards):
    """The index, plus the teachers' weights and the frames only for the sources that use them."""
    settings = label_settings(wildcards)
    inputs = {"index": f"results/{wildcards.dataset}/index.csv"}
    visual = VISUAL_SOURCES.get(settings["visual_source"]).reads
    if "tagger" in AUDIO_SOURCES.get(settings["audio_source"]).reads:
        inputs["tagger"] = settings["tagger_weights"]
        inputs["ontology"] = settings["ontology"]
        inputs["audioset_labels"] = settings["audioset_labels"]
    if "classifier" in visual:
        inputs["frames"] = f"results/{wildcards.dataset}/frames.h5"
        inputs["classifier"] = image_classifier_weights(settings)
    if "proposals" in visual:
        inputs["proposals"] = f"results/{wildcards.dataset}/proposals.h5"
    return inputs


def image_classifier_weights(settings):
    if settings["image_classifier_weights"]:
        return settings["image_classifier_weights"]
    shipped = IMAGE_CLASSIFIERS.get(settings["image_classifier"]).shipped
    if shipped:
        return shipped
    raise WorkflowError(
        f"labels.image_classifier is {settings['image_classifier']}: set labels.image_classifier_weights to its "
        "torchvision ImageNet state dict (random weights would give meaningless labels)"
    )


def labels_report_inputs(wildcards):
    """With tag-based labels, the report also measures the audio tagger against those true tags."""
    settings = label_settings(wildcards)
    inputs = {"index": f"results/{wildcards.dataset}/index.csv", "labels": f"results/{wildcards.dataset}/labels.h5"}
    if "tags" in AUDIO_SOURCES.get(settings["audio_source"]).reads and settings["tagger_weights"]:
        inputs["tagger"] = settings["tagger_weights"]
    return inputs


def proposal_inputs(wildcards):
    settings = config["proposals"]
    inputs = {"frames": f"results/{wildcards.dataset}/frames.h5"}
    backend = PROPOSAL_BACKENDS.get(settings["backend"])
    for key in backend.required:
        if not settings[key]:
            raise WorkflowError(f"proposals.backend is {backend.name}: set proposals.{key} to its weights file")
    return inputs | {name: settings[key] for name, key in backend.files.items()}


def proposal_settings(wildcards):
    return cfg.proposal_settings(config)


# Training and localisation (train.smk)


def train_inputs(wildcards):
    inputs = {
        "frames": f"results/{wildcards.dataset}/frames.h5",
        "logmel": f"results/{wildcards.dataset}/logmel.h5",
        "labels": f"results/{wildcards.dataset}/labels.h5",
        "index": f"results/{wildcards.dataset}/index.csv",
    }
    try:
        weights = cfg.vision_weights(config, wildcards.dataset)
    except MslError as exc:
        raise WorkflowError(str(exc)) from None
    if weights:
        inputs["vision_weights"] = weights
    try:
        audio = cfg.audio_weights(config)
    except MslError as exc:
        raise WorkflowError(str(exc)) from None
    if audio:
        inputs["audio_weights"] = audio
    if wildcards.dataset in SCENES:  # the val boxes: each epoch also reports the val success rate
        inputs["val_boxes"] = f"results/{wildcards.dataset}/annotations/val.json"
    if trunk_settings(wildcards):  # the cached frozen trunk: training reads it instead of the frames
        inputs["trunk"] = f"results/{wildcards.dataset}/trunk.h5"
    return inputs


def trunk_settings(wildcards):
    try:
        return cfg.trunk_settings(config, wildcards.dataset)
    except MslError as exc:
        raise WorkflowError(str(exc)) from None


def trunk_inputs(wildcards):
    """frames.h5 and the frozen stages' weights (rule trunk_features)."""
    inputs = train_inputs(wildcards)
    return {key: inputs[key] for key in ("frames", "vision_weights") if key in inputs}


def stage2_inputs(wildcards):
    return {**train_inputs(wildcards), "stage1": f"{run_dir(wildcards)}/stage1/model.pt"}


def model_settings(wildcards):
    return cfg.model_settings(config, wildcards.dataset)


def stage1_model_settings(wildcards):
    return cfg.model_settings(config, wildcards.dataset, stage=1)


try:
    SEEDS = training_seeds(config)  # evaluate.seeds, or [seed]; the first one trains at results/<ds>/stage*/
except MslError as exc:
    raise WorkflowError(str(exc)) from None


EXTRA_SEEDS = _alternation([str(seed) for seed in SEEDS[1:]])  # the {seed} wildcard of seeds.smk


def _seed(wildcards):
    """The training seed of a job: its `{seed}` wildcard (seeds.smk), else the first of SEEDS."""
    return int(wildcards.seed) if "seed" in wildcards.keys() else SEEDS[0]


def run_dir(wildcards):
    return run_folder(wildcards.dataset, _seed(wildcards), SEEDS)


def train_gpus(wildcards):
    """The training rules' `gpu` resource: train.gpus processes, one GPU each (the Slurm plugin asks for --gpus)."""
    return cfg.train_gpus(config, wildcards.dataset)


def stage1_settings(wildcards):
    return cfg.train_settings(config, wildcards.dataset, 1) | {"seed": _seed(wildcards)}


def stage2_settings(wildcards):
    return cfg.train_settings(config, wildcards.dataset, 2) | {"seed": _seed(wildcards)}


def localize_inputs(wildcards):
    d, run = f"results/{wildcards.dataset}", run_dir(wildcards)
    inputs = {"frames": f"{d}/frames.h5", "logmel": f"{d}/logmel.h5", "index": f"{d}/index.csv",
              "stage1": f"{run}/stage1/model.pt", "stage2": f"{run}/stage2/model.pt"}
    if wildcards.dataset in WHOLE_FILE_TEST:
        inputs["whole_file_audio"] = f"{d}/logmel_test.h5"
    if config["evaluate"]["snap"] == "proposals":
        inputs["proposals"] = f"{d}/proposals.h5"
    return inputs


def localize_settings(wildcards):
    return cfg.localize_settings(config)


def overlay_settings(wildcards):
    """What `msl locate` draws with: the network's own maps, so `evaluate.snap` (maps.h5 only) is left out."""
    return {k: v for k, v in cfg.localize_settings(config).items()
            if k in ("class_threshold", "gate", "contrast_heard")}


# Annotations and evaluation (evaluate.smk)
# The files each format needs (datasets.<name>.annotations.<key>; msl_core.annotations.ANNOTATION_FORMATS).
ANNOTATION_KEYS = {fmt.name: fmt.keys for fmt in ANNOTATION_FORMATS}


def _converted(name):
    """Datasets whose test.json comes from configured annotation files (the scenes write theirs themselves)."""
    settings = dataset_config(name)
    source = settings.get("annotations") or {}
    fmt = source.get("format")
    if name in SCENES or fmt not in ANNOTATION_FORMATS:
        return False
    return any(source.get(key) for key in ANNOTATION_KEYS[fmt])


ANNOTATED = [name for name in config["datasets"] if _converted(name)]


def annotation_sources(wildcards):
    """Input files of convert_annotations, checked at planning time; the error names the config key to set."""
    settings = dataset_config(wildcards.dataset)
    source = settings["annotations"]
    fmt = source["format"]
    paths = {key: source.get(key) for key in ANNOTATION_KEYS[fmt]}
    spec = ANNOTATION_FORMATS.get(fmt)
    if spec.optional_split and source.get("split"):
        paths["split"] = source["split"]
    if "tags" in spec.required:  # the dataset's test tags (annotation_key)
        paths["tags"] = settings.get("test_tags")
    keyed = {annotation_key(wildcards.dataset, key): value for key, value in paths.items()}
    configured_paths(keyed, f"format '{fmt}' needs {{key}}: set it in config.yaml (or --config)")
    return paths


def test_annotations(wildcards):
    """The COCO test boxes a scored target needs; a dataset without them names the key to set."""
    name = wildcards.dataset
    if name not in SCENES and name not in ANNOTATED:
        fmt = (dataset_config(name).get("annotations") or {}).get("format", "coco")
        keys = ", ".join(f"datasets.{name}.annotations.{key}" for key in ANNOTATION_KEYS.get(fmt, ("coco",)))
        hint = " (or ask for events.txt)" if DATASET_KINDS.get(dataset_config(name)["kind"]).events else ""
        raise WorkflowError(f"dataset '{name}' has no test boxes to score: set {keys}{hint}")
    return f"results/{name}/annotations/test.json"


def annotation_format(wildcards):
    return dataset_config(wildcards.dataset)["annotations"]["format"]


def protocol_annotations(wildcards):
    """The protocols table scores the built-in scenes' probe clips too (negatives, interactive items)."""
    if wildcards.dataset in SCENES:
        return f"results/{wildcards.dataset}/annotations/protocols.json"
    return f"results/{wildcards.dataset}/annotations/test.json"


def protocol_baselines(wildcards):
    return list(config["evaluate"]["baselines"])


def protocol_maps(wildcards):
    """Every training seed's maps.h5, the first seed's first (msl_core.seeds)."""
    return [f"{run_folder(wildcards.dataset, seed, SEEDS)}/maps.h5" for seed in SEEDS]


def further_seed_maps(wildcards):
    """The maps.h5 of every training seed but the first (metrics.json's `seeds` block)."""
    return protocol_maps(wildcards)[1:]


def training_seed_list(wildcards):
    return list(SEEDS)


def evaluation_settings(wildcards):
    """Every value that changes the numbers (a change reruns `evaluate`)."""
    return cfg.evaluation_settings(config, wildcards.dataset)


def result_warnings(wildcards):
    return cfg.result_warnings(config, wildcards.dataset)
