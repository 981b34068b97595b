"""Snakemake script: derive the element property table (Magpie + SGTE unary) and write it as CSV."""

from hmixal.jobs import start_job

log = start_job(snakemake, "build_elements")

from pathlib import Path  # noqa: E402

from hmixal.elements import write_element_table  # noqa: E402

table = write_element_table(Path(snakemake.input.sgte), Path(snakemake.output.table))
log.info("wrote %d elements to %s", len(table), snakemake.output.table)
