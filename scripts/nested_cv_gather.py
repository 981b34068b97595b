"""Snakemake script: gather the outer folds of both variants → out-of-fold predictions and metrics.json."""

from hmixal.jobs import start_job

log = start_job(snakemake, "nested_cv_gather")

import json  # noqa: E402

import pandas as pd  # noqa: E402

from hmixal.dataset import read_table  # noqa: E402
from hmixal.io import write_csv, write_text  # noqa: E402
from hmixal.metrics import cv_metrics  # noqa: E402


def gather(paths):
    """Concatenate fold predictions in a deterministic row order."""
    frame = pd.concat([read_table(p) for p in paths], ignore_index=True)
    return frame.sort_values(["A", "B", "x_B", "source_type", "source"], kind="stable", ignore_index=True)


after = gather(snakemake.input.after)
before = gather(snakemake.input.before)
oof = after.assign(predicted_before_aimd_kJ_per_mol=before["predicted_kJ_per_mol"].to_numpy())
write_csv(oof, snakemake.output.oof)
metrics = cv_metrics(after, before)
metrics["settings"] = snakemake.params.describe
write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", snakemake.output.metrics)
overall = metrics["overall"]
log.info(
    "model RMSE %.2f vs Miedema %.2f kJ/mol (ratio %.3f) on %d points",
    overall["model"]["rmse"],
    overall["miedema"]["rmse"],
    overall["rmse_ratio"],
    overall["model"]["n"],
)
