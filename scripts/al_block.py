"""Snakemake script: one active-learning approach on one block of splits (the unit of resume)."""

from hmixal.jobs import start_job

log = start_job(snakemake, "al_block")


from hmixal.active_learning import (  # noqa: E402
    BenchmarkSettings,
    GPOptions,
    RTALOptions,
    read_feature_list,
    read_splits,
    run_block,
)
from hmixal.dataset import read_table  # noqa: E402
from hmixal.io import write_csv  # noqa: E402
from hmixal.model import FeatureSource, model_data  # noqa: E402

p = snakemake.params
data = model_data(read_table(snakemake.input.dataset), FeatureSource(snakemake.input.elements))
eval_features = None if p.eval_features is None else tuple(p.eval_features)
settings = BenchmarkSettings(
    al_features=read_feature_list(snakemake.input.features_al, data.feature_names),
    lgbm=dict(p.lgbm),
    root_seed=p.seed,
    batch_size=p.batch_size,
    n_iterations=p.n_iterations,
    eval_features=eval_features,
    gp=GPOptions(**p.gp),
    rtal=RTALOptions(**p.rtal),
    threads=snakemake.threads,
)
log.info("approach %s, splits %s, AL features %s", p.approach, list(p.splits), ", ".join(settings.al_features))
table = run_block(data, read_splits(snakemake.input.splits), p.approach, p.splits, settings)
write_csv(table, snakemake.output.table)
log.info("%d rows written to %s", len(table), snakemake.output.table)
