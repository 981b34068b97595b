"""Snakemake script: the key out-of-fold metrics as an HTML page for the Snakemake report."""

from hmixal.jobs import run_job

run_job(snakemake, "figures.metrics_report")
