# msl: multi-source visual sound localisation, coarse to fine (ECCV 2020).
# Thin entry point: configuration, validation, the rule files in pipeline order, and the targets.
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from msl_core.config import resolve
from msl_core.errors import MslError

min_version("9.0")


configfile: "config.yaml"


try:  # msl_core.config: validated, defaults filled, precedence resolved (--config wins over the preset)
    _resolved = resolve(config, dict(workflow.config_settings.config))
except MslError as exc:
    raise WorkflowError(f"invalid config: {exc}") from None
config.clear()
config.update(_resolved)


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
