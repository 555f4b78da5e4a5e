# Ingestion: manifest → index.csv, rejected.csv, frames.h5 and logmel.h5, row-aligned, one decode per clip.


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


rule ingest:
    conda:
        "../../envs/msl.yaml"
    input:
        manifest_path,
    output:
        index="results/{dataset}/index.csv",
        rejected="results/{dataset}/rejected.csv",
        frames="results/{dataset}/frames.h5",
        logmel="results/{dataset}/logmel.h5",
    log:
        "results/{dataset}/logs/ingest.log",
    benchmark:
        "results/{dataset}/benchmarks/ingest.tsv"
    params:
        window_s=window_seconds,
        size=config["frames"]["size"],
        front_end=FRONT_END,
        skip_bad_inputs=config["skip_bad_inputs"],
    threads: 4
    resources:
        mem_mb=2000,
        runtime=120,
    script:
        "../scripts/ingest.py"


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
