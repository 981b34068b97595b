"""Snakemake script: gather the per-binary AIMD result rows → results/aimd/aimd_results.csv (any engine)."""

from hmixal.jobs import run_job

run_job(snakemake, "aimd.aimd_collect")
