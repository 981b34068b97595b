"""Snakemake script: draw one figure (params.figure) as PNG + PDF and write the numbers it plots as CSV."""

from hmixal.jobs import run_job

run_job(snakemake, "figures.figures")
