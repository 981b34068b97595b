"""Binary systems and composition grids over hmixal's elements, and how people write them.

One convention everywhere a person writes a system: ``A-B`` with x_B the mole fraction of B *as written*
(``Ni-Al`` at x_B = 0.25 is 25 % Al), element symbols in any case (``al-ni``, ``AL-NI``). Internally binaries
are stored with A < B alphabetically; :func:`orient` maps a written point to that order (x_B → 1 − x_B when
the pair is swapped) and results are reported back in the order the person wrote.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from itertools import combinations
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError

# 1 − x_B is rounded like the dataset's normalised numbers, so 1 − 0.25 is exactly the grid's 0.75.
ROUND_DECIMALS = 12
_CANONICAL = {symbol.lower(): symbol for symbol in ELEMENTS}
_AMOUNT = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_MAX_READINGS = 6


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


def canonical_element(text: str, context: str | None = None) -> str:
    """The symbol as spelled in ELEMENTS (``al``, ``AL`` → ``Al``); InputError naming ``context`` if unknown."""
    symbol = _CANONICAL.get(text.strip().lower())
    if symbol is None:
        where = f" in '{context}'" if context else ""
        raise InputError(None, None, f"unknown element '{text.strip()}'{where} (hmixal covers {len(ELEMENTS)})")
    return symbol


def parse_system(text: str) -> tuple[str, str]:
    """Parse a binary written ``A-B`` (any case) into (A, B) canonical and in the order written."""
    parts = [p.strip() for p in text.split("-")]
    if len(parts) != 2 or not all(parts):
        raise InputError(None, None, f"'{text}' is not a binary system; write it as A-B, e.g. Al-Ni")
    a, b = (canonical_element(p, text) for p in parts)
    if a == b:
        raise InputError(None, None, f"'{text}' names the same element twice")
    return a, b


def parse_binary(text: str) -> tuple[str, str]:
    """Parse 'Al-Ni' (either order) into a validated (A, B) with A < B; symbols must be spelled as in ELEMENTS.

    Callers that carry a composition with the pair use :func:`parse_system` and :func:`orient` instead, which
    also accept any case and keep x_B attached to the element the person meant.
    """
    for part in text.split("-"):
        if part.strip() and part.strip() not in ELEMENTS:
            raise InputError(None, None, f"unknown element '{part.strip()}' in '{text}'")
    a, b = parse_system(text)
    return (a, b) if a < b else (b, a)


def orient(
    a: Sequence[str] | np.ndarray, b: Sequence[str] | np.ndarray, x_b: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points (A, B, x_B) as written → hmixal's internal order A < B, x_B → 1 − x_B where swapped; and the mask."""
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    x = np.asarray(x_b, dtype=float)
    swapped = a > b
    return (
        np.where(swapped, b, a).astype(str),
        np.where(swapped, a, b).astype(str),
        np.where(swapped, np.round(1.0 - x, ROUND_DECIMALS), x),
        swapped,
    )


@cache
def _readings(text: str) -> tuple[tuple[str, ...], ...]:
    """Every way to read a single-case formula as hmixal's element symbols, each with its optional amount."""
    if not text:
        return ((),)
    out: list[tuple[str, ...]] = []
    for width in (1, 2):
        symbol = _CANONICAL.get(text[:width].lower()) if len(text) >= width else None
        if symbol is None:
            continue
        rest = text[width:]
        amount = _AMOUNT.match(rest)
        if amount:
            symbol, rest = symbol + amount.group(0), rest[amount.end() :]
        out.extend((symbol, *tail) for tail in _readings(rest))
        if len(out) > _MAX_READINGS:
            break
    return tuple(out)


def normalise_formula(text: str) -> str:
    """A formula with its symbols capitalised: ``alcocrfeni`` → ``AlCoCrFeNi``.

    A formula mixing upper and lower case is taken as written (each capital starts a symbol). One written in
    a single case is read case-insensitively when it splits into hmixal's elements in exactly one way; an
    ambiguous one (``cuzr``: Cu Zr or C U Zr) is refused with its readings, to be capitalised by the person.
    """
    formula = text.strip()
    letters = [c for c in formula if c.isalpha()]
    if not letters or (any(c.isupper() for c in letters) and any(c.islower() for c in letters)):
        return formula
    readings = sorted(dict.fromkeys(_readings(formula)), key=len)  # the fewest symbols first
    if len(readings) == 1:
        return "".join(readings[0])
    if not readings:
        raise InputError(
            None, None, f"cannot read '{text}' as element symbols; capitalise them, e.g. AlCoCrFeNi or Fe70Cr20Ni10"
        )
    shown = " or ".join(" ".join(tokens) for tokens in readings[:_MAX_READINGS])
    example = "".join(readings[0])
    raise InputError(None, None, f"'{text}' reads more than one way ({shown}); capitalise the symbols, e.g. {example}")


def composition_label(fractions: Mapping[str, float]) -> str:
    """A multicomponent composition written back as a formula of mole fractions: ``Al0.2Co0.2Cr0.2Fe0.2Ni0.2``."""
    return "".join(f"{element}{value:.4g}" for element, value in fractions.items())


def distinct_binaries(paths: Iterable[str | Path]) -> set[tuple[str, str]]:
    """The binaries (A < B) named by the rows of CSV tables with columns A and B (any order, any case).

    '#' lines and unknown symbols are skipped: this bounds, from above, the binaries a merge of the tables holds.
    """
    pairs: set[tuple[str, str]] = set()
    for path in paths:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = csv.DictReader(line for line in handle if not line.lstrip().startswith("#"))
            for row in rows:
                a = _CANONICAL.get(str(row.get("A") or "").strip().lower())
                b = _CANONICAL.get(str(row.get("B") or "").strip().lower())
                if a and b and a != b:
                    pairs.add((a, b) if a < b else (b, a))
    return pairs
