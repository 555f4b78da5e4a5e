# Evaluation: distributed test annotations → COCO; maps.h5 + map-free baselines → metrics, pictures, report entries.
# (Named functions live here until common.smk adopts them; they only read the validated config.)

CONVERTED_FORMATS = ("flickr-gtdata", "flickr-xml", "audioset-instrument", "coco")
ANNOTATION_KEYS = {
    "flickr-gtdata": ("gtdata", "split"),
    "flickr-xml": ("xml_dir",),
    "audioset-instrument": ("normav",),
    "coco": ("coco",),
}


def _converted(name):
    """Datasets whose test.json comes from configured annotation files (scenes and AVE write theirs themselves)."""
    settings = config["datasets"][name]
    source = settings.get("annotations") or {}
    fmt = source.get("format")
    if settings["kind"] == "scenes" or fmt not in CONVERTED_FORMATS:
        return False
    return any(source.get(key) for key in ANNOTATION_KEYS[fmt])


ANNOTATED = [name for name in config["datasets"] if _converted(name)]


def annotation_sources(wildcards):
    """Input files of convert_annotations, checked at planning time; the error names the config key to set."""
    settings = config["datasets"][wildcards.dataset]
    source = settings["annotations"]
    fmt = source["format"]
    paths = {key: source.get(key) for key in ANNOTATION_KEYS[fmt]}
    if fmt == "flickr-xml" and source.get("split"):
        paths["split"] = source["split"]
    if fmt == "audioset-instrument":
        paths["tags"] = settings.get("tags")
    for key, value in paths.items():
        where = f"datasets.{wildcards.dataset}." + ("tags" if key == "tags" else f"annotations.{key}")
        if not value:
            raise WorkflowError(f"format '{fmt}' needs {where}: set it in config.yaml (or --config)")
        if not Path(value).exists():
            raise WorkflowError(f"{where} = {value} does not exist")
    return paths


def annotation_format(wildcards):
    return config["datasets"][wildcards.dataset]["annotations"]["format"]


def evaluation_settings(wildcards):
    """Every value that changes the numbers (a change reruns `evaluate`)."""
    protocol = config["datasets"][wildcards.dataset]["protocol"]
    settings = config["evaluate"]
    threshold = settings["audioset_ciou_threshold"] if protocol == "audioset-instrument" else settings["ciou_threshold"]
    return {
        "protocol": protocol,
        "threshold": threshold,
        "success_ciou": settings["success_ciou"],
        "centre_sigma": settings["centre_sigma"],
        "baselines": list(settings["baselines"]),
        "allow_missing_maps": config["skip_bad_inputs"],
    }


rule convert_annotations:
    input:
        unpack(annotation_sources),
    output:
        "results/{dataset}/annotations/test.json",
    log:
        "results/{dataset}/logs/convert_annotations.log",
    params:
        format=annotation_format,
    wildcard_constraints:
        dataset=_alternation(ANNOTATED),
    script:
        "../scripts/convert_annotations.py"


rule evaluate:
    input:
        maps="results/{dataset}/maps.h5",
        annotations="results/{dataset}/annotations/test.json",
        frames="results/{dataset}/frames.h5",
    output:
        metrics=report(
            "results/{dataset}/metrics.json",
            caption="../report/metrics.rst",
            category="{dataset}",
            subcategory="Evaluation",
            labels={"dataset": "{dataset}", "figure": "all numbers (JSON)"},
        ),
        ciou="results/{dataset}/ciou.txt",
        auc="results/{dataset}/auc.txt",
        heatmaps=report(
            "results/{dataset}/heatmaps.png",
            caption="../report/heatmaps.rst",
            category="{dataset}",
            subcategory="Evaluation",
            labels={"dataset": "{dataset}", "figure": "heatmaps: best, median, worst"},
        ),
        per_class=report(
            "results/{dataset}/per_class.png",
            caption="../report/per_class.rst",
            category="{dataset}",
            subcategory="Evaluation",
            labels={"dataset": "{dataset}", "figure": "per-class cIoU"},
        ),
    log:
        "results/{dataset}/logs/evaluate.log",
    benchmark:
        "results/{dataset}/benchmarks/evaluate.tsv"
    params:
        settings=evaluation_settings,
    resources:
        mem_mb=2000,
    script:
        "../scripts/evaluate.py"
