"""Snakemake script: ΔH_mix of every binary on the composition grid, before and after AIMD, with uncertainty."""

from hmixal.jobs import run_job

run_job(snakemake, "model.predict_grid")
