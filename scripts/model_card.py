"""Snakemake script: the model card of the final model (data, settings, CV metrics, digests of every artifact)."""

from hmixal.jobs import run_job

run_job(snakemake, "model.model_card")
