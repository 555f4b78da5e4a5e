# msl: multi-source visual sound localisation, coarse to fine (ECCV 2020).
# Thin entry point: configuration, validation, the rule files in pipeline order, and the targets.
from snakemake.utils import min_version, validate

from msl_core.config_values import coerce_booleans

min_version("9.0")


configfile: "config.yaml"


validate(coerce_booleans(config, "workflow/schemas/config.schema.yaml"), "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    dataset=_alternation(DATASETS),
    raw_dataset=_alternation(RAW_DATASETS),


include: "workflow/rules/scenes.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/labels.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/seeds.smk"
include: "workflow/rules/evaluate.smk"


rule all:
    input:
        final_targets(),
    default_target: True
