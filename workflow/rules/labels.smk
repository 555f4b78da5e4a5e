# Pseudo labels, teachers and proposals (docs/architecture.md; docs/method.md §2).
# results/weights/mobilenet_v2_imagenet.pt is shared by every dataset: the training rules take it as input.


rule convert_mobilenet:
    conda:
        "../../envs/msl.yaml"
    input:
        tflite=config["model"]["mobilenet_v2_tflite"],
    output:
        weights=MOBILENET_WEIGHTS,
    log:
        "results/logs/convert_mobilenet.log",
    script:
        "../scripts/convert_mobilenet.py"


rule pseudo_labels:
    conda:
        "../../envs/msl.yaml"
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
    threads: 2  # the teachers' networks (the tagger on every second, the image teacher on every ROI crop)
    resources:
        mem_mb=3000,
        runtime=120,
    script:
        "../scripts/pseudo_labels.py"


rule proposals:
    conda:
        "../../envs/msl.yaml"
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
    conda:
        "../../envs/msl.yaml"
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
