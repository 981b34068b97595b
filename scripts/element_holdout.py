"""Snakemake script: leave-one-element-out predictions with the final model's recipe (calibrates the no-data class)."""

from hmixal.jobs import run_job

run_job(snakemake, "model.element_holdout")
