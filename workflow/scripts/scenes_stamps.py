"""Rule `stamps`: obtain tuxpaint-stamps-default (given folder or apt-get download) and write the stamp catalogue."""

from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)  # noqa: F821

from msl_core.scenes.stamps import build_catalogue, class_table, obtain_stamps

root = obtain_stamps(snakemake.params.stamps_dir, snakemake.params.cache_dir)  # noqa: F821
catalogue = build_catalogue(root, class_table())
catalogue.to_csv(snakemake.output.catalogue, index=False)  # noqa: F821
log.info("catalogue of %d stamps in %d classes from %s", len(catalogue), catalogue["class"].nunique(), root)
