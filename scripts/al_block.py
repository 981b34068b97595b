"""Snakemake script: one active-learning approach on one block of splits (the unit of resume)."""

from hmixal.jobs import start_job

log = start_job(snakemake, "al_block")


from hmixal.active_learning import benchmark_settings, read_split_hypers, read_splits, run_block  # noqa: E402
from hmixal.dataset import read_table  # noqa: E402
from hmixal.io import write_csv  # noqa: E402
from hmixal.model import FeatureSource, model_data  # noqa: E402

p = snakemake.params
data = model_data(read_table(snakemake.input.dataset), FeatureSource(snakemake.input.elements))
settings = benchmark_settings(p, snakemake.input.features_al, data.feature_names, snakemake.threads)
# GP approaches start every split from hyper-parameters learnt once for all of them (rule al_gp_hyper).
# The rule's input function gives a list: the block's file for a GP approach, none for the others.
hyper_files = list(getattr(snakemake.input, "gp_hyper", None) or [])
hypers = read_split_hypers(hyper_files[0]) if hyper_files else None
log.info("approach %s, splits %s, AL features %s", p.approach, list(p.splits), ", ".join(settings.al_features))
table = run_block(data, read_splits(snakemake.input.splits), p.approach, p.splits, settings, hypers)
write_csv(table, snakemake.output.table)
log.info("%d rows written to %s", len(table), snakemake.output.table)
