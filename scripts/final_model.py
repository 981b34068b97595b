"""Snakemake script: the inner procedure (RFE, tuning, group weights) on a whole dataset → the saved model."""

from hmixal.jobs import start_job

log = start_job(snakemake, "final_model")

import json  # noqa: E402

import numpy as np  # noqa: E402

from hmixal.dataset import read_table  # noqa: E402
from hmixal.io import write_text  # noqa: E402
from hmixal.model import FeatureSource, model_data  # noqa: E402
from hmixal.nested_cv import InnerSettings, fit_inner  # noqa: E402

p = snakemake.params
data = model_data(read_table(snakemake.input.dataset), FeatureSource(snakemake.input.elements))
rows = np.arange(len(data.y))
inner = fit_inner(data, rows, InnerSettings(**p.inner), p.seed, snakemake.threads)
info = {"n_train_rows": int(rows.size), "inner_cv_rmse": inner.cv_rmse, "dataset": snakemake.input.dataset}
model = inner.model(info)
model.save(snakemake.output.model_dir)
write_text(
    json.dumps(
        {
            "features": inner.features,
            "params": inner.params,
            "weights": inner.weights,
            "inner_cv_rmse": inner.cv_rmse,
            "rfe_curve": inner.rfe_curve.to_dict(orient="records"),
        },
        indent=2,
        sort_keys=True,
    )
    + "\n",
    snakemake.output.diagnostics,
)
log.info("final model: %d rows, %d features, inner CV RMSE %.3f", rows.size, len(inner.features), inner.cv_rmse)
