"""Snakemake script: K-means clusters of the equimolar liquids → clustered GP map, K scan and cluster table."""

from hmixal.jobs import run_job

run_job(snakemake, "uncertainty.clusters")
