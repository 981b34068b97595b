"""Snakemake script: copy the final model, its calibration and its card into the package (the shipped predictor)."""

from hmixal.jobs import run_job

run_job(snakemake, "model.ship_predictor")
