# Ingestion: manifest → index.csv, rejected.csv, frames.h5 and audio.h5, row-aligned, one decode per clip (with
# ingest.shard_clips = N, N shard jobs joined by HDF5 virtual datasets); audio.h5 → logmel.h5 without decoding.


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


if SHARDS:

    rule ingest:
        conda:
            "../../envs/msl.yaml"
        input:
            manifest_path,
        output:
            **{key: f"results/{{dataset}}/shards/{{shard}}/{name}" for key, name in INGESTED.items()},
        log:
            "results/{dataset}/logs/ingest_{shard}.log",
        benchmark:
            "results/{dataset}/benchmarks/ingest_{shard}.tsv"
        params:
            **ingest_params(SHARDS),
        wildcard_constraints:
            shard=r"\d+",
        threads: 4
        resources:
            mem_mb=2000,
            runtime=120,
        script:
            "../scripts/ingest.py"

    rule join_shards:
        conda:
            "../../envs/msl.yaml"
        input:
            expand("results/{{dataset}}/shards/{shard}/{name}", shard=range(SHARDS), name=INGESTED.values()),
        output:
            **{key: f"results/{{dataset}}/{name}" for key, name in INGESTED.items()},
        log:
            "results/{dataset}/logs/join_shards.log",
        params:
            shards=SHARDS,
            skip_bad_inputs=config["skip_bad_inputs"],
        resources:
            mem_mb=1000,
            runtime=10,
        script:
            "../scripts/join_shards.py"

else:

    rule ingest:
        conda:
            "../../envs/msl.yaml"
        input:
            manifest_path,
        output:
            **{key: f"results/{{dataset}}/{name}" for key, name in INGESTED.items()},
        log:
            "results/{dataset}/logs/ingest.log",
        benchmark:
            "results/{dataset}/benchmarks/ingest.tsv"
        params:
            **ingest_params(0),
        threads: 4
        resources:
            mem_mb=2000,
            runtime=120,
        script:
            "../scripts/ingest.py"


rule logmel:
    conda:
        "../../envs/msl.yaml"
    input:
        "results/{dataset}/audio.h5",
    output:
        "results/{dataset}/logmel.h5",
    log:
        "results/{dataset}/logs/logmel.log",
    benchmark:
        "results/{dataset}/benchmarks/logmel.tsv"
    params:
        front_end=FRONT_END,
    resources:
        mem_mb=2000,
        runtime=60,
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
