"""Composition features: mean and average deviation of each element property (the seed's 44 candidates)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hmixal.elements import PROPERTIES, element_index, load_element_table, property_matrix
from hmixal.errors import InputError
from hmixal.io import write_text
from hmixal.manifest import read_verified_text

# The seed's 10 active-learning features (§2.1), in hmixal's names: the AL benchmark's default list (chosen without the
# benchmark's test binaries) and the uncertainty map's fallback before the RFE study ran.
PAPER_AL_FEATURES: tuple[str, ...] = (
    "Column_avgdev",
    "Cpliq_avgdev",
    "Cpfus_avgdev",
    "FirstIonizationEnergy_avgdev",
    "Hfus_avgdev",
    "Sfus_avgdev",
    "Density_avgdev",
    "Column_mean",
    "Cpliq_mean",
    "Sfus_mean",
)


def feature_names(properties: Sequence[str] = PROPERTIES) -> list[str]:
    """Feature column names, property by property: '<property>_mean', '<property>_avgdev'."""
    return [f"{p}_{stat}" for p in properties for stat in ("mean", "avgdev")]


def _indices(symbols: Sequence[str] | np.ndarray, index: Mapping[str, int]) -> np.ndarray:
    symbols = np.asarray(symbols)
    unique, inverse = np.unique(symbols, return_inverse=True)
    unknown = [s for s in unique if s not in index]
    if unknown:
        raise InputError(None, None, f"no element properties for {', '.join(map(str, unknown))}")
    return np.array([index[s] for s in unique], dtype=np.intp)[inverse]


def binary_features(
    values: np.ndarray,
    index: Mapping[str, int],
    a: Sequence[str] | np.ndarray,
    b: Sequence[str] | np.ndarray,
    x_b: Sequence[float] | np.ndarray,
    properties: Sequence[str] = PROPERTIES,
) -> np.ndarray:
    """Feature matrix (n × 2·n_properties) of binaries A–B at x_B from an element × property value array."""
    x = np.asarray(x_b, dtype=float)
    if np.any((x < 0) | (x > 1)) or not np.all(np.isfinite(x)):
        raise InputError(None, None, "x_B must lie in [0, 1]")
    pa = values[_indices(a, index)]
    pb = values[_indices(b, index)]
    xb = x[:, None]
    xa = 1.0 - xb
    out = np.empty((x.size, 2 * len(properties)))
    out[:, 0::2] = xa * pa + xb * pb
    # Σ x_i |p_i − mean| reduces to 2 x_A x_B |p_A − p_B| for two components.
    out[:, 1::2] = 2.0 * xa * xb * np.abs(pa - pb)
    return out


def mixture_features(values: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Feature matrix of arbitrary mixtures: fractions is (n × n_elements) in the value array's row order."""
    f = np.asarray(fractions, dtype=float)
    if f.ndim != 2 or f.shape[1] != values.shape[0]:
        raise ValueError(f"fractions must be (n, {values.shape[0]}), got {f.shape}")
    if np.any(f < 0) or not np.allclose(f.sum(axis=1), 1.0):
        raise InputError(None, None, "mole fractions must be non-negative and sum to 1")
    mean = f @ values
    out = np.empty((f.shape[0], 2 * values.shape[1]))
    out[:, 0::2] = mean
    out[:, 1::2] = np.einsum("ne,nep->np", f, np.abs(values[None, :, :] - mean[:, None, :]))
    return out


def feature_frame(
    values: np.ndarray,
    index: Mapping[str, int],
    points: pd.DataFrame,
    properties: Sequence[str] = PROPERTIES,
) -> pd.DataFrame:
    """Features of a table with columns A, B, x_B, as a DataFrame aligned with its index."""
    missing = {"A", "B", "x_B"} - set(points.columns)
    if missing:
        raise InputError(None, None, f"points table lacks column(s) {sorted(missing)}")
    matrix = binary_features(
        values, index, points["A"].to_numpy(), points["B"].to_numpy(), points["x_B"].to_numpy(), properties
    )
    return pd.DataFrame(matrix, columns=feature_names(properties), index=points.index)


def feature_positions(names: Sequence[str], features: Sequence[str]) -> list[int]:
    """Column positions of ``features`` among ``names``, or an InputError naming the unknown ones."""
    position = {n: i for i, n in enumerate(names)}
    unknown = [f for f in features if f not in position]
    if unknown:
        raise InputError(None, None, f"unknown feature(s): {', '.join(unknown)}")
    return [position[f] for f in features]


def read_feature_list(path: str | Path, known: Sequence[str]) -> tuple[str, ...]:
    """Feature names, one per line (blank lines and ``#`` comments skipped), each checked against ``known``.

    The file is checked against its manifest first (hmixal.manifest): a list cut or edited after the RFE wrote
    it would silently train on other features, so it is an InputError naming the file.
    """
    names: list[str] = []
    for number, line in enumerate(read_verified_text(path).splitlines(), start=1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if name not in known:
            raise InputError(path, number, f"unknown feature {name!r}")
        if name in names:
            raise InputError(path, number, f"feature {name!r} listed twice")
        names.append(name)
    if not names:
        raise InputError(path, None, "no feature names")
    return tuple(names)


def write_feature_list(names: Sequence[str], path: str | Path) -> None:
    """Write feature names one per line, with a manifest: read_feature_list refuses the list cut or edited since."""
    write_text("\n".join(names) + "\n", path, manifest=True)


class FeatureSource:
    """Computes the 44 candidate features of any binary points from the element table."""

    def __init__(self, element_table: str | Path | None = None) -> None:
        self.values = property_matrix(load_element_table(None if element_table is None else Path(element_table)))
        self.index = element_index()
        self.names = tuple(feature_names())

    def features(self, a: np.ndarray, b: np.ndarray, x_b: np.ndarray) -> np.ndarray:
        """Feature matrix of points A–B at x_B."""
        return binary_features(self.values, self.index, a, b, x_b)

    def subset(self, names: Sequence[str]) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
        """f(a, b, x_B) → the feature matrix restricted to ``names`` (in that order)."""
        position = {n: i for i, n in enumerate(self.names)}
        columns = [position[n] for n in names]
        return lambda a, b, x_b: self.features(a, b, x_b)[:, columns]
