# The built-in `scenes` dataset: obtain the Tux Paint stamps, compose MP4 scenes with ground truth, draw a contact sheet.
# Sizes come from the preset chosen by the top-level `preset` key (config.yaml: scenes.presets).


rule stamps:
    conda:
        "../../envs/msl.yaml"
    output:
        catalogue=f"{SCENES_CACHE}/stamps/catalogue.csv",
    log:
        f"{SCENES_CACHE}/stamps/stamps.log",
    params:
        stamps_dir=config["scenes"].get("stamps_dir"),
        cache_dir=stamps_cache_dir,
    script:
        "../scripts/scenes_stamps.py"


rule scenes_videos:
    conda:
        "../../envs/msl.yaml"
    input:
        catalogue=rules.stamps.output.catalogue,
    output:
        manifest="results/scenes/videos/manifest.csv",
        annotations=expand("results/scenes/annotations/{split}.json", split=SCENES_SPLITS),
        objects="results/scenes/annotations/objects.csv",
        plans="results/scenes/annotations/scenes.json",
        protocols="results/scenes/annotations/protocols.json",
    log:
        "results/scenes/logs/scenes_videos.log",
    benchmark:
        "results/scenes/benchmarks/scenes_videos.tsv"
    params:
        scenes=scenes_settings(),
    threads: 8  # clips rendered in parallel; Snakemake lowers it to --cores
    resources:
        mem_mb=2000,
    script:
        "../scripts/scenes_videos.py"


rule contact_sheet:
    conda:
        "../../envs/msl.yaml"
    input:
        manifest="results/scenes/videos/manifest.csv",
        annotations=expand("results/scenes/annotations/{split}.json", split=SCENES_SPLITS),
    output:
        report(
            "results/scenes/contact_sheet.png",
            caption="../report/scenes_contact_sheet.rst",
            category="Scenes",
        ),
    log:
        "results/scenes/logs/contact_sheet.log",
    script:
        "../scripts/scenes_contact_sheet.py"
