"""`snakemake --lint` has nothing to say, and a dry run plans every stage for the default target."""

from support.workspace import run_snakemake


def test_lint_is_clean(workspace):
    proc = run_snakemake(workspace, "--lint")
    assert "Congratulations, your workflow is in a good condition" in proc.stdout + proc.stderr


def test_dry_run_plans_the_whole_flow(workspace):
    plan = run_snakemake(workspace, "-n", "--forceall", "results/scenes/ciou.txt", "--config", "preset=tiny").stdout
    for rule in ("stamps", "scenes_videos", "ingest", "logmel", "pseudo_labels", "convert_mobilenet",
                 "train_stage1", "train_stage2", "localize", "evaluate"):
        assert f"rule {rule}:" in plan, rule
