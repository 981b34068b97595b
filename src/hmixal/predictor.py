"""Predictions of ΔH_mix for any binary points from the trained artifacts, with calibrated intervals, the domain
of applicability, and the training data of the binary beside the model's answer.

- The interval comes from the final model's own ensemble spread, calibrated on the out-of-fold residuals of the
  nested CV per data-coverage class (hmixal.calibration): ``uncertainty_kJ_per_mol`` is the half-width of the
  68 % interval, ``lower_95``/``upper_95`` bound the 95 % one.
- Every point carries how well the training data cover its binary (hmixal.domain) and an ``extrapolation`` flag.
- For a binary with training data the model's in-sample residual on that data (RMS over the binary's points) is
  added in quadrature to the interval, so a model that does not follow its own data says so; ``contradicts_data``
  marks a binary whose RMS residual exceeds the calibrated 68 % half-width the model would state without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from hmixal.calibration import Calibration
from hmixal.dataset import DATASET_COLUMNS, read_table
from hmixal.domain import DOMAIN_COLUMNS, TrainingDomain, binaries_of
from hmixal.errors import MissingArtifactError
from hmixal.features import FeatureSource
from hmixal.layout import CALIBRATION_FILE, ELEMENT_TABLE_FILE, FINAL_MODEL_DIR, TRAINING_DATA_FILE
from hmixal.miedema_model import hmix
from hmixal.model import TrainedModel
from hmixal.systems import composition_label

# The training data shown beside a prediction.
DATA_COLUMNS: tuple[str, ...] = ("A", "B", "x_B", "hmix_kJ_per_mol", "T_K", "source_type", "source", "reference")
Z_95 = NormalDist().inv_cdf(0.975)  # a data-residual term widens the 95 % interval as a standard deviation would
# The answer and its interval; `hmixal predict` prints these with SUMMARY_COLUMNS, --details every column.
ANSWER_COLUMNS: tuple[str, ...] = (
    "A",
    "B",
    "x_B",
    "hmix_kJ_per_mol",
    "uncertainty_kJ_per_mol",
    "lower_95_kJ_per_mol",
    "upper_95_kJ_per_mol",
    "miedema_kJ_per_mol",
)
SUMMARY_COLUMNS: tuple[str, ...] = (*ANSWER_COLUMNS, "coverage", "extrapolation", "n_data_points")
PREDICTION_COLUMNS: tuple[str, ...] = (
    *ANSWER_COLUMNS,
    "member_spread_kJ_per_mol",
    *DOMAIN_COLUMNS,
    "n_data_points",
    "data_rms_residual_kJ_per_mol",
    "contradicts_data",
)


_RESIDUAL_COLUMNS = ("A", "B", "n_data_points", "data_rms_residual_kJ_per_mol", "worst")


class Predictor:
    """The final model, its calibration, its training data and the domain they define."""

    def __init__(
        self, model: TrainedModel, calibration: Calibration, training: pd.DataFrame, source: FeatureSource
    ) -> None:
        self.model = model
        self.calibration = calibration
        self.source = source
        self.training = training[list(DATA_COLUMNS)].reset_index(drop=True)
        self.features = source.subset(model.features)
        self.domain = TrainingDomain.build(binaries_of(self.training), self.features)
        # Per training binary, computed when a prediction first asks for it: `hmixal predict Al-Ni` then scores
        # 28 rows, not all ~2300 (a quarter of a second of its start-up).
        self._residuals = pd.DataFrame(columns=list(_RESIDUAL_COLUMNS))

    @classmethod
    def from_folder(cls, folder: str | Path) -> Predictor:
        """Load a model folder as the pipeline writes it (``results/model``) and the package ships it."""
        folder = Path(folder)
        return cls.load(folder / FINAL_MODEL_DIR, folder / CALIBRATION_FILE)

    @classmethod
    def load(cls, model_dir: str | Path, calibration: str | Path) -> Predictor:
        """Load a final model folder (with its training data and element table) and the calibration."""
        model_dir = Path(model_dir)
        model = TrainedModel.load(model_dir)
        for name in (TRAINING_DATA_FILE, ELEMENT_TABLE_FILE):
            if not (model_dir / name).is_file():
                raise MissingArtifactError(
                    f"model in {model_dir} has no {name} (written by an older hmixal); rebuild it with "
                    "`snakemake --profile profiles/local results/model/predictions.csv`"
                )
        training = read_table(model_dir / TRAINING_DATA_FILE)
        return cls(model, Calibration.load(calibration), training, FeatureSource(model_dir / ELEMENT_TABLE_FILE))

    def _residuals_for(self, a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
        """The data residuals of the binaries among (a, b) that have training data, computed once each."""
        wanted = pd.DataFrame({"A": a, "B": b}).drop_duplicates()
        known = wanted.merge(self._residuals[["A", "B"]], on=["A", "B"], how="left", indicator=True)
        missing = known.loc[known["_merge"] == "left_only", ["A", "B"]]
        rows = self.training.merge(missing, on=["A", "B"], how="inner") if len(missing) else self.training.iloc[:0]
        if len(rows):
            fresh = self._data_residuals(rows)
            known_rows = [self._residuals] if len(self._residuals) else []  # concat with an empty frame warns
            self._residuals = pd.concat([*known_rows, fresh], ignore_index=True)
        return self._residuals

    def _data_residuals(self, data: pd.DataFrame) -> pd.DataFrame:
        """Per binary of ``data`` (training rows): number of points and RMS of (model − data) on them."""
        a, b, x = data["A"].to_numpy(), data["B"].to_numpy(), data["x_B"].to_numpy(dtype=float)
        value, spread = self.model.predict_with_spread(self.source, a, b, x)
        residual = value - data["hmix_kJ_per_mol"].to_numpy(dtype=float)
        classes = self.domain.describe(a, b, self.features)["coverage"].to_numpy()
        # Judged against the calibrated 68 % half-width the model would state without its own data: a model whose
        # RMS miss on a binary's points exceeds it departs from that data by more than one standard uncertainty.
        half_68 = self.calibration.half_width(spread, classes, 0.68)
        frame = pd.DataFrame({"A": a, "B": b, "r2": residual**2, "w2": half_68**2})
        grouped = frame.groupby(["A", "B"], sort=True).agg(
            n_data_points=("r2", "size"), mean_r2=("r2", "mean"), mean_w2=("w2", "mean")
        )
        grouped["data_rms_residual_kJ_per_mol"] = np.sqrt(grouped.pop("mean_r2"))
        grouped["worst"] = grouped["data_rms_residual_kJ_per_mol"] > np.sqrt(grouped.pop("mean_w2"))
        return grouped.reset_index()

    def predict(self, a: np.ndarray, b: np.ndarray, x_b: np.ndarray) -> pd.DataFrame:
        """PREDICTION_COLUMNS for points A–B (A < B) at x_B."""
        a, b, x_b = np.asarray(a), np.asarray(b), np.asarray(x_b, dtype=float)
        value, spread = self.model.predict_with_spread(self.source, a, b, x_b)
        domain = self.domain.describe(a, b, self.features)
        classes = domain["coverage"].to_numpy()
        data = pd.DataFrame({"A": a, "B": b}).merge(self._residuals_for(a, b), on=["A", "B"], how="left")
        n_data = data["n_data_points"].fillna(0).to_numpy(dtype=int)
        data_rms = data["data_rms_residual_kJ_per_mol"].fillna(0.0).to_numpy(dtype=float)
        half_68 = np.hypot(self.calibration.half_width(spread, classes, 0.68), data_rms)
        half_95 = np.hypot(self.calibration.half_width(spread, classes, 0.95), Z_95 * data_rms)
        frame = pd.DataFrame(
            {
                "A": a,
                "B": b,
                "x_B": x_b,
                "hmix_kJ_per_mol": value,
                "uncertainty_kJ_per_mol": half_68,
                "lower_95_kJ_per_mol": value - half_95,
                "upper_95_kJ_per_mol": value + half_95,
                "miedema_kJ_per_mol": hmix(a, b, x_b),
                "member_spread_kJ_per_mol": spread,
                **{c: domain[c].to_numpy() for c in DOMAIN_COLUMNS},
                "n_data_points": n_data,
                "data_rms_residual_kJ_per_mol": np.where(n_data > 0, data_rms, np.nan),
                "contradicts_data": data["worst"].eq(True).to_numpy(),
            },
            columns=list(PREDICTION_COLUMNS),
        )
        return frame

    def data_for(self, a: str, b: str) -> pd.DataFrame:
        """The training rows of binary A–B (A < B), sorted by composition."""
        rows = self.training[(self.training["A"] == a) & (self.training["B"] == b)]
        return rows.sort_values(["x_B", "source"], kind="stable").reset_index(drop=True)

    def data_as_written(self, a: str, b: str) -> pd.DataFrame:
        """The training rows of a binary in the order the person wrote it: x_B is the fraction of their B."""
        data = self.data_for(*sorted((a, b)))
        if a < b or data.empty:  # stored the way it was written
            return data
        return data.assign(A=a, B=b, x_B=(1.0 - data["x_B"]).round(12)).sort_values("x_B", kind="stable")


def training_table(dataset: pd.DataFrame) -> pd.DataFrame:
    """The rows of a dataset a model keeps beside itself (DATA_COLUMNS, in dataset order)."""
    missing = [c for c in DATA_COLUMNS if c not in dataset.columns]
    if missing:
        raise ValueError(f"dataset lacks {missing}; expected the columns of {DATASET_COLUMNS}")
    return dataset[list(DATA_COLUMNS)].reset_index(drop=True)


def warnings_for(frame: pd.DataFrame) -> list[str]:
    """One line per binary whose prediction is flagged: extrapolation, or a model that contradicts its data."""
    lines = []
    for (a, b), part in frame.groupby(["A", "B"], sort=False):
        first = part.iloc[0]
        if bool(first["extrapolation"]):
            if min(int(first["n_train_binaries_A"]), int(first["n_train_binaries_B"])) == 0:
                missing = [e for e, n in ((a, first["n_train_binaries_A"]), (b, first["n_train_binaries_B"])) if n == 0]
                why = f"no training binary contains {' or '.join(missing)}"
            else:
                why = f"unlike every training binary (nearest: {first['nn_binary']})"
            lines.append(
                f"{a}-{b}: extrapolation, {why}; the interval is calibrated on elements and binaries the data hold "
                "and may understate the error here"
            )
        if bool(first["contradicts_data"]):
            lines.append(
                f"{a}-{b}: the model departs from its own training data on this binary (RMS "
                f"{first['data_rms_residual_kJ_per_mol']:.1f} kJ/mol over {int(first['n_data_points'])} point(s)); "
                "the interval includes that residual, the data are listed with --data"
            )
    return lines


def predict_alloys(
    predictor: Predictor, formulas: Sequence[str], method: str = "muggianu", asymmetric: str | None = None
) -> pd.DataFrame:
    """ΔH_mix of multicomponent liquids extrapolated from the ML binaries (hmixal.multicomponent: Muggianu, Kohler
    or Toop), with an interval and the binaries' flags.

    Every model is a weighted sum of binaries at their projection points, with positive weights; the binaries'
    half-widths are added with the same weights as their values (errors of binaries that share elements are
    correlated, so a linear sum is the safe bound)."""
    return pd.DataFrame([_alloy_row(predictor, formula, method, asymmetric) for formula in formulas])


def _alloy_row(predictor: Predictor, formula: str, method: str, asymmetric: str | None) -> dict[str, object]:
    """One alloy: each binary predicted once, at its projection point, every column combined with its weight."""
    from hmixal.api import extrapolation_asymmetric
    from hmixal.multicomponent import binary_projections, parse_composition

    fractions = parse_composition(formula)
    elements = list(fractions)

    def value(a: str, b: str, x_b: np.ndarray) -> np.ndarray:
        x_b = np.asarray(x_b, dtype=float)
        return predictor.predict(np.full(x_b.shape, a), np.full(x_b.shape, b), x_b)["hmix_kJ_per_mol"].to_numpy()

    chosen = extrapolation_asymmetric(elements, value, method, asymmetric)
    projections = binary_projections(elements, np.array(list(fractions.values())), method, chosen)
    frames = {
        pair: predictor.predict(np.array([pair[0]]), np.array([pair[1]]), np.atleast_1d(p.x_b).astype(float))
        for pair, p in projections.items()
    }
    weights = {pair: float(np.atleast_1d(p.weight)[0]) for pair, p in projections.items()}
    flagged = [f"{a}-{b}" for (a, b), frame in sorted(frames.items()) if bool(frame["extrapolation"].iloc[0])]
    return {
        "composition": composition_label(fractions),
        **{
            column: float(sum(weights[pair] * frame[column].iloc[0] for pair, frame in frames.items()))
            for column in ANSWER_COLUMNS
            if column.endswith("_kJ_per_mol")
        },
        "method": method,
        "asymmetric": chosen or "",
        "extrapolated_binaries": " ".join(flagged),
    }


def alloy_notes(frame: pd.DataFrame) -> list[str]:
    """One note per alloy whose extrapolation rests on binaries flagged as extrapolation."""
    return [
        f"{row.composition}: extrapolation in the binaries {row.extrapolated_binaries} (an element without "
        "training data, or unlike every training binary); the interval includes their width"
        for row in frame.itertuples()
        if row.extrapolated_binaries
    ]


# Training points listed inline in the note beside a prediction; more are shown with --data.
INLINE_DATA_POINTS = 3


def data_note(data: pd.DataFrame, a: str, b: str) -> str:
    """One line saying which training data the model has for a binary (the points themselves when few)."""
    kinds = ", ".join(sorted(set(data["source_type"])))
    if len(data) > INLINE_DATA_POINTS:
        return f"{a}-{b}: {len(data)} training data points ({kinds}); list them with --data"
    shown = "; ".join(
        f"x_{b} = {r.x_B:g}: {r.hmix_kJ_per_mol:.1f} kJ/mol ({r.source_type}"
        + ("" if pd.isna(r.T_K) else f", {r.T_K:g} K")
        + (f", {r.reference}" if r.reference else "")
        + ")"
        for r in data.itertuples()
    )
    return f"{a}-{b}: training data {shown}"
