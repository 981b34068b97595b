"""Snakemake script: one batch job of one AIMD run (any engine) — hmixal.aimd.campaign.run_job; exit code from it."""

from hmixal.jobs import run_job

run_job(snakemake, "aimd.aimd_run")
