"""Rule labels_report: label rates per category and, where the index has true tags, the tagger's agreement with them."""

from msl_core.device import resolve_device
from msl_core.manifest import read_index
from msl_core.runlog import from_snakemake
from msl_core.stores.labels import LabelsStore
from msl_core.teachers.categories import category_set
from msl_core.teachers.pseudo_labels import (
    LabelConfig,
    label_agreement_tables,
    tagger_agreement_table,
)
from msl_core.teachers.report import LabelsReport, label_rates

log = from_snakemake(snakemake)  # noqa: F821 - injected by Snakemake
inp, out, params = snakemake.input, snakemake.output, snakemake.params  # noqa: F821

labels = LabelsStore(inp.labels)
audio, visual, names, sources = labels.read("audio"), labels.read("visual"), list(labels.categories), labels.sources()
index = read_index(inp.index)
cfg = LabelConfig.from_config(params.settings)
agreement = None
if "tagger" in inp.keys():  # noqa: SIM118 - `in` on snakemake InputFiles tests the paths
    categories = category_set(params.categories, index)
    agreement = tagger_agreement_table(index, categories, cfg, device=resolve_device(snakemake.config["device"]))  # noqa: F821
labelled = label_agreement_tables(index, category_set(params.categories, index), audio, visual)
report = LabelsReport(snakemake.wildcards.dataset, sources, label_rates(audio, visual, names), agreement,  # noqa: F821
                      labelled)
with open(out.report, "w") as handle:
    handle.write(report.markdown())
report.figure(out.figure)
log.info("labels report written for %d rows", len(index))
