"""Snakemake script: each split's first GP hyper-parameters, learnt once and shared by the GP approaches' jobs."""

from hmixal.jobs import run_job

run_job(snakemake, "active_learning.al_gp_hyper")
