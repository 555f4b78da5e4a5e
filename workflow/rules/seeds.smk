# Further training seeds (evaluate.seeds, msl_core.seeds): both stages and localisation once more per seed, under
# results/<dataset>/seed<k>/, on the same data. The first seed's run is the dataset's own (train.smk); the protocols
# rule reads every seed's maps.h5 and gives mean ± std.


use rule train_stage1 as train_stage1_seed with:
    output:
        model="results/{dataset}/seed{seed}/stage1/model.pt",
        metrics="results/{dataset}/seed{seed}/stage1/metrics.csv",
        curve=report(
            "results/{dataset}/seed{seed}/stage1/loss.png",
            caption="../report/train_loss.rst",
            category="Training",
            subcategory="Further seeds",
            labels={"dataset": "{dataset}", "stage": "1, seed {seed}"},
        ),
        card=report(
            "results/{dataset}/seed{seed}/stage1/model_card.md",
            caption="../report/model_card.rst",
            category="Training",
            subcategory="Model cards",
            labels={"dataset": "{dataset}", "stage": "1, seed {seed}"},
        ),
    log:
        "results/{dataset}/seed{seed}/logs/train_stage1.log",
    benchmark:
        "results/{dataset}/seed{seed}/benchmarks/train_stage1.tsv"
    wildcard_constraints:
        seed=EXTRA_SEEDS,


use rule train_stage2 as train_stage2_seed with:
    output:
        model="results/{dataset}/seed{seed}/stage2/model.pt",
        metrics="results/{dataset}/seed{seed}/stage2/metrics.csv",
        curve=report(
            "results/{dataset}/seed{seed}/stage2/loss.png",
            caption="../report/train_loss.rst",
            category="Training",
            subcategory="Further seeds",
            labels={"dataset": "{dataset}", "stage": "2, seed {seed}"},
        ),
        card=report(
            "results/{dataset}/seed{seed}/stage2/model_card.md",
            caption="../report/model_card.rst",
            category="Training",
            subcategory="Model cards",
            labels={"dataset": "{dataset}", "stage": "2, seed {seed}"},
        ),
    log:
        "results/{dataset}/seed{seed}/logs/train_stage2.log",
    benchmark:
        "results/{dataset}/seed{seed}/benchmarks/train_stage2.tsv"
    wildcard_constraints:
        seed=EXTRA_SEEDS,


use rule localize as localize_seed with:
    output:
        "results/{dataset}/seed{seed}/maps.h5",
    log:
        "results/{dataset}/seed{seed}/logs/localize.log",
    benchmark:
        "results/{dataset}/seed{seed}/benchmarks/localize.tsv"
    wildcard_constraints:
        seed=EXTRA_SEEDS,
