"""Leave-one-element-out predictions: how the model errs on a binary whose element it has never seen.

The nested CV holds out binaries, so its out-of-fold rows almost always keep both elements in training: on the
default data only 2 of 2302 rows fall in the coverage class 'none' (hmixal.domain). Yet 1512 of the 2415 binaries
a user can ask for contain an element without data (carbon, most alkali, rare-earth and refractory metals). For
each element E of the dataset this module trains the final model's ensemble (its features, hyper-parameters,
group weights and trust settings, members on grouped inner folds) on every row without E and predicts E's rows:
the residuals of a model that has never seen the element, which hmixal.calibration uses for the 'none' class.
The features and hyper-parameters were chosen by the final model's inner CV with E's rows present; refitting that
selection per element would cost 43 nested searches, and the selection moves the error far less than the element's
absence does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hmixal.model import ModelData, TrainedModel
from hmixal.nested_cv import cv_predict, sample_weights
from hmixal.splits import derive_seed, grouped_folds

HOLDOUT_COLUMNS: tuple[str, ...] = (
    "held_out_element",
    "A",
    "B",
    "x_B",
    "hmix_kJ_per_mol",
    "source_type",
    "miedema_kJ_per_mol",
    "predicted_kJ_per_mol",
    "member_spread_kJ_per_mol",
)


def element_holdout(
    data: ModelData, final: TrainedModel, n_folds: int, sample_weighting: str, seed: int, threads: int
) -> pd.DataFrame:
    """HOLDOUT_COLUMNS for the rows of every element, each predicted by the final model's recipe without it."""
    a, b = data.frame["A"].to_numpy(), data.frame["B"].to_numpy()
    x_b = data.frame["x_B"].to_numpy(dtype=float)
    frames = []
    for element in sorted(set(a) | set(b)):
        held = (a == element) | (b == element)
        train = np.flatnonzero(~held)
        n_groups = len(set(data.groups[train]))
        if n_groups < 2:
            continue  # nothing left to learn from
        folds = grouped_folds(data.groups[train], min(n_folds, n_groups), derive_seed(seed, "element-holdout", element))
        weights = sample_weights(data, train, sample_weighting)
        fit = cv_predict(data, train, folds, final.features, final.params, seed, threads, weights)
        model = TrainedModel(final.features, final.params, final.weights, fit.boosters, final.shrink_by_spread)
        test = np.flatnonzero(held)
        correction, spread = model.correction_and_spread(
            data.columns(final.features)[test], data.miedema_group[test], x_b[test]
        )
        part = data.frame.loc[test, ["A", "B", "x_B", "hmix_kJ_per_mol", "source_type"]].copy()
        part.insert(0, "held_out_element", element)
        part["miedema_kJ_per_mol"] = data.miedema[test]
        part["predicted_kJ_per_mol"] = data.miedema[test] + correction
        part["member_spread_kJ_per_mol"] = spread
        frames.append(part)
    if not frames:
        return pd.DataFrame(columns=list(HOLDOUT_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(HOLDOUT_COLUMNS)]
