"""Snakemake script: the key out-of-fold metrics as an HTML page for the Snakemake report."""

from hmixal.jobs import start_job

log = start_job(snakemake, "metrics_report")

from hmixal.report import metrics_html  # noqa: E402

table = metrics_html(snakemake.input.metrics, snakemake.output.html)
log.info("%d metric rows → %s", len(table), snakemake.output.html)
