"""Snakemake script: one test design's N train / test / pool splits shared by every AL approach, and the clusters."""

from hmixal.jobs import run_job

run_job(snakemake, "active_learning.al_splits")
