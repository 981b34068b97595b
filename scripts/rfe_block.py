"""Snakemake script: recursive feature elimination repeats of one block (supplementary note 1)."""

from hmixal.jobs import start_job

log = start_job(snakemake, "rfe_block")

import pandas as pd  # noqa: E402

from hmixal.dataset import read_table  # noqa: E402
from hmixal.io import write_csv  # noqa: E402
from hmixal.model import FeatureSource, model_data  # noqa: E402
from hmixal.selection import rfe_repeat  # noqa: E402

p = snakemake.params
data = model_data(read_table(snakemake.input.dataset), FeatureSource(snakemake.input.elements))
paths = [
    rfe_repeat(data, r, p.lgbm, p.n_fits, p.test_fraction, p.seed, snakemake.threads, p.min_features) for r in p.repeats
]
write_csv(pd.concat(paths, ignore_index=True), snakemake.output.paths)
log.info("%d repeats written to %s", len(paths), snakemake.output.paths)
