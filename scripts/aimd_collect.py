"""Snakemake script: gather the per-binary AIMD result rows → results/aimd/aimd_results.csv (any engine)."""

from hmixal.jobs import start_job

log = start_job(snakemake, "aimd_collect")

from hmixal.aimd.analysis import collect_results  # noqa: E402
from hmixal.io import write_csv  # noqa: E402

rows = snakemake.input.rows
table = collect_results([rows] if isinstance(rows, str) else list(rows))
write_csv(table, snakemake.output.table)
log.info("%d row(s): %s", len(table), dict(sorted(table["status"].value_counts().items())))
