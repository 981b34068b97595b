"""The prediction model: Miedema's ΔH_mix plus a LightGBM correction that falls back to Miedema where unsure.

The target is y = ΔH_mix(data) − ΔH_mix(Miedema) (seed §2.3; docs/model.md). The correction is the mean of the
inner-CV ensemble (one LightGBM per inner fold, each trained without some binaries), and it is trusted in two
ways so a user never gets a worse answer than the baseline where the data cannot support one:
- point by point, by the members' agreement: the mean m is scaled by m² / (m² + s²), s the members' spread, so
  a correction the members disagree on (a binary unlike any training binary) shrinks towards Miedema;
- per Miedema group, by a least-squares weight w_g ∈ [0, 1] fitted on the inner out-of-fold predictions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hmixal.errors import InputError, MissingArtifactError
from hmixal.features import FeatureSource
from hmixal.io import atomic_path, write_text
from hmixal.lightgbm_c import CBooster
from hmixal.miedema_model import GROUP_NONTM_NONTM, GROUP_TM_NONTM, GROUP_TM_TM, hmix, miedema_groups

if TYPE_CHECKING:  # imported where a model is trained: the package imports scikit-learn (≈ 1.5 s), see lightgbm_c
    import lightgbm as lgb

MIEDEMA_GROUPS: tuple[str, ...] = (GROUP_TM_TM, GROUP_TM_NONTM, GROUP_NONTM_NONTM)
# The correction is tapered to zero at the pure elements (ΔH_mix vanishes there; trees do not know it): full
# weight for x_A·x_B ≥ 0.1·0.9, the edge of the CALPHAD grid, and proportional to x_A·x_B towards the ends.
END_TAPER_EDGE = 0.1
# Settings that make LightGBM bit-for-bit reproducible at any thread count (docs/model.md; checked at 1 and 2 threads).
REPRODUCIBLE_PARAMS = {"deterministic": True, "force_row_wise": True, "verbosity": -1}
# LightGBM's fast fits (the RFE study, the active-learning evaluator): bagged, so fits with other seeds differ.
LGBM_PARAMS: Mapping[str, object] = MappingProxyType(
    {
        "n_estimators": 100,
        "learning_rate": 0.1,
        "num_leaves": 15,
        "min_child_samples": 10,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "max_bin": 63,
    }
)


@dataclass(frozen=True)
class ModelData:
    """Rows of a dataset with everything the model needs: all 44 features, Miedema, target and groups."""

    frame: pd.DataFrame  # the dataset rows (A, B, x_B, hmix_kJ_per_mol, source_type, …), index 0…n−1
    X: np.ndarray  # n × 44 candidate features
    feature_names: tuple[str, ...]
    miedema: np.ndarray  # Miedema's ΔH_mix (kJ/mol)
    y: np.ndarray  # target: data − Miedema (kJ/mol)
    groups: np.ndarray  # binary system "A-B": the unit that is never split
    miedema_group: np.ndarray  # TM-TM | TM-nonTM | nonTM-nonTM
    source: FeatureSource | None = None  # computes features of points outside the dataset (domain checks)

    def columns(self, names: Sequence[str]) -> np.ndarray:
        """The feature matrix restricted to ``names`` (in that order)."""
        position = {n: i for i, n in enumerate(self.feature_names)}
        return self.X[:, [position[n] for n in names]]


def model_data(dataset: pd.DataFrame, source: FeatureSource) -> ModelData:
    """Attach features, Miedema's value and the target to every dataset row."""
    missing = {"A", "B", "x_B", "hmix_kJ_per_mol", "source_type"} - set(dataset.columns)
    if missing:
        raise InputError(None, None, f"dataset lacks column(s) {sorted(missing)}")
    frame = dataset.reset_index(drop=True)
    a, b, x = frame["A"].to_numpy(), frame["B"].to_numpy(), frame["x_B"].to_numpy(dtype=float)
    miedema = hmix(a, b, x)
    return ModelData(
        frame=frame,
        X=source.features(a, b, x),
        feature_names=source.names,
        miedema=miedema,
        y=frame["hmix_kJ_per_mol"].to_numpy(dtype=float) - miedema,
        groups=(frame["A"] + "-" + frame["B"]).to_numpy(),
        miedema_group=miedema_groups(a, b),
        source=source,
    )


def excluded_before_aimd(frame: pd.DataFrame, excluded_sources: Sequence[str]) -> np.ndarray:
    """Rows a 'before AIMD' model never trains on: those whose source_type is in ``excluded_sources`` (config
    ``model.excluded_sources_before``). The one definition used by the nested CV and the final model."""
    return frame["source_type"].isin(list(excluded_sources)).to_numpy()


def regressor(params: Mapping[str, object], seed: int, threads: int) -> lgb.LGBMRegressor:
    """A reproducible LightGBM regressor with the given hyper-parameters and thread count."""
    import lightgbm as lgb

    return lgb.LGBMRegressor(**{**params, **REPRODUCIBLE_PARAMS, "random_state": seed, "n_jobs": threads})


def end_taper(x_b: np.ndarray) -> np.ndarray:
    """Factor in [0, 1] that brings the correction to zero at x_B = 0 and 1 (1 inside the data's range)."""
    x = np.asarray(x_b, dtype=float)
    return np.clip(x * (1.0 - x) / (END_TAPER_EDGE * (1.0 - END_TAPER_EDGE)), 0.0, 1.0)


def group_weights(
    correction: np.ndarray,
    target: np.ndarray,
    group: np.ndarray,
    binaries: np.ndarray | None = None,
    z: float = 0.0,
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, float]:
    """Weight in [0, 1] per Miedema group: least squares of the correction against the target residual, lowered
    by ``z`` bootstrap standard errors (binaries resampled), so only a clearly useful correction is kept."""
    weights = {}
    rng = np.random.default_rng(seed)
    for name in MIEDEMA_GROUPS:
        mask = group == name
        denominator = float(np.dot(correction[mask], correction[mask]))
        if denominator <= 0:
            weights[name] = 0.0
            continue
        w = float(np.dot(correction[mask], target[mask])) / denominator
        if z > 0 and binaries is not None:
            # Per-binary sums make the bootstrap over binaries (the unit the CV holds out) cheap.
            _, index = np.unique(binaries[mask], return_inverse=True)
            fy = np.bincount(index, weights=correction[mask] * target[mask])
            ff = np.bincount(index, weights=correction[mask] ** 2)
            draws = rng.integers(0, fy.size, size=(n_boot, fy.size))
            boot = fy[draws].sum(axis=1) / np.maximum(ff[draws].sum(axis=1), np.finfo(float).tiny)
            w -= z * float(np.std(boot, ddof=1))
        weights[name] = float(np.clip(w, 0.0, 1.0))
    return weights


def balanced_sample_weights(labels: np.ndarray) -> np.ndarray:
    """Row weights (mean 1) that give every label, e.g. every Miedema group, the same total weight in training."""
    labels = np.asarray(labels)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return (labels.size / counts.size) / counts[inverse].astype(float)


def apply_weights(correction: np.ndarray, group: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
    """Scale each row's correction by its Miedema group's weight."""
    factor = np.ones(correction.shape)
    for name, w in weights.items():
        factor[group == name] = w
    return correction * factor


def spread_shrinkage(members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the members (axis 0) scaled by m² / (m² + s²), and the members' spread s (ddof 1)."""
    mean = members.mean(axis=0)
    if members.shape[0] < 2:
        return mean, np.zeros(mean.shape)
    spread = members.std(axis=0, ddof=1)
    square = mean**2
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(square + spread**2 > 0, square / (square + spread**2), 0.0)
    return mean * factor, spread


@dataclass
class TrainedModel:
    """A fitted correction model: its features, hyper-parameters, group weights and LightGBM ensemble."""

    features: tuple[str, ...]
    params: dict[str, object]
    weights: dict[str, float]
    boosters: list[lgb.Booster | CBooster]  # trained here, or loaded for prediction (hmixal.lightgbm_c)
    shrink_by_spread: bool = True
    info: dict[str, object] = field(default_factory=dict)

    def correction(self, X_features: np.ndarray, group: np.ndarray, x_b: np.ndarray) -> np.ndarray:
        """Ensemble correction (kJ/mol), shrunk by the members' spread and per group, tapered at the ends."""
        return self.correction_and_spread(X_features, group, x_b)[0]

    def correction_and_spread(
        self, X_features: np.ndarray, group: np.ndarray, x_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The correction and the members' spread (standard deviation of their raw corrections, tapered like
        the correction): the model's own measure of how much the answer depends on which binaries it saw."""
        members = np.array([b.predict(X_features, num_threads=1) for b in self.boosters])
        raw, spread = spread_shrinkage(members)
        if not self.shrink_by_spread:
            raw = members.mean(axis=0)
        taper = end_taper(x_b)
        return apply_weights(raw, group, self.weights) * taper, spread * taper

    def predict_points(self, source: FeatureSource, a: np.ndarray, b: np.ndarray, x_b: np.ndarray) -> np.ndarray:
        """Predicted ΔH_mix (kJ/mol) of binary points: Miedema + weighted correction."""
        return self.predict_with_spread(source, a, b, x_b)[0]

    def predict_with_spread(
        self, source: FeatureSource, a: np.ndarray, b: np.ndarray, x_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predicted ΔH_mix (kJ/mol) of binary points and the members' spread (kJ/mol)."""
        X = source.subset(self.features)(a, b, x_b)
        correction, spread = self.correction_and_spread(X, miedema_groups(a, b), x_b)
        return hmix(a, b, x_b) + correction, spread

    def save(self, directory: str | Path) -> None:
        """Write ``member_NN.txt`` (LightGBM) and ``meta.json`` into ``directory`` atomically, file by file."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for i, booster in enumerate(self.boosters):
            with atomic_path(directory / f"member_{i:02d}.txt") as tmp:
                booster.save_model(str(tmp))
        meta = {
            "features": list(self.features),
            "params": self.params,
            "weights": self.weights,
            "n_members": len(self.boosters),
            "shrink_by_spread": self.shrink_by_spread,
            "info": self.info,
        }
        # meta.json last: its presence marks a complete model.
        write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", directory / "meta.json")

    @classmethod
    def load(cls, directory: str | Path) -> TrainedModel:
        """Read a model written by :meth:`save`."""
        directory = Path(directory)
        if not (directory / "meta.json").is_file():
            raise MissingArtifactError(
                f"no trained model in {directory}; run `snakemake --profile profiles/local` to build it"
            )
        meta = json.loads((directory / "meta.json").read_text())
        if "n_members" not in meta:
            raise MissingArtifactError(f"model in {directory} was written by an older hmixal (no ensemble); rebuild it")
        paths = [directory / f"member_{i:02d}.txt" for i in range(int(meta["n_members"]))]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise MissingArtifactError(f"model in {directory} is incomplete: {', '.join(missing)} missing; rebuild it")
        boosters: list[lgb.Booster | CBooster] = [CBooster(p) for p in paths]
        return cls(
            tuple(meta["features"]),
            meta["params"],
            meta["weights"],
            boosters,
            bool(meta["shrink_by_spread"]),
            meta.get("info", {}),
        )
