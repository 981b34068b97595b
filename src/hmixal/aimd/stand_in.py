"""Does simulated data from a cheap engine buy what the paper's AIMD bought? The loop closed with a stand-in.

The paper ran AIMD on the systems its acquisition plan picked (Table 1) and retrained: the model after AIMD is
closer to the AIMD values than the model before. Here a cheaper engine (an ML potential) stands in for AIMD on
the same systems, and the retrained model is scored against the AIMD values it never saw. The features and
hyper-parameters of the model before AIMD are kept (``nested_cv.refit``), so that only the training rows change:

- ``before``: the model before AIMD (no simulated rows);
- ``stand_in``: before + the stand-in's rows for every system computed (the AIMD values stay held out);
- ``aimd``: before + the paper's AIMD rows of the same systems (what AIMD bought: the paper's "after", scored
  on its own training points, so a ceiling rather than a test);
- ``stand_in_loo``: before + the stand-in's rows of the *other* systems (is the cheap data worth anything
  beyond the points it sits on?);
- ``aimd_loo``: before + the paper's AIMD rows of the other systems (what AIMD bought, in the same terms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hmixal.dataset import POTENTIAL_MD
from hmixal.errors import InputError
from hmixal.features import FeatureSource
from hmixal.metrics import errors
from hmixal.model import excluded_before_aimd, model_data
from hmixal.nested_cv import InnerSettings, refit

VARIANTS: tuple[str, ...] = ("before", "stand_in", "aimd", "stand_in_loo", "aimd_loo")
AIMD = "aimd"


def retrain_with_stand_in(
    dataset: pd.DataFrame,
    stand_in: pd.DataFrame,
    source: FeatureSource,
    features: Sequence[str],
    params: Mapping[str, object],
    settings: InnerSettings,
    seed: int,
    threads: int = 1,
) -> pd.DataFrame:
    """Predictions of each variant (module doc) at the AIMD points of the systems the stand-in computed.

    ``dataset``: the final dataset (its AIMD rows are the reference and never train ``stand_in*``);
    ``stand_in``: value rows in the dataset schema (source_type potential_md) at the same A, B, x_B as AIMD rows.
    """
    if stand_in.empty:
        raise InputError(None, None, "no stand-in rows to train on")
    if set(stand_in["source_type"]) != {POTENTIAL_MD}:
        raise InputError(
            None, None, f"stand-in rows must be {POTENTIAL_MD}, got {sorted(set(stand_in['source_type']))}"
        )
    base = dataset[~excluded_before_aimd(dataset, [POTENTIAL_MD])].reset_index(drop=True)
    frame = pd.concat([base, stand_in[base.columns.intersection(stand_in.columns)]], ignore_index=True)
    data = model_data(frame, source)
    kind = data.frame["source_type"].to_numpy()
    systems = data.frame["A"] + "-" + data.frame["B"]
    before = np.flatnonzero((kind != AIMD) & (kind != POTENTIAL_MD))
    computed = sorted(set(systems[kind == POTENTIAL_MD]))
    targets = data.frame[(kind == AIMD) & systems.isin(computed).to_numpy()]
    if targets.empty:
        raise InputError(None, None, "the stand-in computed none of the AIMD systems: nothing to compare")

    def predict(rows: np.ndarray, at: pd.DataFrame) -> np.ndarray:
        model = refit(data, rows, features, params, settings, seed, threads)
        return model.predict_points(source, at["A"].to_numpy(), at["B"].to_numpy(), at["x_B"].to_numpy(float))

    out = targets[["A", "B", "x_B", "hmix_kJ_per_mol"]].rename(columns={"hmix_kJ_per_mol": "aimd_kJ_per_mol"})
    out = out.reset_index(drop=True)
    out.insert(0, "system", out["A"] + "-" + out["B"])
    out["stand_in_kJ_per_mol"] = [
        float(data.frame.loc[(systems == s) & (kind == POTENTIAL_MD), "hmix_kJ_per_mol"].mean()) for s in out["system"]
    ]
    out["miedema_kJ_per_mol"] = data.miedema[targets.index.to_numpy()]
    out["before"] = predict(before, out)
    out["stand_in"] = predict(np.concatenate([before, np.flatnonzero(kind == POTENTIAL_MD)]), out)
    out["aimd"] = predict(np.concatenate([before, targets.index.to_numpy()]), out)
    for variant, kind_of in (("stand_in_loo", POTENTIAL_MD), ("aimd_loo", AIMD)):
        values = []
        for i, system in enumerate(out["system"]):
            others = np.flatnonzero((kind == kind_of) & (systems != system).to_numpy())
            values.append(float(predict(np.concatenate([before, others]), out.iloc[[i]])[0]))
        out[variant] = values
    return out


# Paired comparisons reported with a bootstrap interval over systems: what the data bought, and the two kinds of data.
COMPARISONS: tuple[tuple[str, str], ...] = (
    ("before", "stand_in"), ("before", "aimd"), ("stand_in", "aimd"), ("before", "stand_in_loo"),
    ("before", "aimd_loo"), ("stand_in_loo", "aimd_loo"),
)  # fmt: skip


def scores(table: pd.DataFrame, seed: int = 0, draws: int = 5000) -> dict[str, Any]:
    """MAE, RMSE and bias of each variant, the stand-in itself and Miedema against the AIMD values (kJ/mol), and
    for each pair of COMPARISONS the mean drop of the absolute error with a 95 % bootstrap interval over systems."""
    out: dict[str, Any] = {"n_systems": len(table)}
    observed = table["aimd_kJ_per_mol"].to_numpy(float)
    for column in ("miedema_kJ_per_mol", "stand_in_kJ_per_mol", *VARIANTS):
        predicted = table[column].to_numpy(float)
        found = errors(observed, predicted)
        out[column] = {"mae": found["mae"], "rmse": found["rmse"], "bias": float(np.mean(predicted - observed))}
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(table), size=(draws, len(table)))
    out["paired"] = {}
    for first, second in COMPARISONS:
        gain = np.abs(table[first].to_numpy(float) - observed) - np.abs(table[second].to_numpy(float) - observed)
        low, high = np.percentile(gain[picks].mean(axis=1), [2.5, 97.5])
        out["paired"][f"{first}_minus_{second}"] = {
            "mean_abs_error_drop": float(gain.mean()), "ci95": [float(low), float(high)],
            "n_better": int((gain > 0).sum()),
        }  # fmt: skip
    return out
