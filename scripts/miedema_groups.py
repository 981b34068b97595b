"""Snakemake script: K-means on Cpliq and Sliq features against Miedema's three groups; Cp/P and S/Q ratios."""

from hmixal.jobs import run_job

run_job(snakemake, "uncertainty.miedema_groups")
