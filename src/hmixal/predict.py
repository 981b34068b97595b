"""Predictions of ΔH_mix for any binary points from the trained artifacts, with an uncertainty estimate.

The uncertainty is the standard deviation of the outer-fold models' predictions (each trained on 11/12 of the
binaries): it grows where the models disagree, i.e. where the data constrain the correction least.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hmixal.miedema import hmix
from hmixal.model import FeatureSource, TrainedModel

PREDICTION_COLUMNS = ("A", "B", "x_B", "hmix_kJ_per_mol", "uncertainty_kJ_per_mol", "miedema_kJ_per_mol")


class Predictor:
    """The final model plus the outer-fold models used for the uncertainty."""

    def __init__(self, final: TrainedModel, folds: Sequence[TrainedModel], source: FeatureSource) -> None:
        self.final = final
        self.folds = list(folds)
        self.source = source

    @classmethod
    def load(cls, final_dir: str | Path, fold_dirs: Sequence[str | Path], elements: str | Path | None = None):
        """Load the artifacts the pipeline wrote."""
        return cls(TrainedModel.load(final_dir), [TrainedModel.load(d) for d in fold_dirs], FeatureSource(elements))

    def predict(self, a: np.ndarray, b: np.ndarray, x_b: np.ndarray) -> pd.DataFrame:
        """A table of predictions with uncertainty and Miedema's value for points A–B at x_B."""
        a, b, x_b = np.asarray(a), np.asarray(b), np.asarray(x_b, dtype=float)
        value = self.final.predict_points(self.source, a, b, x_b)
        if len(self.folds) > 1:
            spread = np.std([m.predict_points(self.source, a, b, x_b) for m in self.folds], axis=0, ddof=1)
        else:
            spread = np.full(value.shape, np.nan)
        return pd.DataFrame(
            {
                "A": a,
                "B": b,
                "x_B": x_b,
                "hmix_kJ_per_mol": value,
                "uncertainty_kJ_per_mol": spread,
                "miedema_kJ_per_mol": hmix(a, b, x_b),
            },
            columns=PREDICTION_COLUMNS,
        )


def _binary_callable(model: TrainedModel, source: FeatureSource):
    """f(a, b, x_b) → ΔH_mix of one binary from a trained model (for Muggianu's extrapolation)."""

    def f(a: str, b: str, x_b: np.ndarray) -> np.ndarray:
        x = np.asarray(x_b, dtype=float)
        return model.predict_points(source, np.full(x.shape, a), np.full(x.shape, b), x)

    return f


def predict_alloys(predictor: Predictor, formulas: Sequence[str]) -> pd.DataFrame:
    """Muggianu ΔH_mix of multicomponent liquids from the ML binaries, with the spread over the fold models."""
    from hmixal.miedema import hmix as miedema_hmix
    from hmixal.multicomponent import muggianu, parse_composition

    rows = []
    for formula in formulas:
        fractions = parse_composition(formula)
        elements, x = list(fractions), np.array([list(fractions.values())])
        value = float(muggianu(elements, x, _binary_callable(predictor.final, predictor.source))[0])
        spread = [float(muggianu(elements, x, _binary_callable(m, predictor.source))[0]) for m in predictor.folds]
        baseline = float(muggianu(elements, x, lambda a, b, xb: miedema_hmix(np.full(xb.shape, a), b, xb))[0])
        rows.append(
            {
                "composition": "".join(f"{e}{v:.4g}" for e, v in fractions.items()),
                "hmix_kJ_per_mol": value,
                "uncertainty": float(np.std(spread, ddof=1)) if len(spread) > 1 else float("nan"),
                "miedema_kJ_per_mol": baseline,
            }
        )
    return pd.DataFrame(rows)
