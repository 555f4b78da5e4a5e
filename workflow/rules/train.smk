# Training (docs/method.md §3.1, §4) and localisation: [trunk_features →] train_stage1 → train_stage2 → localize.
# Hyper-parameters travel in params (a change reruns the stage); device, workers and gpus are read from config in
# the script (throughput only): train.gpus > 1 trains in that many processes under torchrun (training/launch.py),
# and the rule asks for as many GPUs. The resumable checkpoint.pt lies beside the outputs and is deliberately not one.


rule trunk_features:
    # The frozen vision stages' features of every frame (and mirrored frame), once, for both stages to train from
    # (train.cache_trunk). Params: what changes the features besides the inputs (frames.h5, the weights file).
    conda:
        "../../envs/msl.yaml"
    input:
        unpack(trunk_inputs),
    output:
        "results/{dataset}/trunk.h5",
    log:
        "results/{dataset}/logs/trunk_features.log",
    benchmark:
        "results/{dataset}/benchmarks/trunk_features.tsv"
    params:
        trunk=trunk_settings,
    threads: 2
    resources:
        gpu=1,
        mem_mb=4000,
        runtime=120,
    script:
        "../scripts/trunk_features.py"


rule train_stage1:
    conda:
        "../../envs/msl.yaml"
    input:
        unpack(train_inputs),
    output:
        model="results/{dataset}/stage1/model.pt",
        metrics="results/{dataset}/stage1/metrics.csv",
        curve=report(
            "results/{dataset}/stage1/loss.png",
            caption="../report/train_loss.rst",
            category="Training",
            labels={"dataset": "{dataset}", "stage": "1"},
        ),
        card=report(
            "results/{dataset}/stage1/model_card.md",
            caption="../report/model_card.rst",
            category="Training",
            subcategory="Model cards",
            labels={"dataset": "{dataset}", "stage": "1"},
        ),
    log:
        "results/{dataset}/logs/train_stage1.log",
    benchmark:
        "results/{dataset}/benchmarks/train_stage1.tsv"
    params:
        model=stage1_model_settings,
        train=stage1_settings,
    threads: 2
    resources:
        gpu=train_gpus,
        mem_mb=8000,
        runtime=720,
    script:
        "../scripts/train_stage.py"


rule train_stage2:
    conda:
        "../../envs/msl.yaml"
    input:
        unpack(stage2_inputs),
    output:
        model="results/{dataset}/stage2/model.pt",
        metrics="results/{dataset}/stage2/metrics.csv",
        curve=report(
            "results/{dataset}/stage2/loss.png",
            caption="../report/train_loss.rst",
            category="Training",
            labels={"dataset": "{dataset}", "stage": "2"},
        ),
        card=report(
            "results/{dataset}/stage2/model_card.md",
            caption="../report/model_card.rst",
            category="Training",
            subcategory="Model cards",
            labels={"dataset": "{dataset}", "stage": "2"},
        ),
    log:
        "results/{dataset}/logs/train_stage2.log",
    benchmark:
        "results/{dataset}/benchmarks/train_stage2.tsv"
    params:
        model=model_settings,
        train=stage2_settings,
    threads: 2
    resources:
        gpu=train_gpus,
        mem_mb=8000,
        runtime=720,
    script:
        "../scripts/train_stage.py"


rule localize:
    conda:
        "../../envs/msl.yaml"
    input:
        unpack(localize_inputs),
    output:
        "results/{dataset}/maps.h5",
    log:
        "results/{dataset}/logs/localize.log",
    benchmark:
        "results/{dataset}/benchmarks/localize.tsv"
    params:
        localize=localize_settings,
    threads: 2
    resources:
        gpu=1,
        mem_mb=4000,
        runtime=60,
    script:
        "../scripts/localize.py"
