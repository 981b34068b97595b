"""Snakemake script: GP trained on the initial dataset → maximum latent variance of every binary (seed Fig. 1)."""

from hmixal.jobs import run_job

run_job(snakemake, "uncertainty.gp_map")
