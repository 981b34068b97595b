"""The predictor the package ships is the one the pipeline builds from the committed data and default config.

The card (hmixal.cards) records the sha256 of every artifact of the run that built the shipped predictor.
The fast tests check that the shipped files are those artifacts and that the card's settings are today's
defaults; the slow test rebuilds the dataset, the final model and one outer fold of the nested CV from the
committed data and compares them with the card, file by file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO
from hmixal import __version__
from hmixal.cards import card_config, sha256_of
from hmixal.config import read_config_file
from hmixal.layout import CALIBRATION_FILE, FINAL_MODEL_DIR, MODEL_CARD_FILE, TRAINING_DATA_FILE
from hmixal.resources import element_table_path, shipped_predictor_dir

REBUILD = "snakemake --profile profiles/local --cores 2 ship_predictor"


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads((shipped_predictor_dir() / MODEL_CARD_FILE).read_text(encoding="utf-8"))


def test_the_shipped_files_are_the_artifacts_the_card_names(card):
    folder = shipped_predictor_dir()
    model = folder / FINAL_MODEL_DIR
    artifacts = card["artifacts"]
    members = sorted(p.name for p in model.glob("member_*.txt"))
    assert members == sorted(artifacts["members"]) and len(members) == card["model"]["n_members"]
    for name in members:
        assert sha256_of(model / name) == artifacts["members"][name], name
    assert sha256_of(model / "meta.json") == artifacts["meta"]
    assert sha256_of(model / TRAINING_DATA_FILE) == artifacts["training_data"]
    assert sha256_of(folder / CALIBRATION_FILE) == artifacts["calibration"]
    # One element table: the model's copy is the package's own.
    assert sha256_of(model / "elements.csv") == sha256_of(element_table_path()) == artifacts["element_table"]
    assert card["shipped_on"] and card["hmixal_version"] == __version__


def test_the_card_was_built_with_todays_default_settings(card):
    current = card_config(read_config_file(REPO / "config" / "config.yaml"))
    assert card["config"] == current, f"config/config.yaml changed since the predictor was shipped: run `{REBUILD}`"


@pytest.mark.slow
def test_a_rebuild_from_the_committed_data_gives_the_shipped_files(card, tmp_path):
    from helpers import scratch_copy

    workdir = scratch_copy(tmp_path / "repo")
    targets = ["results/model/final_after", "results/model/cv/after/fold_0/predictions.csv"]
    command = [sys.executable, "-m", "snakemake", "--profile", "profiles/local", "--cores", "2", *targets]
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-4000:]
    artifacts = card["artifacts"]
    results = workdir / "results"
    assert sha256_of(results / "data" / "dataset_final.csv") == artifacts["dataset"], f"dataset changed: `{REBUILD}`"
    model = results / "model" / FINAL_MODEL_DIR
    rebuilt = {p.name: sha256_of(p) for p in sorted(model.glob("member_*.txt"))}
    assert rebuilt == artifacts["members"], f"the final model changed: `{REBUILD}`"
    assert sha256_of(model / "meta.json") == artifacts["meta"]
    assert sha256_of(model / TRAINING_DATA_FILE) == artifacts["training_data"]
    # One outer fold of the nested CV the calibration rests on: the same out-of-fold predictions.
    fold = results / "model" / "cv" / "after" / "fold_0" / "predictions.csv"
    assert sha256_of(fold) == artifacts["fold_predictions"]["after/fold_0"]
    assert Path(card["dataset"]["file"]).name == "dataset_final.csv"
