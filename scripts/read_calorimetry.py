"""Snakemake script: calorimetric ΔH_mix of liquids from ESPEI JSON datasets → stage table + rejects."""

from hmixal.jobs import run_job

run_job(snakemake, "data.read_calorimetry")
