"""LightGBM models through the C library (hmixal.lightgbm_c) predict exactly what lightgbm.Booster predicts."""

from __future__ import annotations

import subprocess
import sys

import lightgbm as lgb
import numpy as np
import pytest

from hmixal.layout import FINAL_MODEL_DIR
from hmixal.lightgbm_c import CBooster
from hmixal.resources import shipped_predictor_dir


def test_the_shipped_members_predict_bit_for_bit_as_lightgbm_does(tmp_path):
    members = sorted((shipped_predictor_dir() / FINAL_MODEL_DIR).glob("member_*.txt"))
    assert members
    rng = np.random.default_rng(0)
    for path in members[:3]:
        reference = lgb.Booster(model_file=str(path))
        booster = CBooster(path)
        assert booster.num_features == reference.num_feature()
        X = rng.normal(0.0, 3.0, size=(500, booster.num_features))
        np.testing.assert_array_equal(booster.predict(X), reference.predict(X, num_threads=1))
        np.testing.assert_array_equal(booster.predict(X[:1].tolist(), num_threads=2), reference.predict(X[:1]))
    booster.save_model(tmp_path / "copy.txt")
    assert (tmp_path / "copy.txt").read_bytes() == members[2].read_bytes()


def test_a_wrong_feature_count_and_a_broken_file_are_refused(tmp_path):
    path = next((shipped_predictor_dir() / FINAL_MODEL_DIR).glob("member_*.txt"))
    booster = CBooster(path)
    with pytest.raises(ValueError, match=f"takes {booster.num_features} features"):
        booster.predict(np.zeros((2, booster.num_features + 1)))
    broken = tmp_path / "broken.txt"
    broken.write_text("tree\nnot a model\n")
    with pytest.raises(RuntimeError, match="LightGBM: "):
        CBooster(broken)


def test_a_prediction_does_not_import_lightgbm_or_scikit_learn():
    code = (
        "import sys, hmixal; hmixal.predict('Al-Ni', x=0.5); hmixal.predict('AlCoCrFeNi'); "
        "print(sorted(m for m in ('lightgbm', 'sklearn', 'scipy.stats') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
