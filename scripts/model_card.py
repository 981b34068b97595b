"""Snakemake script: the model card of the final model (data, settings, CV metrics, digests of every artifact)."""

from hmixal.jobs import start_job

log = start_job(snakemake, "model_card")

import json  # noqa: E402

from hmixal.cards import build_model_card  # noqa: E402
from hmixal.io import write_text  # noqa: E402

i = snakemake.input
card = build_model_card(
    dataset_path=i.dataset,
    model_dir=i.model,
    calibration_path=i.calibration,
    metrics_path=i.metrics,
    fold_predictions=list(i.folds),
    element_holdout_path=i.element_holdout,
    element_table_path=i.elements,
    config=snakemake.config,
)
write_text(json.dumps(card, indent=2, sort_keys=True, ensure_ascii=False) + "\n", snakemake.output.card)
cv = card["cross_validation"]
log.info(
    "model card: %d training rows, %d members; nested CV RMSE model %.2f vs Miedema %.2f kJ/mol",
    card["training"]["n_rows"],
    card["model"]["n_members"],
    cv["rmse_kJ_per_mol"]["model"],
    cv["rmse_kJ_per_mol"]["miedema"],
)
