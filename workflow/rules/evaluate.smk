# Evaluation: distributed test annotations → COCO; maps.h5 + map-free baselines → metrics, pictures, report entries.
# (Named functions live here until common.smk adopts them; they only read the validated config.)


rule convert_annotations:
    conda:
        "../../envs/msl.yaml"
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
    conda:
        "../../envs/msl.yaml"
    input:
        maps="results/{dataset}/maps.h5",
        annotations=test_annotations,
        frames="results/{dataset}/frames.h5",
        rejected="results/{dataset}/rejected.csv",
        seed_maps=further_seed_maps,
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
        warnings=result_warnings,
        seeds=training_seed_list,
    resources:
        mem_mb=2000,
    script:
        "../scripts/evaluate.py"


rule events:
    conda:
        "../../envs/msl.yaml"
    input:
        maps="results/{dataset}/maps.h5",
        index="results/{dataset}/index.csv",
    output:
        json=report(
            "results/{dataset}/events.json",
            caption="../report/events.rst",
            category="{dataset}",
            subcategory="Evaluation",
            labels={"dataset": "{dataset}", "figure": "event numbers (JSON)"},
        ),
        txt="results/{dataset}/events.txt",
        figure=report(
            "results/{dataset}/events.png",
            caption="../report/events.rst",
            category="{dataset}",
            subcategory="Evaluation",
            labels={"dataset": "{dataset}", "figure": "per-event accuracy"},
        ),
    log:
        "results/{dataset}/logs/events.log",
    params:
        categories=category_kind,
        warnings=result_warnings,
    script:
        "../scripts/events.py"


rule protocols:
    conda:
        "../../envs/msl.yaml"
    input:
        maps=protocol_maps,
        annotations=protocol_annotations,
        proposals="results/{dataset}/proposals.h5",
    output:
        table=report(
            "results/{dataset}/protocols.md",
            caption="../report/protocols.rst",
            category="{dataset}",
            subcategory="Evaluation",
            labels={"dataset": "{dataset}", "figure": "every protocol of the field"},
        ),
        numbers="results/{dataset}/protocols.json",
    log:
        "results/{dataset}/logs/protocols.log",
    benchmark:
        "results/{dataset}/benchmarks/protocols.tsv"
    params:
        baselines=protocol_baselines,
        seeds=training_seed_list,
    resources:
        mem_mb=2000,
    script:
        "../scripts/protocols.py"


rule overlays:
    conda:
        "../../envs/msl.yaml"
    input:
        model="results/{dataset}/stage2/model.pt",
        index="results/{dataset}/index.csv",
    output:
        videos=directory("results/{dataset}/overlays"),
        sheet=report(
            "results/{dataset}/overlays.png",
            caption="../report/overlays.rst",
            category="{dataset}",
            subcategory="Evaluation",
            labels={"dataset": "{dataset}", "figure": "msl locate overlays of test clips"},
        ),
    log:
        "results/{dataset}/logs/overlays.log",
    benchmark:
        "results/{dataset}/benchmarks/overlays.tsv"
    params:
        n=config["evaluate"]["overlays"],
        localize=overlay_settings,  # the network's maps under the same threshold and gate as maps.h5
    threads: 2
    resources:
        mem_mb=4000,
    script:
        "../scripts/overlays.py"
