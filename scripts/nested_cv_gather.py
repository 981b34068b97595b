"""Snakemake script: gather the outer folds of both variants → out-of-fold predictions and metrics.json."""

from hmixal.jobs import start_job

log = start_job(snakemake, "nested_cv_gather")

import json  # noqa: E402

import pandas as pd  # noqa: E402

from hmixal.calibration import (  # noqa: E402
    CURVE_LEVELS,
    LEVELS,
    cross_fitted_coverage,
    fit_calibration,
    holdout_coverage,
    raw_coverage,
    raw_coverage_curve,
)
from hmixal.dataset import read_table  # noqa: E402
from hmixal.domain import COVERAGE_NONE, COVERAGE_SCARCE  # noqa: E402
from hmixal.io import write_csv, write_text  # noqa: E402
from hmixal.metrics import cv_metrics  # noqa: E402
from hmixal.splits import derive_seed  # noqa: E402


def gather(paths):
    """Concatenate fold predictions in a deterministic row order."""
    frame = pd.concat([read_table(p) for p in paths], ignore_index=True)
    return frame.sort_values(["A", "B", "x_B", "source_type", "source"], kind="stable", ignore_index=True)


after = gather(snakemake.input.after)
before = gather(snakemake.input.before)
oof = after.assign(predicted_before_aimd_kJ_per_mol=before["predicted_kJ_per_mol"].to_numpy())
write_csv(oof, snakemake.output.oof)
metrics = cv_metrics(after, before, derive_seed(snakemake.params.describe["seed"], "bootstrap"))
metrics["settings"] = snakemake.params.describe
# Intervals of the deployed ('after') model, calibrated on its out-of-fold residuals and checked fold by fold.
# The no-data class from leave-one-element-out rows (the CV's folds hold out binaries, hardly ever an element).
holdout = read_table(snakemake.input.element_holdout)
oof_columns = (
    (after["predicted_kJ_per_mol"] - after["hmix_kJ_per_mol"]).to_numpy(),
    after["member_spread_kJ_per_mol"].to_numpy(),
    after["coverage"].to_numpy(),
    (after["A"] + "-" + after["B"]).to_numpy(),
)
calibration = fit_calibration(*oof_columns, holdout=holdout)
calibration.save(snakemake.output.calibration)
scarce_floor = fit_calibration(*oof_columns, levels=CURVE_LEVELS, tau=calibration.tau).quantiles[COVERAGE_SCARCE]
curve = cross_fitted_coverage(after)
curve = pd.concat(
    [
        curve[curve["coverage_class"] != COVERAGE_NONE],
        holdout_coverage(holdout, calibration.tau, scarce_floor),
        raw_coverage_curve(after, "member_spread_kJ_per_mol"),
    ],
    ignore_index=True,
)
write_csv(curve, snakemake.output.calibration_curve)
metrics["calibration"] = {
    **calibration.to_dict(),
    "cross_fitted_coverage": curve[
        curve["expected"].isin(LEVELS) & (curve["coverage_class"] != "uncalibrated")
    ].to_dict(orient="records"),
    "uncalibrated_member_spread_coverage": raw_coverage(after, "member_spread_kJ_per_mol"),
}
write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", snakemake.output.metrics)
overall = metrics["overall"]
for row in metrics["calibration"]["cross_fitted_coverage"]:
    log.info(
        "coverage %s: nominal %.2f, observed %.3f (%d points)",
        row["coverage_class"],
        row["expected"],
        row["observed"],
        row["n_points"],
    )
log.info(
    "model RMSE %.2f vs Miedema %.2f kJ/mol (ratio %.3f) on %d points",
    overall["model"]["rmse"],
    overall["miedema"]["rmse"],
    overall["rmse_ratio"],
    overall["model"]["n"],
)
