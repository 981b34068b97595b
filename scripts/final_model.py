"""Snakemake script: the inner procedure (RFE, tuning, group weights) on a whole dataset → the saved model."""

from hmixal.jobs import start_job

log = start_job(snakemake, "final_model")

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from hmixal.dataset import read_table  # noqa: E402
from hmixal.features import FeatureSource  # noqa: E402
from hmixal.io import write_csv, write_text  # noqa: E402
from hmixal.layout import ELEMENT_TABLE_FILE, TRAINING_DATA_FILE  # noqa: E402
from hmixal.model import excluded_before_aimd, model_data  # noqa: E402
from hmixal.nested_cv import InnerSettings, fit_inner  # noqa: E402
from hmixal.predictor import training_table  # noqa: E402

p = snakemake.params
data = model_data(read_table(snakemake.input.dataset), FeatureSource(snakemake.input.elements))
rows = np.flatnonzero(~excluded_before_aimd(data.frame, p.excluded_sources))
inner = fit_inner(data, rows, InnerSettings.from_mapping(p.inner), p.seed, snakemake.threads)
info = {
    "n_train_rows": int(rows.size),
    "inner_cv_rmse": inner.cv_rmse,
    "dataset": snakemake.input.dataset,
    "excluded_sources": list(p.excluded_sources),
}
model = inner.model(info)
# The rows and the element table the model was trained with travel with it (hmixal.predictor reads them);
# meta.json, written last by save(), marks the folder complete.
directory = Path(snakemake.output.model_dir)
write_csv(training_table(data.frame.iloc[rows]), directory / TRAINING_DATA_FILE)
write_text(Path(snakemake.input.elements).read_text(encoding="utf-8"), directory / ELEMENT_TABLE_FILE, manifest=True)
model.save(directory)
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
