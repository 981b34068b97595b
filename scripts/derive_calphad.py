"""Snakemake script: liquid ΔH_mix of metallic binaries from the CALPHAD databases of the reference folder."""

from hmixal.jobs import run_job

run_job(snakemake, "data.derive_calphad")
