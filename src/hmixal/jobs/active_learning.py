"""Jobs of workflow/rules/active_learning.smk: the AL benchmark's splits, first GP hyper-parameters, reference lines,
blocks of splits per approach, and the gathered curves and statistics."""

from __future__ import annotations

import json
import logging
import math

import pandas as pd

from hmixal.active_learning import (
    al_feature_list,
    learning_curves,
    load_benchmark,
    read_references,
    read_results,
    read_split_hypers,
    read_splits,
    reference_rmse,
    run_block,
    split_hypers,
    summarise,
)
from hmixal.al_designs import design_job
from hmixal.al_statistics import endpoints, holdout_ratio, summary_with_tests
from hmixal.dataset import read_table
from hmixal.features import FeatureSource
from hmixal.io import write_csv, write_text
from hmixal.jobs import RuleJob
from hmixal.model import model_data


def al_splits(job: RuleJob) -> None:
    """One test design's N train / test / pool splits shared by every AL approach, and the clusters."""
    log = logging.getLogger("al_splits")
    p = job.params
    source = FeatureSource(job.input.elements)
    data = model_data(read_table(job.input.dataset), source)
    rfe_list = (list(job.input.features_al) or [None])[0]
    features = al_feature_list(p.features, rfe_list, data.feature_names)
    splits, clusters = design_job(
        p.design, data, source, features, p.n_splits, p.train_fraction, p.test_fraction, p.seed, p.cluster, p.element
    )
    write_csv(splits, job.output.splits)
    write_csv(clusters, job.output.clusters)
    log.info("design %s: %d splits of %d binaries written to %s", p.design, p.n_splits, splits["binary"].nunique(),
             job.output.splits)  # fmt: skip
    for row in clusters.itertuples():
        log.info("cluster %d: %d binaries (%s), held out in %d splits", row.cluster, row.n_binaries, row.top_elements,
                 row.held_out_in_splits)  # fmt: skip


def al_gp_hyper(job: RuleJob) -> None:
    """Each split's first GP hyper-parameters, learnt once and shared by the GP approaches' jobs."""
    log = logging.getLogger("al_gp_hyper")
    p = job.params
    data, splits, settings = load_benchmark(job.input, p.run, p.design, job.threads)
    record = {}
    for split in p.splits:
        hypers = split_hypers(data, splits, int(split), settings, ard=p.ard)
        record[str(int(split))] = {kind: hyper.to_dict() for kind, hyper in hypers.items()}
        for kind, h in hypers.items():
            log.info(
                "split %d %s: GP noise %.3f, width %s, signal %.3f", split, kind, h.noise_std, h.width, h.signal_std
            )
    write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", job.output.hyper, manifest=True)


def al_references(job: RuleJob) -> None:
    """The reference lines (Miedema alone, the whole pool) of one block of splits of one test design."""
    log = logging.getLogger("al_references")
    p = job.params
    data, splits, settings = load_benchmark(job.input, p.run, p.design, job.threads)
    table = pd.concat([reference_rmse(data, splits, int(s), settings) for s in p.splits], ignore_index=True)
    write_csv(table, job.output.table)
    log.info("design %s: %d reference rows written to %s", p.design, len(table), job.output.table)


def al_block(job: RuleJob) -> None:
    """One active-learning approach on one block of splits of one test design (the unit of resume)."""
    log = logging.getLogger("al_block")
    p = job.params
    data, splits, settings = load_benchmark(job.input, p.run, p.design, job.threads)
    # GP approaches start every split from hyper-parameters learnt once for all of them (rule al_gp_hyper).
    # The rule's input function gives a list: the block's file for a GP approach, none for the others.
    hyper_files = list(job.input.gp_hyper)
    hypers = read_split_hypers(hyper_files[0]) if hyper_files else None
    log.info(
        "design %s, approach %s, splits %s, AL features %s",
        p.design, p.approach, list(p.splits), ", ".join(settings.al_features),
    )  # fmt: skip
    table = run_block(data, splits, p.approach, p.splits, settings, hypers)
    write_csv(table, job.output.table)
    log.info("%d rows written to %s", len(table), job.output.table)


def al_gather(job: RuleJob) -> None:
    """Gather one test design's AL block tables → per-split table, mean curves, reference lines, summary and
    endpoints."""
    log = logging.getLogger("al_gather")
    results = read_results(job.input.tables)
    write_csv(results, job.output.per_split)
    write_csv(learning_curves(results), job.output.curves)
    references = read_references(job.input.references)
    write_csv(references, job.output.references)
    for name, rmse in references.groupby("reference", sort=False)["rmse"]:
        log.info("reference %s: mean test RMSE %.3f kJ/mol over %d splits", name, rmse.mean(), rmse.size)
    summary = summarise(results, job.params.reference)
    for row in summary.itertuples():
        log.info(
            "%s: AUC ratio %.3f (per split %.3f ± %.3f), final RMSE %.3f, reaches random's final RMSE at %s",
            row.approach, row.auc_ratio, row.auc_ratio_split_mean, row.auc_ratio_split_std, row.rmse_final_mean,
            row.iterations_to_reference_final,
        )  # fmt: skip
    ratio = holdout_ratio(read_splits(job.input.splits))
    reference = job.params.reference
    table = endpoints(results, ratio, job.params.seed, reference)
    write_csv(table, job.output.endpoints)
    write_csv(summary_with_tests(summary, table), job.output.summary)
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
