"""Snakemake script: gather the per-binary AIMD result rows → results/aimd/aimd_results.csv (any engine)."""

import logging
import sys

from hmixal.aimd.analysis import collect_results
from hmixal.io import write_csv

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115 — stays open for the whole script, as Snakemake logs do
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("aimd_collect")

rows = snakemake.input.rows
table = collect_results([rows] if isinstance(rows, str) else list(rows))
write_csv(table, snakemake.output.table)
log.info("%d row(s): %s", len(table), dict(sorted(table["status"].value_counts().items())))
