"""Snakemake script: draw one figure (params.figure) as PNG + PDF and write the numbers it plots as CSV."""

from hmixal.jobs import start_job

log = start_job(snakemake, "figures")

from hmixal.figures import render  # noqa: E402
from hmixal.io import write_csv  # noqa: E402

options = {key: value for key, value in snakemake.params.items() if key != "figure"}
inputs = dict(snakemake.input.items())
data = render(snakemake.params.figure, inputs, snakemake.output.png, snakemake.output.pdf, options)
write_csv(data, snakemake.output.data)
log.info("%s: %d rows plotted → %s", snakemake.params.figure, len(data), snakemake.output.png)
