"""Snakemake script: one test design's N train / test / pool splits shared by every AL approach, and the clusters."""

from hmixal.jobs import start_job

log = start_job(snakemake, "al_splits")

from hmixal.active_learning import al_feature_list  # noqa: E402
from hmixal.al_designs import design_job  # noqa: E402
from hmixal.dataset import read_table  # noqa: E402
from hmixal.features import FeatureSource  # noqa: E402
from hmixal.io import write_csv  # noqa: E402
from hmixal.model import model_data  # noqa: E402

p = snakemake.params
source = FeatureSource(snakemake.input.elements)
data = model_data(read_table(snakemake.input.dataset), source)
rfe_list = (list(snakemake.input.features_al) or [None])[0]
features = al_feature_list(p.features, rfe_list, data.feature_names)
splits, clusters = design_job(
    p.design, data, source, features, p.n_splits, p.train_fraction, p.test_fraction, p.seed, p.cluster, p.element
)
write_csv(splits, snakemake.output.splits)
write_csv(clusters, snakemake.output.clusters)
log.info("design %s: %d splits of %d binaries written to %s", p.design, p.n_splits, splits["binary"].nunique(),
         snakemake.output.splits)  # fmt: skip
for row in clusters.itertuples():
    log.info("cluster %d: %d binaries (%s), held out in %d splits", row.cluster, row.n_binaries, row.top_elements,
             row.held_out_in_splits)  # fmt: skip
