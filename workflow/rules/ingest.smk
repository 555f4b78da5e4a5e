# Ingestion: manifest → index (probing, rejections) → frames.h5 and logmel.h5, row-aligned.


rule manifest:
    conda:
        "../../envs/msl.yaml"
    input:
        raw_data,
    output:
        "results/{raw_dataset}/manifest.csv",
    log:
        "results/{raw_dataset}/logs/manifest.log",
    params:
        settings=raw_dataset_settings,
        seed=config["seed"],
        skip_bad_inputs=config["skip_bad_inputs"],
    script:
        "../scripts/manifest.py"


rule index:
    conda:
        "../../envs/msl.yaml"
    input:
        manifest_path,
    output:
        index="results/{dataset}/index.csv",
        rejected="results/{dataset}/rejected.csv",
    log:
        "results/{dataset}/logs/index.log",
    params:
        window_s=window_seconds,
        skip_bad_inputs=config["skip_bad_inputs"],
    script:
        "../scripts/index.py"


rule frames:
    conda:
        "../../envs/msl.yaml"
    input:
        "results/{dataset}/index.csv",
    output:
        "results/{dataset}/frames.h5",
    log:
        "results/{dataset}/logs/frames.log",
    benchmark:
        "results/{dataset}/benchmarks/frames.tsv"
    params:
        size=config["frames"]["size"],
    threads: 4
    resources:
        mem_mb=2000,
        runtime=120,
    script:
        "../scripts/frames.py"


rule logmel:
    conda:
        "../../envs/msl.yaml"
    input:
        "results/{dataset}/index.csv",
    output:
        "results/{dataset}/logmel.h5",
    log:
        "results/{dataset}/logs/logmel.log",
    benchmark:
        "results/{dataset}/benchmarks/logmel.tsv"
    params:
        front_end=FRONT_END,
    threads: 4
    resources:
        mem_mb=2000,
        runtime=120,
    script:
        "../scripts/logmel.py"


rule test_logmel:
    conda:
        "../../envs/msl.yaml"
    input:
        "results/{dataset}/index.csv",
    output:
        "results/{dataset}/logmel_test.h5",
    log:
        "results/{dataset}/logs/test_logmel.log",
    benchmark:
        "results/{dataset}/benchmarks/test_logmel.tsv"
    params:
        front_end=FRONT_END,
    wildcard_constraints:
        dataset=_alternation(WHOLE_FILE_TEST),
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../scripts/test_logmel.py"
