"""Snakemake script: the reference lines (Miedema alone, the whole pool) of one block of splits of one test design."""

from hmixal.jobs import run_job

run_job(snakemake, "active_learning.al_references")
