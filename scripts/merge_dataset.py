"""Snakemake script: validate and merge the dataset sources → dataset, rejects table and summary."""

from hmixal.jobs import run_job

run_job(snakemake, "data.merge_dataset")
