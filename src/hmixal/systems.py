"""Binary systems and composition grids over hmixal's elements."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError


def all_binaries(elements: Sequence[str] = ELEMENTS) -> list[tuple[str, str]]:
    """Every unordered pair of distinct elements as (A, B) with A < B alphabetically."""
    return [tuple(sorted(pair)) for pair in combinations(elements, 2)]  # type: ignore[misc]


def composition_grid(step: float = 0.01) -> np.ndarray:
    """Interior compositions x_B = step, 2·step, …, 1 − step (rounded, so the grid is exact in decimal)."""
    n = round(1.0 / step)
    if n < 2 or not np.isclose(n * step, 1.0):
        raise ValueError(f"composition step {step} must divide 1 into at least two intervals")
    return np.round(np.arange(1, n) * step, 10)


def binary_grid(pairs: Sequence[tuple[str, str]], x_b: Sequence[float] | np.ndarray) -> pd.DataFrame:
    """Cartesian product of binaries and compositions as a table with columns A, B, x_B."""
    x = np.asarray(x_b, dtype=float)
    a = np.repeat([p[0] for p in pairs], x.size)
    b = np.repeat([p[1] for p in pairs], x.size)
    return pd.DataFrame({"A": a, "B": b, "x_B": np.tile(x, len(pairs))})


def parse_binary(text: str) -> tuple[str, str]:
    """Parse 'Al-Ni' (any order, any case of the separator spacing) into a validated (A, B) with A < B."""
    parts = [p.strip() for p in text.split("-")]
    if len(parts) != 2 or not all(parts):
        raise InputError(None, None, f"'{text}' is not a binary system; write it as A-B, e.g. Al-Ni")
    for symbol in parts:
        if symbol not in ELEMENTS:
            raise InputError(None, None, f"unknown element '{symbol}' in '{text}'")
    if parts[0] == parts[1]:
        raise InputError(None, None, f"'{text}' names the same element twice")
    a, b = sorted(parts)
    return a, b
