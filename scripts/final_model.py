"""Snakemake script: the inner procedure (RFE, tuning, group weights) on a whole dataset → the saved model."""

from hmixal.jobs import run_job

run_job(snakemake, "model.final_model")
