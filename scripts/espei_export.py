"""Snakemake script: ESPEI datasets (HM_MIX, LIQUID) of the final dataset's AIMD rows (rule espei_datasets) or,
labelled as predictions, of the model's predicted curves (rule espei_predictions)."""

from hmixal.jobs import run_job

run_job(snakemake, "export.espei_export")
