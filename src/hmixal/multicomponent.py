"""Multicomponent liquids: composition formulas, and ΔH_mix by Muggianu's extrapolation from the binaries.

Muggianu's model (Y.-M. Muggianu, M. Gambino, J.-P. Bros, J. Chim. Phys. 72 (1975) 83) adds the binary
contributions, each evaluated at the binary composition closest to the multicomponent one (the orthogonal
projection onto the i–j edge): x_i^b = (1 + x_i − x_j)/2, x_j^b = (1 + x_j − x_i)/2, and

    ΔH(x) = Σ_{i<j} x_i x_j / (x_i^b x_j^b) · ΔH_ij(x_j^b).

For Redlich–Kister binaries this is exactly ΔH(x) = Σ_{i<j} x_i x_j Σ_n L_n^{ij} (x_i − x_j)^n, because
x_i^b − x_j^b = x_i − x_j. There are no ternary terms: hmixal predicts binaries only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import numpy.typing as npt

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError
from hmixal.redlich_kister import BinaryModel

# Mole fractions must add up to 1 within this (absolute) tolerance: allows for rounding in user input.
SUM_TOLERANCE = 1e-6

# One element symbol with an optional amount: "Al", "Al0.5", "Fe70", "Co.5".
_TOKEN = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d*)?|\.\d+)?")
_NEGATIVE = re.compile(r"-(\d|\.\d)")


def parse_composition(text: str) -> dict[str, float]:
    """Normalised mole fractions of a formula such as ``AlCoCrFeNi``, ``Al0.5CoCrFeNi`` or ``Fe70Cr20Ni10``."""
    formula = text.strip()
    if not formula:
        raise InputError(None, None, "empty composition; write it as e.g. AlCoCrFeNi or Fe70Cr20Ni10")
    amounts: dict[str, float] = {}
    position = 0
    while position < len(formula):
        if _NEGATIVE.match(formula, position):
            raise InputError(None, None, f"negative amount at position {position + 1} of '{text}'")
        match = _TOKEN.match(formula, position)
        if match is None:
            raise InputError(
                None, None, f"cannot read '{formula[position:]}' in '{text}'; write e.g. AlCoCrFeNi or Fe70Cr20Ni10"
            )
        symbol, number = match.group(1), match.group(2)
        if symbol not in ELEMENTS:
            raise InputError(None, None, f"unknown element '{symbol}' in '{text}' (hmixal covers {len(ELEMENTS)})")
        if symbol in amounts:
            raise InputError(None, None, f"element {symbol} appears twice in '{text}'")
        amount = 1.0 if number is None else float(number)
        if amount <= 0.0:
            raise InputError(None, None, f"amount of {symbol} in '{text}' must be positive, not {number}")
        amounts[symbol] = amount
        position = match.end()
    if len(amounts) < 2:
        raise InputError(None, None, f"'{text}' has a single element; a liquid alloy needs at least two")
    total = sum(amounts.values())
    return {symbol: amount / total for symbol, amount in amounts.items()}


def _validated(elements: Sequence[str], fractions: npt.ArrayLike) -> tuple[list[str], np.ndarray]:
    """Elements and a (points × elements) fraction matrix, checked: known, distinct, ≥ 2, each row sums to 1."""
    elements = [str(e) for e in elements]
    for symbol in elements:
        if symbol not in ELEMENTS:
            raise InputError(None, None, f"unknown element '{symbol}'")
    if len(set(elements)) != len(elements):
        raise InputError(None, None, f"an element appears twice in {elements}")
    if len(elements) < 2:
        raise InputError(None, None, f"{elements} has fewer than two elements")
    x = np.asarray(fractions, dtype=float)
    if x.ndim not in (1, 2) or x.shape[-1] != len(elements):
        raise InputError(None, None, f"fractions of shape {x.shape} do not match {len(elements)} elements")
    x = np.atleast_2d(x)
    if not np.isfinite(x).all() or (x < 0).any():
        raise InputError(None, None, "mole fractions must be finite and non-negative")
    off = np.abs(x.sum(axis=1) - 1.0) > SUM_TOLERANCE
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise InputError(None, None, f"mole fractions of point {i} add up to {x[i].sum():.10g}, not 1")
    return elements, x


def _shape_like(values: np.ndarray, fractions: npt.ArrayLike) -> np.ndarray:
    """A per-point result with the shape of the input's points: () for one composition, (n,) for n."""
    return values[0] if np.ndim(fractions) == 1 else values


def muggianu_rk(
    elements: Sequence[str], fractions: npt.ArrayLike, parameters: Mapping[tuple[str, str], npt.ArrayLike]
) -> np.ndarray:
    """ΔH_mix = Σ_{i<j} x_i x_j Σ_n L_n^{ij} (x_i − x_j)^n from binary L_n keyed (A, B) with A < B alphabetically."""
    elements, x = _validated(elements, fractions)
    total = np.zeros(x.shape[0])
    for i, j in combinations(range(len(elements)), 2):
        if elements[i] > elements[j]:
            i, j = j, i  # the parameters' sign convention is x_A − x_B with A < B
        pair = (elements[i], elements[j])
        if pair not in parameters:
            raise InputError(None, None, f"no Redlich–Kister parameters for {pair[0]}-{pair[1]}")
        coefficients = np.asarray(parameters[pair], dtype=float)
        difference = x[:, i] - x[:, j]
        total += x[:, i] * x[:, j] * np.sum(coefficients * difference[:, None] ** np.arange(coefficients.size), axis=1)
    return _shape_like(total, fractions)


def muggianu_terms(
    elements: Sequence[str], fractions: npt.ArrayLike, binary: BinaryModel
) -> dict[tuple[str, str], np.ndarray]:
    """Each binary's contribution (kJ/mol) to Muggianu's ΔH_mix, keyed (A, B) with A < B alphabetically."""
    elements, x = _validated(elements, fractions)
    terms = {}
    for i, j in combinations(range(len(elements)), 2):
        if elements[i] > elements[j]:
            i, j = j, i
        a, b = elements[i], elements[j]
        x_a_bin = 0.5 * (1.0 + x[:, i] - x[:, j])
        x_b_bin = 1.0 - x_a_bin
        term = np.zeros(x.shape[0])
        # Where x_a x_b = 0 the pair contributes nothing; the projection is also an edge end there (0/0).
        inside = (x[:, i] > 0) & (x[:, j] > 0)
        if inside.any():
            value = np.asarray(binary(a, b, x_b_bin[inside]), dtype=float)
            term[inside] = x[inside, i] * x[inside, j] / (x_a_bin[inside] * x_b_bin[inside]) * value
        terms[a, b] = _shape_like(term, fractions)
    return terms


def muggianu(elements: Sequence[str], fractions: npt.ArrayLike, binary: BinaryModel) -> np.ndarray:
    """Muggianu's ΔH_mix (kJ/mol) of multicomponent compositions from any binary model f(a, b, x_b)."""
    terms = muggianu_terms(elements, fractions, binary)
    return np.sum(list(terms.values()), axis=0)
