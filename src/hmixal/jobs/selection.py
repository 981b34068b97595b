"""Jobs of workflow/rules/selection.smk: the recursive feature elimination study (supplementary note 1)."""

from __future__ import annotations

import logging

import pandas as pd

from hmixal.dataset import read_table
from hmixal.features import FeatureSource, write_feature_list
from hmixal.io import write_csv
from hmixal.jobs import RuleJob
from hmixal.manifest import read_verified_csv
from hmixal.model import model_data
from hmixal.rfe_study import RfeSettings, choose_features, feature_frequencies, rfe_curve, rfe_repeat


def rfe_block(job: RuleJob) -> None:
    """Recursive feature elimination repeats of one block (supplementary note 1)."""
    log = logging.getLogger("rfe_block")
    p = job.params
    data = model_data(read_table(job.input.dataset), FeatureSource(job.input.elements))
    settings = RfeSettings.from_mapping(p.settings)
    paths = [rfe_repeat(data, r, settings, p.seed, job.threads) for r in p.repeats]
    write_csv(pd.concat(paths, ignore_index=True), job.output.paths)
    log.info("%d repeats written to %s", len(paths), job.output.paths)


def rfe_gather(job: RuleJob) -> None:
    """Gather RFE repeats → RMSE curve, feature frequencies and the chosen feature sets."""
    log = logging.getLogger("rfe_gather")
    paths = pd.concat([read_verified_csv(p, keep_default_na=False) for p in job.input.paths], ignore_index=True)
    paths = paths.sort_values(["repeat", "n_features"], ascending=[True, False], ignore_index=True)
    write_csv(paths, job.output.paths)
    write_csv(rfe_curve(paths), job.output.curve)
    counts = {n: feature_frequencies(paths, n) for n in (job.params.n_al, job.params.n_final)}
    frequencies = pd.DataFrame(counts).fillna(0).astype(int)
    frequencies.columns = [f"count_in_{n}" for n in frequencies.columns]
    write_csv(frequencies.rename_axis("feature").reset_index(), job.output.frequencies)
    for n, target in (
        (job.params.n_al, job.output.features_al),
        (job.params.n_final, job.output.features_final),
    ):
        chosen = choose_features(paths, n)
        write_feature_list(chosen, target)
        log.info("%d-feature set: %s", n, ", ".join(chosen))
