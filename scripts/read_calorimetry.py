"""Snakemake script: calorimetric ΔH_mix of liquids from ESPEI JSON datasets → stage table + rejects."""

from hmixal.jobs import start_job

log = start_job(snakemake, "read_calorimetry")

from hmixal.dataset import stage_table  # noqa: E402
from hmixal.espei import read_espei_folder  # noqa: E402
from hmixal.io import write_csv  # noqa: E402

table, skipped = read_espei_folder(snakemake.params.folder)
rows = stage_table([table])
write_csv(rows, snakemake.output.table)
write_csv(table.rejects, snakemake.output.rejects)
log.info(
    "%d point(s) read from %s: %d kept (%s), %d rejected, %d file(s) skipped",
    table.n_read,
    table.file,
    len(rows),
    ", ".join(f"{n} {status}" for status, n in sorted(rows["status"].value_counts().items())),
    len(table.rejects),
    len(skipped),
)
