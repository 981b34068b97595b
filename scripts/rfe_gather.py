"""Snakemake script: gather RFE repeats → RMSE curve, feature frequencies and the chosen feature sets."""

from hmixal.jobs import run_job

run_job(snakemake, "selection.rfe_gather")
