"""Snakemake script: binaries ranked by GP uncertainty, the first ones weighed jointly (a batch), excluded elements and
systems left out → acquisition plan."""

from hmixal.jobs import run_job

run_job(snakemake, "uncertainty.acquisition_plan")
