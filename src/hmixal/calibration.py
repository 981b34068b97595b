"""Calibrated prediction intervals: split-conformal scaling of the model's own spread, by data coverage.

The raw signal is the spread s of the ensemble members' corrections at a point (hmixal.model). It ranks points
by how much the answer depends on which binaries were seen, but it is not an error bar: it knows nothing of the
error Miedema's baseline makes where the correction is shrunk away. The scale of a point is

    σ(s) = sqrt(s² + τ²),

with the floor τ (kJ/mol) chosen by maximum likelihood of the out-of-fold residuals r ~ N(0, c²σ²). The
interval at level p is ± q_p · σ, where q_p is the conformal quantile — the ⌈(n+1)p⌉-th smallest of the n
normalised out-of-fold residuals |r|/σ — within the point's coverage class (hmixal.domain: an element with no
training binary, a scarce element, or both covered). The out-of-fold residuals come from binaries the model
never saw (grouped folds), so the intervals are for a binary unlike any training binary's own data; for a
binary with data, hmixal.predictor widens them to reach that data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hmixal.domain import COVERAGE_CLASSES, COVERAGE_COVERED, COVERAGE_NONE, COVERAGE_SCARCE
from hmixal.errors import InputError, MissingArtifactError
from hmixal.io import write_text
from hmixal.manifest import read_verified_text

LEVELS: tuple[float, ...] = (0.68, 0.95)
# A class with fewer held-out binaries than this also takes the quantiles of itself pooled with the next better
# covered class (none + scarce, scarce + covered) where those are larger, so no interval rests on a handful of
# binaries.
MIN_CLASS_BINARIES = 10
# Expected coverage levels of the calibration curve (metrics.json, figure).
CURVE_LEVELS: tuple[float, ...] = tuple(sorted({round(v, 2) for v in np.arange(0.05, 1.0, 0.05)} | set(LEVELS)))
ALL = "all"


def scale(spread: np.ndarray, tau: float) -> np.ndarray:
    """σ(s) = sqrt(s² + τ²) (kJ/mol)."""
    return np.sqrt(np.asarray(spread, dtype=float) ** 2 + tau**2)


def fit_tau(residual: np.ndarray, spread: np.ndarray) -> float:
    """The floor τ maximising the Gaussian likelihood of r ~ N(0, c² (s² + τ²)), c profiled out."""
    from scipy.optimize import minimize_scalar  # fitting only: `hmixal predict` loads this module and must start fast

    r2 = np.asarray(residual, dtype=float) ** 2
    s2 = np.asarray(spread, dtype=float) ** 2
    top = max(float(np.sqrt(r2.mean())), 1e-6)

    def negative_log_likelihood(log_tau: float) -> float:
        v = s2 + math.exp(log_tau) ** 2
        c2 = float(np.mean(r2 / v))
        return float(np.sum(np.log(c2 * v)))

    best = minimize_scalar(negative_log_likelihood, bounds=(math.log(1e-3), math.log(10 * top)), method="bounded")
    return float(math.exp(best.x))


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ⌈(n+1)·level⌉-th smallest score (infinite when n is too small for the level)."""
    ordered = np.sort(np.asarray(scores, dtype=float))
    k = math.ceil((ordered.size + 1) * level)
    return float(ordered[k - 1]) if 1 <= k <= ordered.size else float("inf")


def _finite_quantile(scores: np.ndarray, level: float) -> float:
    """The conformal quantile, or the largest score where too few points give none (never infinite, so the
    calibration stays plain JSON and every interval a number); NaN without points."""
    if scores.size == 0:
        return float("nan")
    q = conformal_quantile(scores, level)
    return q if math.isfinite(q) else float(np.max(scores))


def _class_quantiles(
    scores: np.ndarray,
    classes: np.ndarray,
    binaries: np.ndarray,
    levels: Sequence[float],
    none_scores: np.ndarray | None = None,
) -> dict[str, dict[str, float]]:
    """Conformal quantiles per coverage class, never narrower for a less covered class.

    A class resting on fewer than MIN_CLASS_BINARIES binaries takes the larger of its own quantile and that of
    the class pooled with the next better covered one; then the quantiles are made monotone (no data ≥ scarce ≥
    covered), since an element with less data cannot make the model more certain."""
    order = (COVERAGE_COVERED, COVERAGE_SCARCE, COVERAGE_NONE)  # best covered first
    out: dict[str, dict[str, float]] = {}
    for i, name in enumerate(order):
        mask = classes == name
        own = {p: _finite_quantile(scores[mask], p) for p in levels}
        if name == COVERAGE_NONE and none_scores is not None and none_scores.size:
            # Leave-one-element-out residuals (hmixal.element_holdout) stand for the class the CV barely sees.
            own = {p: _finite_quantile(np.concatenate([scores[mask], none_scores]), p) for p in levels}
        elif len(set(binaries[mask])) < MIN_CLASS_BINARIES:
            pooled_mask = mask | (classes == order[i - 1]) if i > 0 else np.ones(classes.shape, dtype=bool)
            pooled = {p: _finite_quantile(scores[pooled_mask], p) for p in levels}
            own = {p: float(np.nanmax([own[p], pooled[p]])) for p in levels}
        if i > 0:
            better = out[order[i - 1]]
            own = {p: float(np.nanmax([own[p], better[_level_key(p)]])) for p in levels}
        out[name] = {_level_key(p): own[p] for p in levels}
    return out


@dataclass(frozen=True)
class Calibration:
    """τ and the conformal quantiles per coverage class and level, with the counts they rest on."""

    tau: float
    quantiles: dict[str, dict[str, float]]  # class → {level as text → q}
    n_points: dict[str, int]
    n_binaries: dict[str, int]

    def half_width(self, spread: np.ndarray, classes: np.ndarray, level: float) -> np.ndarray:
        """Half-width (kJ/mol) of the interval at ``level`` for points with this spread and coverage class."""
        key = _level_key(level)
        q = np.array([self.quantiles.get(str(c), self.quantiles[ALL])[key] for c in np.asarray(classes)])
        return q * scale(spread, self.tau)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready record."""
        return {
            "method": "split-conformal, sigma = sqrt(spread^2 + tau^2), quantiles per coverage class",
            "tau_kJ_per_mol": self.tau,
            "quantiles": self.quantiles,
            "n_points": self.n_points,
            "n_binaries": self.n_binaries,
            "levels": [_level_key(v) for v in LEVELS],
        }

    def save(self, path: str | Path) -> None:
        """Write the calibration as JSON (atomically)."""
        write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", path, manifest=True)

    @classmethod
    def from_dict(cls, record: Mapping[str, object], path: str | Path | None = None) -> Calibration:
        """Rebuild from :meth:`to_dict` output, refusing a record without every level and class."""
        try:
            quantiles = {str(c): {str(k): float(v) for k, v in q.items()} for c, q in record["quantiles"].items()}
            calibration = cls(
                float(record["tau_kJ_per_mol"]),
                quantiles,
                {str(k): int(v) for k, v in record["n_points"].items()},
                {str(k): int(v) for k, v in record["n_binaries"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InputError(path, None, f"not a calibration record ({error})") from None
        for name in (ALL, *COVERAGE_CLASSES):
            for level in LEVELS:
                if _level_key(level) not in calibration.quantiles.get(name, {}):
                    raise InputError(path, None, f"calibration lacks the {level:g} quantile of class '{name}'")
        return calibration

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        """Read a calibration written by :meth:`save`, or say how to build it."""
        path = Path(path)
        if not path.is_file():
            raise MissingArtifactError(
                f"no calibration at {path}; build it with `snakemake --profile profiles/local {path}`"
            )
        try:
            record = json.loads(read_verified_text(path))
        except json.JSONDecodeError as error:
            raise InputError(path, error.lineno, f"not JSON: {error.msg}") from None
        return cls.from_dict(record, path)


def _level_key(level: float) -> str:
    return f"{level:.2f}"


def fit_calibration(
    residual: np.ndarray,
    spread: np.ndarray,
    classes: np.ndarray,
    binaries: np.ndarray,
    levels: Sequence[float] = LEVELS,
    tau: float | None = None,
    holdout: pd.DataFrame | None = None,
) -> Calibration:
    """Calibrate intervals on out-of-fold residuals (prediction − data), spreads, coverage classes and binaries;
    ``holdout`` (hmixal.element_holdout rows) calibrates the class of binaries with an element without data."""
    residual, spread = np.asarray(residual, dtype=float), np.asarray(spread, dtype=float)
    classes, binaries = np.asarray(classes).astype(str), np.asarray(binaries).astype(str)
    tau = fit_tau(residual, spread) if tau is None else tau
    scores = np.abs(residual) / scale(spread, tau)
    none_scores = None if holdout is None else holdout_scores(holdout, tau)
    quantiles = {ALL: {_level_key(p): _finite_quantile(scores, p) for p in levels}}
    quantiles.update(_class_quantiles(scores, classes, binaries, levels, none_scores))
    masks = {ALL: np.ones(residual.shape, dtype=bool), **{c: classes == c for c in COVERAGE_CLASSES}}
    n_points = {name: int(m.sum()) for name, m in masks.items()}
    n_binaries = {name: len(set(binaries[m])) for name, m in masks.items()}
    if holdout is not None:
        n_points[COVERAGE_NONE] += len(holdout)
        n_binaries[COVERAGE_NONE] += int((holdout["A"] + "-" + holdout["B"]).nunique())
    return Calibration(tau, quantiles, n_points, n_binaries)


def holdout_scores(holdout: pd.DataFrame, tau: float) -> np.ndarray:
    """Normalised residuals |r| / σ(s) of leave-one-element-out rows."""
    residual = (holdout["predicted_kJ_per_mol"] - holdout["hmix_kJ_per_mol"]).to_numpy(dtype=float)
    return np.abs(residual) / scale(holdout["member_spread_kJ_per_mol"].to_numpy(dtype=float), tau)


def holdout_coverage(
    holdout: pd.DataFrame, tau: float, floor: Mapping[str, float], levels: Sequence[float] = CURVE_LEVELS
) -> pd.DataFrame:
    """Coverage of the no-data class checked element by element: each held-out element's rows against quantiles
    from the other elements' rows (raised to ``floor``, the scarce class's quantiles, as the calibration does)."""
    scores = holdout_scores(holdout, tau)
    elements = holdout["held_out_element"].astype(str).to_numpy()
    binaries = (holdout["A"] + "-" + holdout["B"]).to_numpy()
    inside = {p: np.zeros(len(holdout), dtype=bool) for p in levels}
    for element in np.unique(elements):
        test = elements == element
        for p in levels:
            q = max(_finite_quantile(scores[~test], p), floor.get(_level_key(p), 0.0))
            inside[p][test] = scores[test] <= q
    return pd.DataFrame(
        [
            {
                "coverage_class": COVERAGE_NONE,
                "expected": p,
                "observed": float(inside[p].mean()) if len(holdout) else float("nan"),
                "observed_per_binary": _per_binary(inside[p], binaries),
                "n_points": len(holdout),
                "n_binaries": len(set(binaries)),
            }
            for p in levels
        ]
    )


def cross_fitted_coverage(oof: pd.DataFrame, levels: Sequence[float] = CURVE_LEVELS) -> pd.DataFrame:
    """Observed coverage of intervals calibrated without each outer fold, on that fold's points.

    ``oof`` needs the columns fold, A, B, hmix_kJ_per_mol, predicted_kJ_per_mol, member_spread_kJ_per_mol and
    coverage. Returns one row per (class, level): expected and observed coverage, points and binaries.
    """
    residual = (oof["predicted_kJ_per_mol"] - oof["hmix_kJ_per_mol"]).to_numpy(dtype=float)
    spread = oof["member_spread_kJ_per_mol"].to_numpy(dtype=float)
    classes = oof["coverage"].astype(str).to_numpy()
    binaries = (oof["A"] + "-" + oof["B"]).to_numpy()
    folds = oof["fold"].to_numpy()
    inside = {p: np.zeros(len(oof), dtype=bool) for p in levels}
    for k in np.unique(folds):
        test = folds == k
        fitted = fit_calibration(residual[~test], spread[~test], classes[~test], binaries[~test], levels)
        for p in levels:
            inside[p][test] = np.abs(residual[test]) <= fitted.half_width(spread[test], classes[test], p)
    rows = []
    for name in (ALL, *COVERAGE_CLASSES):
        mask = np.ones(len(oof), dtype=bool) if name == ALL else classes == name
        for p in levels:
            rows.append(
                {
                    "coverage_class": name,
                    "expected": p,
                    "observed": float(inside[p][mask].mean()) if mask.any() else float("nan"),
                    # Each binary counted once: the share of a binary's points inside, averaged over binaries.
                    "observed_per_binary": _per_binary(inside[p][mask], binaries[mask]),
                    "n_points": int(mask.sum()),
                    "n_binaries": len(set(binaries[mask])),
                }
            )
    return pd.DataFrame(rows)


def _per_binary(inside: np.ndarray, binaries: np.ndarray) -> float:
    if inside.size == 0:
        return float("nan")
    return float(pd.Series(inside).groupby(binaries).mean().mean())


def raw_coverage(oof: pd.DataFrame, column: str, levels: Sequence[float] = LEVELS) -> dict[str, float]:
    """Coverage of ± z_p · ``column`` taken as a Gaussian standard deviation (the uncalibrated reading)."""
    from scipy.stats import norm

    residual = (oof["predicted_kJ_per_mol"] - oof["hmix_kJ_per_mol"]).abs().to_numpy(dtype=float)
    sigma = oof[column].to_numpy(dtype=float)
    return {_level_key(p): float(np.mean(residual <= norm.ppf(0.5 + p / 2) * sigma)) for p in levels}


def raw_coverage_curve(oof: pd.DataFrame, column: str, levels: Sequence[float] = CURVE_LEVELS) -> pd.DataFrame:
    """The uncalibrated reading of :func:`raw_coverage` as rows of the calibration curve (class 'uncalibrated')."""
    observed = raw_coverage(oof, column, levels)
    n_binaries = int((oof["A"] + "-" + oof["B"]).nunique())
    return pd.DataFrame(
        [
            {
                "coverage_class": "uncalibrated",
                "expected": p,
                "observed": observed[_level_key(p)],
                "observed_per_binary": float("nan"),
                "n_points": len(oof),
                "n_binaries": n_binaries,
            }
            for p in levels
        ]
    )
