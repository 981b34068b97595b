"""Snakemake script: one active-learning approach on one block of splits of one test design (the unit of resume)."""

from hmixal.jobs import run_job

run_job(snakemake, "active_learning.al_block")
