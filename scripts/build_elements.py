"""Snakemake script: derive the element property table (Magpie + SGTE unary) and write it as CSV."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115 — stays open for the whole job, by design

from pathlib import Path  # noqa: E402

from hmixal.elements import write_element_table  # noqa: E402

table = write_element_table(Path(snakemake.input.sgte), Path(snakemake.output.table))
print(f"wrote {len(table)} elements to {snakemake.output.table}", file=sys.stderr)
