"""The RFE step trains on one LightGBM Dataset per step through the native API: it must give the very numbers
(bit for bit) the scikit-learn wrapper gave, so the elimination paths, hence the chosen features, do not change."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hmixal import rfe_study
from hmixal.config import merge_config, read_config_file
from hmixal.dataset import read_table
from hmixal.features import FeatureSource
from hmixal.io import write_csv
from hmixal.model import ModelData, model_data
from hmixal.rfe_study import RfeSettings, elimination_step_importance, rfe_repeat
from hmixal.splits import derive_seed, grouped_holdout

REPO = Path(__file__).resolve().parents[1]


def _load_benchmark():
    """benchmarks/bench_rfe_speed.py, whose ``sklearn_step`` is the step as it was (one place for the reference)."""
    spec = importlib.util.spec_from_file_location("bench_rfe_speed", REPO / "benchmarks" / "bench_rfe_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference_step = _load_benchmark().sklearn_step


def selection_config(name: str) -> dict:
    """The ``selection`` section of the default config, or of the quick config merged over it (as Snakemake does)."""
    config = read_config_file(REPO / "config" / "config.yaml")
    if name == "quick":
        merge_config(config, read_config_file(REPO / ".test" / "config" / "config.yaml"))
    return config["selection"]


@pytest.fixture(scope="module")
def real() -> ModelData:
    """A small real problem: the committed CALPHAD-derived ΔH_mix points (≈ 2100 rows, 44 features)."""
    return model_data(read_table(REPO / "data" / "derived" / "calphad_hmix.csv"), FeatureSource())


def holdout(data: ModelData, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test rows of a grouped split, as rfe_repeat draws them."""
    test = grouped_holdout(data.groups, fraction, seed)
    return np.flatnonzero(~test), np.flatnonzero(test)


@pytest.mark.parametrize("config_name", ["default", "quick"])
@pytest.mark.parametrize("n_columns", [44, 9])
def test_step_equals_sklearn_reference_bit_for_bit(real, config_name, n_columns):
    config = selection_config(config_name)
    train, test = holdout(real, config["test_fraction"], 5)
    X = real.X[:, :n_columns]
    seeds = [derive_seed(3, "rfe-fit", 0, i) for i in range(3)]
    args = (X[train], real.y[train], X[test], real.y[test], config["lgbm"], seeds, 1)
    imp, rmse = elimination_step_importance(*args)
    ref_imp, ref_rmse = reference_step(*args)
    assert np.array_equal(imp, ref_imp) and np.array_equal(rmse, ref_rmse)
    # Not a vacuous equality: the fits use the features and their seeds (bagging makes them differ).
    assert (imp.sum(axis=1) > 0).all() and not np.array_equal(imp[0], imp[1]) and rmse[0] != rmse[1]


def test_step_builds_a_dataset_per_seed_when_the_bin_edges_come_from_a_sample(real):
    # Fewer rows sampled for the bin edges than there are rows: the sample, hence the bins, depend on the seed.
    params = {**selection_config("quick")["lgbm"], "subsample_for_bin": 300}
    train, test = holdout(real, 0.25, 8)
    seeds = [derive_seed(4, "rfe-fit", 0, i) for i in range(3)]
    args = (real.X[train], real.y[train], real.X[test], real.y[test], params, seeds, 1)
    imp, rmse = elimination_step_importance(*args)
    ref_imp, ref_rmse = reference_step(*args)
    assert np.array_equal(imp, ref_imp) and np.array_equal(rmse, ref_rmse)


def csv_bytes(frame: pd.DataFrame, directory: Path) -> bytes:
    """The table as scripts/rfe_block.py writes it."""
    path = directory / "block.csv"
    write_csv(frame, path)
    return path.read_bytes()


# The default config's path is cut at 43 features here (25 fits per step are slow); benchmarks/rfe_speed.py
# compares whole default paths.
@pytest.mark.parametrize(
    ("config_name", "min_features"), [("quick", None), pytest.param("default", 43, marks=pytest.mark.slow)]
)
def test_rfe_path_equals_reference_path_byte_for_byte(real, monkeypatch, tmp_path, config_name, min_features):
    config = selection_config(config_name)
    minimum = config["min_features"] if min_features is None else min_features
    settings = RfeSettings(config["lgbm"], config["fits_per_step"], config["test_fraction"], minimum)
    args = (real, 1, settings, 11, 1)
    new = rfe_repeat(*args)
    with monkeypatch.context() as patch:
        patch.setattr(rfe_study, "elimination_step_importance", reference_step)
        old = rfe_repeat(*args)
    assert list(new["n_features"]) == list(range(44, minimum - 1, -1))
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    assert csv_bytes(new, tmp_path / "new") == csv_bytes(old, tmp_path / "old")
