"""Snakemake script: Redlich–Kister fit of every binary's predicted ΔH_mix curve, and the LIQUID TDB export."""

from hmixal.jobs import run_job

run_job(snakemake, "model.redlich_kister")
