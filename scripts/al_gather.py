"""Snakemake script: gather one test design's AL block tables → per-split table, mean curves, reference lines,
summary and endpoints."""

import math

from hmixal.jobs import start_job

log = start_job(snakemake, "al_gather")

from hmixal.active_learning import learning_curves, read_references, read_results, read_splits, summarise  # noqa: E402
from hmixal.al_statistics import endpoints, holdout_ratio, summary_with_tests  # noqa: E402
from hmixal.io import write_csv  # noqa: E402

results = read_results(snakemake.input.tables)
write_csv(results, snakemake.output.per_split)
write_csv(learning_curves(results), snakemake.output.curves)
references = read_references(snakemake.input.references)
write_csv(references, snakemake.output.references)
for name, rmse in references.groupby("reference", sort=False)["rmse"]:
    log.info("reference %s: mean test RMSE %.3f kJ/mol over %d splits", name, rmse.mean(), rmse.size)
summary = summarise(results, snakemake.params.reference)
for row in summary.itertuples():
    log.info(
        "%s: AUC ratio %.3f (per split %.3f ± %.3f), final RMSE %.3f, reaches random's final RMSE at %s",
        row.approach, row.auc_ratio, row.auc_ratio_split_mean, row.auc_ratio_split_std, row.rmse_final_mean,
        row.iterations_to_reference_final,
    )  # fmt: skip
ratio = holdout_ratio(read_splits(snakemake.input.splits))
reference = snakemake.params.reference
table = endpoints(results, ratio, snakemake.params.seed, reference)
write_csv(table, snakemake.output.endpoints)
write_csv(summary_with_tests(summary, table), snakemake.output.summary)
for row in table.itertuples():
    k = row.random_iterations_to_match
    match = "never" if math.isnan(k) else f"at iteration {k:.0f}"
    log.info(
        "%s at %s (iteration %d, %d splits): %+.3f kJ/mol vs %s, SE %.3f naive / %.3f corrected, "
        "95%% corrected [%.3f, %.3f], bootstrap [%.3f, %.3f], p %.3g corrected t / %.3g Wilcoxon, "
        "%s matches it %s",
        row.approach, row.budget_label, row.iteration, row.n_splits, row.mean_difference_kJ_per_mol, reference,
        row.se_naive, row.se_corrected, row.ci95_corrected_low, row.ci95_corrected_high, row.ci95_bootstrap_low,
        row.ci95_bootstrap_high, row.p_corrected_t, row.p_wilcoxon, reference, match,
    )  # fmt: skip
