"""Jobs of workflow/rules/export.smk: ESPEI datasets of the AIMD rows or of the model's predicted curves."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pandas as pd

from hmixal.dataset import KEPT_STATUS, read_dataset_csv, read_table
from hmixal.elements import load_element_table
from hmixal.espei_export import aimd_datasets, dataset_index, prediction_datasets, write_datasets
from hmixal.io import write_csv
from hmixal.jobs import RuleJob
from hmixal.redlich_kister import read_predictions


def espei_export(job: RuleJob) -> None:
    """ESPEI datasets (HM_MIX, LIQUID) of the final dataset's AIMD rows (rule espei_datasets) or, labelled as
    predictions, of the model's predicted curves (rule espei_predictions)."""
    log = logging.getLogger("espei_export")
    params = job.params
    if hasattr(job.input, "predictions"):
        path = Path(job.input.predictions)
        predictions = read_predictions(path, require_manifest=True)
        # The model id: the final model's name and the first 8 hex digits of the curves' sha256, so two exports of
        # different trainings never share a reference.
        label = f"{params.model}-{hashlib.sha256(path.read_bytes()).hexdigest()[:8]}"
        # The element table the rule names (the committed one when it names none) gives Tm for the T rule.
        elements_path = getattr(job.input, "elements", None)
        melting_points = load_element_table(elements_path and Path(elements_path))["MeltT"].astype(float).to_dict()
        datasets = prediction_datasets(
            predictions, label, None, melting_points, float(params.t_offset), float(params.t_cap), path
        )
        log.info("%d prediction datasets of model %s from %s", len(datasets), label, path)
    else:
        dataset = read_table(job.input.dataset)
        exported = aimd_datasets(dataset, bool(params.include_potential_md), job.input.dataset)
        datasets = exported.datasets
        # Rows without a value never reach the dataset (the merge keeps status value only): list them from the AIMD
        # stage tables, so the export names every AIMD row it does not carry.
        left_out = [exported.left_out]
        for table_path in job.input.aimd_tables:
            table = read_dataset_csv(table_path, "aimd", float(params.max_abs_hmix))
            rows = table.rows[table.rows["status"] != KEPT_STATUS]
            left_out.append(aimd_datasets(rows, bool(params.include_potential_md), table_path).left_out)
        frames = [f for f in left_out if len(f)]
        left = pd.concat(frames, ignore_index=True) if frames else exported.left_out
        write_csv(left, job.output.left_out)
        log.info(
            "%d AIMD datasets from %s; %d row(s) left out, listed in %s",
            len(datasets),
            job.input.dataset,
            len(left),
            job.output.left_out,
        )
    paths = write_datasets(datasets, job.output.datasets)
    write_csv(dataset_index(datasets, paths), job.output.index)
    log.info("wrote %d ESPEI datasets to %s (index %s)", len(paths), job.output.datasets, job.output.index)
