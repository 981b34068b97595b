"""Jobs of workflow/rules/figures.smk: the figures (PNG + PDF + the numbers plotted) and the metrics page."""

from __future__ import annotations

import logging

from hmixal.io import write_csv
from hmixal.jobs import RuleJob
from hmixal.report import metrics_html


def figures(job: RuleJob) -> None:
    """Draw one figure (params.figure) as PNG + PDF and write the numbers it plots as CSV."""
    from hmixal.figures import render  # matplotlib: loaded by the figure jobs only, not by the metrics page

    log = logging.getLogger("figures")
    options = {key: value for key, value in job.params.items() if key != "figure"}
    inputs = dict(job.input.items())
    data = render(job.params.figure, inputs, job.output.png, job.output.pdf, options)
    write_csv(data, job.output.data)
    log.info("%s: %d rows plotted → %s", job.params.figure, len(data), job.output.png)


def metrics_report(job: RuleJob) -> None:
    """The key out-of-fold metrics as an HTML page for the Snakemake report."""
    log = logging.getLogger("metrics_report")
    table = metrics_html(job.input.metrics, job.output.html)
    log.info("%d metric rows → %s", len(table), job.output.html)
