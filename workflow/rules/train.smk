# Training (method.md §3.1, §4) and localisation: train_stage1 → train_stage2 → localize.
# Hyper-parameters travel in params (a change reruns the stage); device and workers are read from config in the
# script (throughput only). The resumable checkpoint.pt lies beside the outputs and is deliberately not one.


from msl_core.training import settings as train_cfg


def train_inputs(wildcards):
    inputs = {
        "frames": f"results/{wildcards.dataset}/frames.h5",
        "logmel": f"results/{wildcards.dataset}/logmel.h5",
        "labels": f"results/{wildcards.dataset}/labels.h5",
        "index": f"results/{wildcards.dataset}/index.csv",
    }
    weights = train_cfg.vision_weights(config, wildcards.dataset)
    if weights:
        inputs["vision_weights"] = weights
    return inputs


def stage2_inputs(wildcards):
    return {**train_inputs(wildcards), "stage1": f"results/{wildcards.dataset}/stage1/model.pt"}


def model_settings(wildcards):
    return train_cfg.model_settings(config, wildcards.dataset)


def stage1_settings(wildcards):
    return train_cfg.train_settings(config, wildcards.dataset, 1)


def stage2_settings(wildcards):
    return train_cfg.train_settings(config, wildcards.dataset, 2)


def localize_settings(wildcards):
    return train_cfg.localize_settings(config)


rule train_stage1:
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
    log:
        "results/{dataset}/logs/train_stage1.log",
    benchmark:
        "results/{dataset}/benchmarks/train_stage1.tsv"
    params:
        model=model_settings,
        train=stage1_settings,
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=720,
    script:
        "../scripts/train_stage.py"


rule train_stage2:
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
    log:
        "results/{dataset}/logs/train_stage2.log",
    benchmark:
        "results/{dataset}/benchmarks/train_stage2.tsv"
    params:
        model=model_settings,
        train=stage2_settings,
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=720,
    script:
        "../scripts/train_stage.py"


rule localize:
    input:
        frames="results/{dataset}/frames.h5",
        logmel="results/{dataset}/logmel.h5",
        index="results/{dataset}/index.csv",
        stage1="results/{dataset}/stage1/model.pt",
        stage2="results/{dataset}/stage2/model.pt",
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
