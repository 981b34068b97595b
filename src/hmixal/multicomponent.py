"""Multicomponent liquids: composition formulas, and ΔH_mix extrapolated from the binaries (Muggianu, Kohler, Toop).

All three are "geometric" models (A. D. Pelton, Calphad 25 (2001) 319): each binary i–j is evaluated at a binary
composition x^b (its projection point) and scaled,

    ΔH(x) = Σ_{i<j} x_i x_j / (x_i^b x_j^b) · ΔH_ij(x_j^b),

and the models differ only in where the projection points lie. Pelton writes them as X_i = x_i + (a share of the
other components' fractions), x_i^b = X_i / (X_i + X_j):

- Muggianu (Y.-M. Muggianu, M. Gambino, J.-P. Bros, J. Chim. Phys. 72 (1975) 83): each of i, j takes half of the
  others, x_i^b = (1 + x_i − x_j)/2. For Redlich–Kister binaries ΔH = Σ x_i x_j Σ_n L_n (x_i − x_j)^n.
- Kohler (F. Kohler, Monatsh. Chem. 91 (1960) 738): neither takes any, x_i^b = x_i/(x_i + x_j); the weight is
  (x_i + x_j)².
- Toop (G. W. Toop, Trans. Metall. Soc. AIME 233 (1965) 850) with asymmetric component k: in each binary k–j all
  the others go with j, x_k^b = x_k; binaries i–j without k are treated by Kohler (Pelton's "Kohler/Toop").

There are no ternary terms: hmixal predicts binaries only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError
from hmixal.redlich_kister import BinaryModel

# Mole fractions must add up to 1 within this (absolute) tolerance: allows for rounding in user input.
SUM_TOLERANCE = 1e-6
# The extrapolation models, in the spelling of the `method` arguments and `hmixal predict --method`.
METHODS: tuple[str, ...] = ("muggianu", "kohler", "toop")
# Toop's asymmetric component by deviation sums (choose_asymmetric): the binaries are sampled at the midpoints of
# this many equal composition intervals, and deviation sums within TIE_TOLERANCE × the largest one count as equal
# (so that rounding in the binary model cannot decide between components that are alike by construction).
DEVIATION_GRID_POINTS = 100
TIE_TOLERANCE = 1e-9

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


def _validated_elements(elements: Sequence[str]) -> list[str]:
    """Element symbols, checked: known, distinct, at least two."""
    elements = [str(e) for e in elements]
    for symbol in elements:
        if symbol not in ELEMENTS:
            raise InputError(None, None, f"unknown element '{symbol}'")
    if len(set(elements)) != len(elements):
        raise InputError(None, None, f"an element appears twice in {elements}")
    if len(elements) < 2:
        raise InputError(None, None, f"{elements} has fewer than two elements")
    return elements


def _validated(elements: Sequence[str], fractions: npt.ArrayLike) -> tuple[list[str], np.ndarray]:
    """Elements and a (points × elements) fraction matrix, checked: known, distinct, ≥ 2, each row sums to 1."""
    elements = _validated_elements(elements)
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


@dataclass(frozen=True)
class Projection:
    """One binary's part in the extrapolation: ΔH(x) = Σ_pairs weight · ΔH_AB(x_b).

    ``x_b`` is the fraction of B (the alphabetically later element) at which the binary A–B is evaluated, per point;
    ``weight`` = x_A x_B / (x_A^b x_B^b), 0 where x_A x_B = 0. Evaluate the binary only where weight > 0: elsewhere
    the pair is absent and x_b is still a composition in [0, 1] but carries no information (0.5 where Kohler's
    x_B/(x_A + x_B) is 0/0, the Muggianu point there)."""

    x_b: np.ndarray
    weight: np.ndarray


def _sorted_pairs(elements: list[str]) -> list[tuple[int, int]]:
    """Index pairs (i, j) of all binaries with elements[i] < elements[j] alphabetically."""
    return [(i, j) if elements[i] < elements[j] else (j, i) for i, j in combinations(range(len(elements)), 2)]


def check_method(elements: list[str], method: str, asymmetric: str | None) -> int | None:
    """The index of Toop's asymmetric component (None for the symmetric models), after checking method and name."""
    if method not in METHODS:
        raise InputError(None, None, f"unknown extrapolation method '{method}'; choose one of {', '.join(METHODS)}")
    if method != "toop":
        if asymmetric is not None:
            raise InputError(
                None, None, f"an asymmetric component ('{asymmetric}') is only used by method 'toop', not '{method}'"
            )
        return None
    if asymmetric is None:
        raise InputError(
            None,
            None,
            "method 'toop' needs its asymmetric component: name one of the alloy's elements "
            f"({', '.join(elements)}) or pick it with choose_asymmetric(elements, binary)",
        )
    if asymmetric not in elements:
        raise InputError(
            None, None, f"asymmetric component '{asymmetric}' is not in the alloy; choose one of {', '.join(elements)}"
        )
    return elements.index(asymmetric)


def binary_projections(
    elements: Sequence[str], fractions: npt.ArrayLike, method: str = "muggianu", asymmetric: str | None = None
) -> dict[tuple[str, str], Projection]:
    """Each binary's projection point and weight under Muggianu, Kohler or Toop, keyed (A, B) with A < B."""
    elements, x = _validated(elements, fractions)
    k = check_method(elements, method, asymmetric)
    projections = {}
    for i, j in _sorted_pairs(elements):
        x_a, x_b = x[:, i], x[:, j]
        # Pelton's form: X_A = x_A + the share of the other components' fractions that goes with A, likewise X_B;
        # the others are summed (not 1 − x_A − x_B) so that X_A > 0 wherever x_A > 0 and a sub-edge is exact.
        rest = x[:, [m for m in range(len(elements)) if m not in (i, j)]].sum(axis=1)
        if method == "muggianu":
            big_a, big_b = x_a + 0.5 * rest, x_b + 0.5 * rest
        elif k is None or k not in (i, j):  # Kohler, and Toop's binaries without the asymmetric component
            big_a, big_b = x_a, x_b
        elif k == i:  # Toop: the asymmetric component keeps its own fraction, the others go with its partner
            big_a, big_b = x_a, x_b + rest
        else:
            big_a, big_b = x_a + rest, x_b
        span = big_a + big_b
        present = (x_a > 0) & (x_b > 0)
        # Where both are absent span can be 0 (Kohler): no division there, and the Muggianu point 0.5 instead.
        safe_span = np.where(span > 0, span, 1.0)
        projected_b = np.where(span > 0, big_b / safe_span, 0.5)
        weight = np.zeros_like(x_a)
        # x_A x_B / (x_A^b x_B^b) as (x_A/X_A)(x_B/X_B)(X_A + X_B)²: each ratio is in (0, 1], nothing under/overflows.
        weight[present] = (x_a[present] / big_a[present]) * (x_b[present] / big_b[present]) * span[present] ** 2
        projections[elements[i], elements[j]] = Projection(
            x_b=_shape_like(projected_b, fractions), weight=_shape_like(weight, fractions)
        )
    return projections


def _evaluate(binary: BinaryModel, a: str, b: str, x_b: np.ndarray) -> np.ndarray:
    """The binary model's ΔH (kJ/mol) of a–b at x_b, checked to be one value per composition."""
    values = np.asarray(binary(a, b, x_b), dtype=float)
    if values.shape != x_b.shape:
        raise InputError(
            None, None, f"the binary model returned shape {values.shape} for {a}-{b} at {x_b.size} composition(s)"
        )
    return values


def deviation_sums(elements: Sequence[str], binary: BinaryModel) -> dict[str, float]:
    """Chou's deviation sum of squares η_k (kJ²/mol²) of each element, summed over the ternaries k–i–j of the alloy.

    η_k = Σ_{i<j; i, j ≠ k} ∫_0^1 (ΔH_ki(x_k) − ΔH_kj(x_k))² dx_k, ΔH_ki(x_k) the binary k–i at fraction x_k of k,
    by the midpoint rule on DEVIATION_GRID_POINTS equal intervals. A small η_k: k sees the other components alike."""
    elements = _validated_elements(elements)
    grid = (np.arange(DEVIATION_GRID_POINTS) + 0.5) / DEVIATION_GRID_POINTS
    seen_by: dict[str, dict[str, np.ndarray]] = {e: {} for e in elements}
    for i, j in _sorted_pairs(elements):
        a, b = elements[i], elements[j]
        values = _evaluate(binary, a, b, grid)
        if not np.isfinite(values).all():
            raise InputError(None, None, f"the binary model returned non-finite ΔH for {a}-{b}")
        seen_by[b][a] = values  # evaluated at x_b = grid: as a function of x_b itself
        # The grid is symmetric (1 − grid is grid reversed), so the same values reversed are ΔH at x_a = grid.
        seen_by[a][b] = values[::-1]
    return {
        k: float(
            sum(
                np.mean((seen_by[k][i] - seen_by[k][j]) ** 2)
                for i, j in combinations(sorted(e for e in elements if e != k), 2)  # fixed order: fixed rounding
            )
        )
        for k in elements
    }


def choose_asymmetric(elements: Sequence[str], binary: BinaryModel) -> str:
    """Toop's asymmetric component: the element of smallest deviation sum η_k (ties: the alphabetically first)."""
    eta = deviation_sums(elements, binary)
    smallest, largest = min(eta.values()), max(eta.values())
    return min(k for k, value in eta.items() if value - smallest <= TIE_TOLERANCE * largest)


def extrapolation_terms(
    elements: Sequence[str],
    fractions: npt.ArrayLike,
    binary: BinaryModel,
    method: str = "muggianu",
    asymmetric: str | None = None,
) -> dict[tuple[str, str], np.ndarray]:
    """Each binary's contribution (kJ/mol) to ΔH_mix by the method, keyed (A, B) with A < B alphabetically.

    Toop without ``asymmetric`` takes choose_asymmetric(elements, binary)."""
    _validated(elements, fractions)  # bad input fails before the binary model is sampled for choose_asymmetric
    if method == "toop" and asymmetric is None:
        asymmetric = choose_asymmetric(elements, binary)
    projections = binary_projections(elements, fractions, method, asymmetric)
    terms = {}
    for (a, b), projection in projections.items():
        weight = np.atleast_1d(projection.weight)
        x_b = np.atleast_1d(projection.x_b)
        term = np.zeros(weight.shape)
        # Only where the pair is present: the binary model is never asked about an absent pair.
        present = weight > 0
        if present.any():
            term[present] = weight[present] * _evaluate(binary, a, b, x_b[present])
        terms[a, b] = _shape_like(term, fractions)
    return terms


def extrapolate(
    elements: Sequence[str],
    fractions: npt.ArrayLike,
    binary: BinaryModel,
    method: str = "muggianu",
    asymmetric: str | None = None,
) -> np.ndarray:
    """ΔH_mix (kJ/mol) of multicomponent compositions from any binary model f(a, b, x_b) by Muggianu, Kohler or Toop."""
    terms = extrapolation_terms(elements, fractions, binary, method, asymmetric)
    return np.sum(list(terms.values()), axis=0)


def muggianu_terms(
    elements: Sequence[str], fractions: npt.ArrayLike, binary: BinaryModel
) -> dict[tuple[str, str], np.ndarray]:
    """Each binary's contribution (kJ/mol) to Muggianu's ΔH_mix, keyed (A, B) with A < B alphabetically."""
    return extrapolation_terms(elements, fractions, binary, "muggianu")


def muggianu(elements: Sequence[str], fractions: npt.ArrayLike, binary: BinaryModel) -> np.ndarray:
    """Muggianu's ΔH_mix (kJ/mol) of multicomponent compositions from any binary model f(a, b, x_b)."""
    return extrapolate(elements, fractions, binary, "muggianu")
