"""Rule `protocols`: every applicable protocol of the field × every method → protocols.md and its JSON twin."""
from msl_core.protocols.table import protocol_table, write_table
from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)  # noqa: F821
inp, out = snakemake.input, snakemake.output  # noqa: F821
table = protocol_table(inp.annotations, inp.maps, snakemake.params.baselines, proposals=inp.proposals)  # noqa: F821
write_table(table, out.table, out.numbers)
log.info("%d protocols scored (%s); not applicable: %s", len(table["protocols"]), ", ".join(table["protocols"]),
         table["not_applicable"])
