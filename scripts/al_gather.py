"""Snakemake script: gather one test design's AL block tables → per-split table, mean curves, reference lines,
summary and endpoints."""

from hmixal.jobs import run_job

run_job(snakemake, "active_learning.al_gather")
