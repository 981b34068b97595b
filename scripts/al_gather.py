"""Snakemake script: gather AL block tables → per-split table, mean learning curves and the summary."""

from hmixal.jobs import start_job

log = start_job(snakemake, "al_gather")

from hmixal.active_learning import learning_curves, read_results, summarise  # noqa: E402
from hmixal.io import write_csv  # noqa: E402

results = read_results(snakemake.input.tables)
write_csv(results, snakemake.output.per_split)
write_csv(learning_curves(results), snakemake.output.curves)
summary = summarise(results, snakemake.params.reference)
write_csv(summary, snakemake.output.summary)
for row in summary.itertuples():
    log.info(
        "%s: AUC ratio %.3f (per split %.3f ± %.3f), final RMSE %.3f, reaches random's final RMSE at %s",
        row.approach, row.auc_ratio, row.auc_ratio_split_mean, row.auc_ratio_split_std, row.rmse_final_mean,
        row.iterations_to_reference_final,
    )  # fmt: skip
