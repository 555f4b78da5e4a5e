"""Rule `protocols`: every applicable protocol of the field × every method → protocols.md and its JSON twin; with
several training seeds, one table per seed's maps.h5, then mean ± std over the seeds."""
from msl_core.protocols.table import protocol_table, seed_table, write_table
from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)  # noqa: F821
inp, out, params = snakemake.input, snakemake.output, snakemake.params  # noqa: F821
tables = [protocol_table(inp.annotations, maps, params.baselines, proposals=inp.proposals) for maps in inp.maps]
table = seed_table(tables, params.seeds)
write_table(table, out.table, out.numbers)
log.info("%d protocols scored (%s) over seeds %s; not applicable: %s", len(table["protocols"]),
         ", ".join(table["protocols"]), params.seeds, table["not_applicable"])
