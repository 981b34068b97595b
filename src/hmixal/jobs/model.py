"""Jobs of workflow/rules/model.smk: the nested CV, the final models and their intervals, the grid of predictions,
its Redlich–Kister fit, the model card and the shipped predictor.

hmixal.nested_cv (Optuna, seconds to load) is imported by the jobs that train, not by the others.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from hmixal.calibration import (
    CURVE_LEVELS,
    LEVELS,
    cross_fitted_coverage,
    fit_calibration,
    holdout_coverage,
    raw_coverage,
    raw_coverage_curve,
)
from hmixal.cards import build_model_card, check_default_config
from hmixal.dataset import read_table
from hmixal.domain import COVERAGE_NONE, COVERAGE_SCARCE
from hmixal.elements import load_element_table
from hmixal.features import FeatureSource
from hmixal.io import write_csv, write_text
from hmixal.jobs import RuleJob
from hmixal.layout import ELEMENT_TABLE_FILE, TRAINING_DATA_FILE
from hmixal.metrics import bootstrap_seed, cv_metrics
from hmixal.model import TrainedModel, excluded_before_aimd, model_data
from hmixal.predictor import Predictor, training_table
from hmixal.redlich_kister import (
    DEFAULT_TDB_CHECK_TOLERANCE_J_PER_MOL,
    check_covers,
    check_tdb_with_pycalphad,
    extrapolated_binaries,
    fit_redlich_kister,
    read_predictions,
    tdb_binaries,
    tdb_text,
)
from hmixal.resources import write_shipped_predictor
from hmixal.systems import all_binaries, binary_grid, composition_grid


def nested_cv_fold(job: RuleJob) -> None:
    """One outer fold of the nested grouped CV (variant 'before' excludes AIMD rows from training)."""
    from hmixal.nested_cv import InnerSettings, outer_fold, outer_folds, write_inner_diagnostics

    p = job.params
    fold = int(job.wildcards.fold)
    data = model_data(read_table(job.input.dataset), FeatureSource(job.input.elements))
    folds = outer_folds(data.groups, p.outer_folds, p.seed)
    excluded = None
    if job.wildcards.variant == "before":
        excluded = excluded_before_aimd(data.frame, p.excluded_sources_before)
    settings = InnerSettings.from_mapping(p.inner)
    predictions, model, inner = outer_fold(data, folds, fold, settings, p.seed, job.threads, excluded)
    write_csv(predictions, job.output.predictions)
    model.save(job.output.model_dir)
    write_inner_diagnostics(
        job.output.diagnostics, inner, fold=fold, variant=job.wildcards.variant, n_trials=len(inner.trials)
    )


def element_holdout(job: RuleJob) -> None:
    """Leave-one-element-out predictions with the final model's recipe (calibrates the no-data class)."""
    from hmixal.element_holdout import element_holdout as holdout_predictions  # loads hmixal.nested_cv

    log = logging.getLogger("element_holdout")
    p = job.params
    data = model_data(read_table(job.input.dataset), FeatureSource(job.input.elements))
    final = TrainedModel.load(job.input.model)
    table = holdout_predictions(data, final, int(p.n_folds), str(p.sample_weighting), int(p.seed), job.threads)
    write_csv(table, job.output.table)
    residual = table["predicted_kJ_per_mol"] - table["hmix_kJ_per_mol"]
    log.info(
        "%d elements held out, %d rows: RMSE %.2f kJ/mol (Miedema %.2f)",
        table["held_out_element"].nunique(),
        len(table),
        float((residual**2).mean() ** 0.5),
        float(((table["miedema_kJ_per_mol"] - table["hmix_kJ_per_mol"]) ** 2).mean() ** 0.5),
    )


def _gather(paths: Iterable[str]) -> pd.DataFrame:
    """Concatenate fold predictions in a deterministic row order."""
    frame = pd.concat([read_table(p) for p in paths], ignore_index=True)
    return frame.sort_values(["A", "B", "x_B", "source_type", "source"], kind="stable", ignore_index=True)


def nested_cv_gather(job: RuleJob) -> None:
    """Gather the outer folds of both variants → out-of-fold predictions and metrics.json."""
    log = logging.getLogger("nested_cv_gather")
    after = _gather(job.input.after)
    before = _gather(job.input.before)
    oof = after.assign(predicted_before_aimd_kJ_per_mol=before["predicted_kJ_per_mol"].to_numpy())
    write_csv(oof, job.output.oof)
    metrics = cv_metrics(after, before, bootstrap_seed(job.params.describe["seed"]))
    metrics["settings"] = job.params.describe
    # Intervals of the deployed ('after') model, calibrated on its out-of-fold residuals and checked fold by fold.
    # The no-data class from leave-one-element-out rows (the CV's folds hold out binaries, hardly ever an element).
    holdout = read_table(job.input.element_holdout)
    oof_columns = (
        (after["predicted_kJ_per_mol"] - after["hmix_kJ_per_mol"]).to_numpy(),
        after["member_spread_kJ_per_mol"].to_numpy(),
        after["coverage"].to_numpy(),
        (after["A"] + "-" + after["B"]).to_numpy(),
    )
    calibration = fit_calibration(*oof_columns, holdout=holdout)
    calibration.save(job.output.calibration)
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
    write_csv(curve, job.output.calibration_curve)
    metrics["calibration"] = {
        **calibration.to_dict(),
        "cross_fitted_coverage": curve[
            curve["expected"].isin(LEVELS) & (curve["coverage_class"] != "uncalibrated")
        ].to_dict(orient="records"),
        "uncalibrated_member_spread_coverage": raw_coverage(after, "member_spread_kJ_per_mol"),
    }
    write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", job.output.metrics)
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


def final_model(job: RuleJob) -> None:
    """The inner procedure (RFE, tuning, group weights) on a whole dataset → the saved model."""
    from hmixal.nested_cv import InnerSettings, fit_inner, write_inner_diagnostics

    log = logging.getLogger("final_model")
    p = job.params
    data = model_data(read_table(job.input.dataset), FeatureSource(job.input.elements))
    rows = np.flatnonzero(~excluded_before_aimd(data.frame, p.excluded_sources))
    inner = fit_inner(data, rows, InnerSettings.from_mapping(p.inner), p.seed, job.threads)
    info = {
        "n_train_rows": int(rows.size),
        "inner_cv_rmse": inner.cv_rmse,
        "dataset": job.input.dataset,
        "excluded_sources": list(p.excluded_sources),
    }
    model = inner.model(info)
    # The rows and the element table the model was trained with travel with it (hmixal.predictor reads them);
    # meta.json, written last by save(), marks the folder complete.
    directory = Path(job.output.model_dir)
    write_csv(training_table(data.frame.iloc[rows]), directory / TRAINING_DATA_FILE)
    write_text(Path(job.input.elements).read_text(encoding="utf-8"), directory / ELEMENT_TABLE_FILE, manifest=True)
    model.save(directory)
    write_inner_diagnostics(job.output.diagnostics, inner)
    log.info("final model: %d rows, %d features, inner CV RMSE %.3f", rows.size, len(inner.features), inner.cv_rmse)


def predict_grid(job: RuleJob) -> None:
    """ΔH_mix of every binary on the composition grid, before and after AIMD, with uncertainty."""
    log = logging.getLogger("predict_grid")
    grid = binary_grid(all_binaries(), composition_grid(job.params.step))
    a, b, x = grid["A"].to_numpy(), grid["B"].to_numpy(), grid["x_B"].to_numpy()
    after = Predictor.load(job.input.after, job.input.calibration)
    table = after.predict(a, b, x)
    before = TrainedModel.load(job.input.before)
    table.insert(4, "hmix_before_aimd_kJ_per_mol", before.predict_points(after.source, a, b, x))
    write_csv(table, job.output.predictions, float_format="%.6g")
    per_binary = table.drop_duplicates(["A", "B"])
    log.info(
        "%d predictions for %d binaries: %d flagged extrapolation, %d whose model departs from their data",
        len(table),
        len(per_binary),
        int(per_binary["extrapolation"].sum()),
        int(per_binary["contradicts_data"].sum()),
    )


def redlich_kister(job: RuleJob) -> None:
    """Redlich–Kister fit of every binary's predicted ΔH_mix curve, and the LIQUID TDB export."""
    log = logging.getLogger("redlich_kister")
    params = job.params
    # Checked against its manifest and for a complete grid per binary: a cut table stops the rule here, naming it.
    predictions = read_predictions(job.input.predictions, require_manifest=True)
    binaries = (predictions["A"] + "-" + predictions["B"]).unique()
    log.info("read %d predictions of %d binaries from %s", len(predictions), len(binaries), job.input.predictions)
    start = time.perf_counter()
    table = fit_redlich_kister(
        predictions,
        column=params.column,
        max_order=int(params.max_order),
        tolerance=float(params.tolerance),
        path=job.input.predictions,
    )
    log.info("fitted %d binaries in %.2f s", len(table), time.perf_counter() - start)
    log.info("order distribution: %s", table["order"].value_counts().sort_index().to_dict())
    log.info(
        "RMS residual (kJ/mol): median %.3f, max %.3f; max residual: max %.3f",
        table["rms_residual_kJ_per_mol"].median(),
        table["rms_residual_kJ_per_mol"].max(),
        table["max_residual_kJ_per_mol"].max(),
    )
    # Both outputs must cover every binary of the predictions; checked before anything is written.
    check_covers(binaries, table["A"] + "-" + table["B"], "the fit table", job.output.table)

    # The element table gives the ELEMENT lines' reference phases; the committed one when the rule names none.
    elements_path = getattr(job.input, "elements", None)
    settings = {"max_order": int(params.max_order), "tolerance_kJ_per_mol": float(params.tolerance)}
    elements = load_element_table(elements_path)
    text = tdb_text(table, generated=str(params.generated), elements=elements, settings=settings)
    check_covers(binaries, tdb_binaries(text), "the TDB", job.output.tdb)
    flagged = extrapolated_binaries(table)
    if flagged is not None:
        log.info("%d binaries flagged extrapolation (listed in the TDB header)", len(flagged))
    # pycalphad reads the text back and evaluates HM_MIX of every binary at every x_B of the predictions (all 2415
    # binaries: ~15-25 s on one core); a binary off its fitted curve stops the rule before anything is written.
    tolerance = float(getattr(params, "tdb_check_tolerance", DEFAULT_TDB_CHECK_TOLERANCE_J_PER_MOL))
    start = time.perf_counter()
    check = check_tdb_with_pycalphad(text, table, sorted(predictions["x_B"].astype(float).unique()), tolerance)
    worst = check.loc[check["max_abs_deviation_J_per_mol"].idxmax()]
    log.info(
        "pycalphad round trip of %d binaries in %.1f s: max |HM_MIX - fitted curve| %.3g J/mol (%s-%s), "
        "tolerance %g J/mol",
        len(check),
        time.perf_counter() - start,
        worst["max_abs_deviation_J_per_mol"],
        worst["A"],
        worst["B"],
        tolerance,
    )
    write_csv(table, job.output.table)
    write_text(text, job.output.tdb, manifest=True)
    check_path = getattr(job.output, "tdb_check", None)
    if check_path is not None:
        write_csv(check, check_path)
    else:
        log.info("the rule names no output tdb_check: the per-binary deviations are not written")
    log.info("wrote %s and %s", job.output.table, job.output.tdb)


def model_card(job: RuleJob) -> None:
    """The model card of the final model (data, settings, CV metrics, digests of every artifact)."""
    log = logging.getLogger("model_card")
    i = job.input
    card = build_model_card(
        dataset_path=i.dataset,
        model_dir=i.model,
        calibration_path=i.calibration,
        metrics_path=i.metrics,
        fold_predictions=list(i.folds),
        element_holdout_path=i.element_holdout,
        element_table_path=i.elements,
        config=job.config,
    )
    write_text(json.dumps(card, indent=2, sort_keys=True, ensure_ascii=False) + "\n", job.output.card)
    cv = card["cross_validation"]
    log.info(
        "model card: %d training rows, %d members; nested CV RMSE model %.2f vs Miedema %.2f kJ/mol",
        card["training"]["n_rows"],
        card["model"]["n_members"],
        cv["rmse_kJ_per_mol"]["model"],
        cv["rmse_kJ_per_mol"]["miedema"],
    )


def ship_predictor(job: RuleJob) -> None:
    """Copy the final model, its calibration and its card into the package (the shipped predictor)."""
    log = logging.getLogger("ship_predictor")
    card = json.loads(Path(job.input.card).read_text(encoding="utf-8"))
    # The package ships the model of the default config and the embedded data only, never a run with overrides.
    check_default_config(card, job.params.default_config)
    # The date a predictor was shipped is a fact about this step, not about the model (the card's other fields are).
    today = datetime.date.today().isoformat()
    target = write_shipped_predictor(Path(job.input.card).parent, card, job.output.predictor, today)
    log.info("shipped the predictor of %s to %s (%s)", job.input.model, target, today)
