"""Snakemake script: recursive feature elimination repeats of one block (supplementary note 1)."""

from hmixal.jobs import run_job

run_job(snakemake, "selection.rfe_block")
