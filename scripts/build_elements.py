"""Snakemake script: derive the element property table (Magpie + SGTE unary) and write it as CSV."""

from hmixal.jobs import run_job

run_job(snakemake, "data.build_elements")
