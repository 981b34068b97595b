"""Snakemake script: ΔH_mix of one binary from its three ended runs (any engine) → one results row + details."""

from hmixal.jobs import run_job

run_job(snakemake, "aimd.aimd_hmix")
