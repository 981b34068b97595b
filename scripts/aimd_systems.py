"""Snakemake script: the AIMD systems and runs (binaries, temperatures, shared pure-element runs) → two tables."""

from hmixal.jobs import run_job

run_job(snakemake, "aimd.aimd_systems")
