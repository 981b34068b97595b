"""Snakemake script: the reference lines (Miedema alone, the whole pool) of one block of splits of one test design."""

from hmixal.jobs import start_job

log = start_job(snakemake, "al_references")

import pandas as pd  # noqa: E402

from hmixal.active_learning import load_benchmark, reference_rmse  # noqa: E402
from hmixal.io import write_csv  # noqa: E402

p = snakemake.params
data, splits, settings = load_benchmark(snakemake.input, p.run, p.design, snakemake.threads)
table = pd.concat([reference_rmse(data, splits, int(s), settings) for s in p.splits], ignore_index=True)
write_csv(table, snakemake.output.table)
log.info("design %s: %d reference rows written to %s", p.design, len(table), snakemake.output.table)
