"""A small trained results folder for tests of predictions and of the command line (built in seconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hmixal.calibration import Calibration
from hmixal.domain import COVERAGE_CLASSES, COVERAGE_NONE
from hmixal.elements import default_table_path
from hmixal.features import FeatureSource
from hmixal.io import write_csv, write_text
from hmixal.layout import ELEMENT_TABLE_FILE, TRAINING_DATA_FILE
from hmixal.miedema_model import hmix
from hmixal.model import model_data
from hmixal.nested_cv import InnerSettings, fit_inner
from hmixal.predictor import training_table

FAST = {"n_estimators": 40, "learning_rate": 0.2, "num_leaves": 7, "min_child_samples": 5, "max_bin": 63}
# Transition metals and Al only: carbon and the other 59 elements never appear in training.
ELEMENTS = ("Al", "Co", "Cr", "Cu", "Fe", "Ni", "Ti", "Zr", "Nb", "Mo", "Ir")


def small_dataset() -> pd.DataFrame:
    """Miedema + 5 kJ/mol ± a per-binary offset on every binary of ELEMENTS but Ir–Ti, whose only point (AIMD) is
    35 kJ/mol below that."""
    pairs = [(a, b) for i, a in enumerate(sorted(ELEMENTS)) for b in sorted(ELEMENTS)[i + 1 :]]
    rows = [(a, b, x) for a, b in pairs if (a, b) != ("Ir", "Ti") for x in (0.2, 0.4, 0.6, 0.8)]
    rows.append(("Ir", "Ti", 0.5))
    frame = pd.DataFrame(rows, columns=["A", "B", "x_B"])
    offset = dict(zip(pairs, np.random.default_rng(4).normal(0.0, 3.0, len(pairs)), strict=True))
    frame["hmix_kJ_per_mol"] = hmix(frame["A"], frame["B"], frame["x_B"]) + 5.0
    frame["hmix_kJ_per_mol"] += [offset[p] for p in zip(frame["A"], frame["B"], strict=True)]
    is_ir_ti = (frame["A"] == "Ir") & (frame["B"] == "Ti")
    frame.loc[is_ir_ti, "hmix_kJ_per_mol"] -= 35.0
    frame["T_K"] = 2000.0
    frame["source_type"] = np.where(is_ir_ti, "aimd", "calphad")
    frame["source"] = "synthetic"
    frame["reference"] = "test"
    return frame


def build_results(root: Path) -> Path:
    """``root/model/final_after`` (model, training data, element table) and ``root/model/calibration.json``, the
    way the pipeline writes them, with a simple calibration (a class without element data three times wider)."""
    dataset = small_dataset()
    data = model_data(dataset, FeatureSource())
    settings = InnerSettings(n_folds=3, base_params=FAST, rfe_n_features=8, n_trials=0, shrink_z=0.0)
    model = fit_inner(data, np.arange(len(data.y)), settings, seed=0, threads=1).model()
    directory = root / "model" / "final_after"
    write_csv(training_table(dataset), directory / TRAINING_DATA_FILE)
    write_text(default_table_path().read_text(encoding="utf-8"), directory / ELEMENT_TABLE_FILE, manifest=True)
    model.save(directory)
    quantiles = {c: {"0.68": 1.0, "0.95": 2.0} for c in ("all", *COVERAGE_CLASSES)}
    quantiles[COVERAGE_NONE] = {"0.68": 3.0, "0.95": 6.0}
    counts = {c: 10 for c in quantiles}
    Calibration(1.0, quantiles, counts, counts).save(root / "model" / "calibration.json")
    return root
