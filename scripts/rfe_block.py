"""Snakemake script: recursive feature elimination repeats of one block (supplementary note 1)."""

from hmixal.jobs import start_job

log = start_job(snakemake, "rfe_block")

import pandas as pd  # noqa: E402

from hmixal.dataset import read_table  # noqa: E402
from hmixal.features import FeatureSource  # noqa: E402
from hmixal.io import write_csv  # noqa: E402
from hmixal.model import model_data  # noqa: E402
from hmixal.rfe_study import RfeSettings, rfe_repeat  # noqa: E402

p = snakemake.params
data = model_data(read_table(snakemake.input.dataset), FeatureSource(snakemake.input.elements))
settings = RfeSettings.from_mapping(p.settings)
paths = [rfe_repeat(data, r, settings, p.seed, snakemake.threads) for r in p.repeats]
write_csv(pd.concat(paths, ignore_index=True), snakemake.output.paths)
log.info("%d repeats written to %s", len(paths), snakemake.output.paths)
