"""Snakemake script: one outer fold of the nested grouped CV (variant 'before' excludes AIMD rows from training)."""

from hmixal.jobs import start_job

log = start_job(snakemake, "nested_cv_fold")

import json  # noqa: E402

from hmixal.dataset import read_table  # noqa: E402
from hmixal.features import FeatureSource  # noqa: E402
from hmixal.io import write_csv, write_text  # noqa: E402
from hmixal.model import excluded_before_aimd, model_data  # noqa: E402
from hmixal.nested_cv import InnerSettings, outer_fold  # noqa: E402
from hmixal.splits import derive_seed, grouped_folds  # noqa: E402

p = snakemake.params
fold = int(snakemake.wildcards.fold)
data = model_data(read_table(snakemake.input.dataset), FeatureSource(snakemake.input.elements))
folds = grouped_folds(data.groups, p.outer_folds, derive_seed(p.seed, "outer-folds"))
excluded = None
if snakemake.wildcards.variant == "before":
    excluded = excluded_before_aimd(data.frame, p.excluded_sources_before)
settings = InnerSettings.from_mapping(p.inner)
predictions, model, inner = outer_fold(data, folds, fold, settings, p.seed, snakemake.threads, excluded)
write_csv(predictions, snakemake.output.predictions)
model.save(snakemake.output.model_dir)
diagnostics = {
    "fold": fold,
    "variant": snakemake.wildcards.variant,
    "features": inner.features,
    "params": inner.params,
    "weights": inner.weights,
    "inner_cv_rmse": inner.cv_rmse,
    "rfe_curve": inner.rfe_curve.to_dict(orient="records"),
    "n_trials": len(inner.trials),
}
write_text(json.dumps(diagnostics, indent=2, sort_keys=True) + "\n", snakemake.output.diagnostics)
