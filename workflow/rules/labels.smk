# Pseudo labels, teachers and proposals (docs/architecture.md; method.md §2).
# results/weights/mobilenet_v2_imagenet.pt is shared by every dataset: the training rules take it as input.

MOBILENET_WEIGHTS = "results/weights/mobilenet_v2_imagenet.pt"


def label_settings(wildcards):
    """The `labels:` section with the dataset's own `labels:` overrides (e.g. audio_source per dataset)."""
    return {**config["labels"], **(dataset_config(wildcards.dataset).get("labels") or {})}


def category_kind(wildcards):
    return dataset_config(wildcards.dataset)["categories"]


def pseudo_label_inputs(wildcards):
    """The index, plus the teachers' weights and the frames only for the sources that use them."""
    settings = label_settings(wildcards)
    inputs = {"index": f"results/{wildcards.dataset}/index.csv"}
    if settings["audio_source"] == "audio_tagger":
        inputs["tagger"] = settings["tagger_weights"]
        inputs["ontology"] = settings["ontology"]
        inputs["audioset_labels"] = settings["audioset_labels"]
    if settings["visual_source"] == "image_classifier":
        inputs["frames"] = f"results/{wildcards.dataset}/frames.h5"
        inputs["classifier"] = image_classifier_weights(settings)
    return inputs


def image_classifier_weights(settings):
    if settings["image_classifier_weights"]:
        return settings["image_classifier_weights"]
    if settings["image_classifier"] == "mobilenet_v2":
        return MOBILENET_WEIGHTS
    raise WorkflowError(
        f"labels.image_classifier is {settings['image_classifier']}: set labels.image_classifier_weights to its "
        "torchvision ImageNet state dict (random weights would give meaningless labels)"
    )


def labels_report_inputs(wildcards):
    """With tag-based labels, the report also measures the audio tagger against those true tags."""
    settings = label_settings(wildcards)
    inputs = {"index": f"results/{wildcards.dataset}/index.csv", "labels": f"results/{wildcards.dataset}/labels.h5"}
    if settings["audio_source"] == "tags" and settings["tagger_weights"]:
        inputs["tagger"] = settings["tagger_weights"]
    return inputs


def proposal_inputs(wildcards):
    settings = config["proposals"]
    inputs = {"frames": f"results/{wildcards.dataset}/frames.h5"}
    if settings["backend"] == "yolo-fastest":
        inputs["cfg"] = settings["yolo_cfg"]
        inputs["weights"] = settings["yolo_weights"]
    elif not settings["faster_rcnn_weights"]:
        raise WorkflowError("proposals.backend is faster-rcnn: set proposals.faster_rcnn_weights to its state dict")
    else:
        inputs["weights"] = settings["faster_rcnn_weights"]
    return inputs


def proposal_settings(wildcards):
    return config["proposals"]


rule convert_mobilenet:
    input:
        tflite=config["model"]["mobilenet_v2_tflite"],
    output:
        weights=MOBILENET_WEIGHTS,
    log:
        "results/logs/convert_mobilenet.log",
    script:
        "../scripts/convert_mobilenet.py"


rule pseudo_labels:
    input:
        unpack(pseudo_label_inputs),
    output:
        "results/{dataset}/labels.h5",
    log:
        "results/{dataset}/logs/pseudo_labels.log",
    benchmark:
        "results/{dataset}/benchmarks/pseudo_labels.tsv"
    params:
        settings=label_settings,
        categories=category_kind,
    resources:
        mem_mb=3000,
        runtime=120,
    script:
        "../scripts/pseudo_labels.py"


rule proposals:
    input:
        unpack(proposal_inputs),
    output:
        "results/{dataset}/proposals.h5",
    log:
        "results/{dataset}/logs/proposals.log",
    benchmark:
        "results/{dataset}/benchmarks/proposals.tsv"
    params:
        settings=proposal_settings,
    resources:
        mem_mb=2000,
        runtime=120,
    script:
        "../scripts/proposals.py"


rule labels_report:
    input:
        unpack(labels_report_inputs),
    output:
        report=report(
            "results/{dataset}/labels_report.md",
            caption="../report/labels_report.rst",
            category="Pseudo labels",
        ),
        figure=report(
            "results/{dataset}/labels_report.png",
            caption="../report/labels_report.rst",
            category="Pseudo labels",
        ),
    log:
        "results/{dataset}/logs/labels_report.log",
    benchmark:
        "results/{dataset}/benchmarks/labels_report.tsv"
    params:
        settings=label_settings,
        categories=category_kind,
    script:
        "../scripts/labels_report.py"
