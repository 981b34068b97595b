"""Snakemake script: gather the outer folds of both variants → out-of-fold predictions and metrics.json."""

from hmixal.jobs import run_job

run_job(snakemake, "model.nested_cv_gather")
