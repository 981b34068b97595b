"""Snakemake script: one outer fold of the nested grouped CV (variant 'before' excludes AIMD rows from training)."""

from hmixal.jobs import run_job

run_job(snakemake, "model.nested_cv_fold")
