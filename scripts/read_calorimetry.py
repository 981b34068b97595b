"""Snakemake script: calorimetric ΔH_mix of liquids from ESPEI JSON datasets → stage table + rejects."""

import logging
import sys

from hmixal.dataset import stage_table
from hmixal.espei import read_espei_folder
from hmixal.io import write_csv

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115 — stays open for the whole script, as Snakemake logs do
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("read_calorimetry")

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
