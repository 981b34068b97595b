"""The tables the figures plot: reading and checking them (a DataFrame, or a CSV checked against its manifest),
and the row and element orderings several figures share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hmixal.elements import ELEMENTS, load_element_table
from hmixal.errors import InputError
from hmixal.miedema_model import is_transition_metal

_PERIOD_ENDS = (2, 10, 18, 36, 54, 86, 118)  # atomic number of the last element of periods 1–7


@dataclass(frozen=True)
class Table:
    """A checked input table and the name its errors report (a path, or a description of a DataFrame)."""

    frame: pd.DataFrame
    name: str

    def fail(self, row: int | None, problem: str) -> InputError:
        """An InputError at data row ``row`` (position; line = row + 2 as in the CSV, header on line 1)."""
        return InputError(self.name, None if row is None else row + 2, problem)


def load_table(table: pd.DataFrame | str | Path, columns: Mapping[str, str], what: str) -> Table:
    """Read (if a path) and check a table: required ``columns`` with kinds element/float/int/text.

    A path is checked against its manifest first (hmixal.manifest; required inside ``results/``).
    """
    from hmixal.manifest import read_verified_csv  # the tables given as paths are checked against their manifest

    if isinstance(table, pd.DataFrame):
        frame, name = table.reset_index(drop=True), f"<{what} table>"
    else:
        name = str(table)
        try:
            # Checked against its manifest (required inside results/): a result table cut or edited after its rule
            # wrote it is an InputError naming the file, never a figure of part of the data.
            frame = read_verified_csv(table, keep_default_na=False, na_values=[""], dtype={"A": str, "B": str})
        except OSError as exc:
            raise InputError(name, None, f"cannot read the {what} table: {exc}") from exc
    checked = Table(frame, name)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(name, 1, f"{what} table lacks column(s): {', '.join(missing)}")
    if frame.empty:
        raise InputError(name, None, f"{what} table has no rows")
    out = frame.copy()
    for column, kind in columns.items():
        values = frame[column]
        if kind == "element":
            bad = ~values.isin(ELEMENTS)
            problem = "is not one of the 70 elements"
        elif kind == "text":
            out[column] = values.astype(str)
            bad = values.isna() | (values.astype(str).str.strip() == "")
            problem = "is empty"
        else:
            numbers = pd.to_numeric(values, errors="coerce").astype(float)
            bad = ~np.isfinite(numbers)
            problem = "is not a finite number"
            if kind == "int":
                bad |= np.isfinite(numbers) & (numbers != numbers.round())
                problem = "is not an integer"
                numbers = numbers.where(~bad, 0).astype(int)
            out[column] = numbers
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise checked.fail(row, f"column {column}: {str(values.iloc[row])!r} {problem}")
    if "A" in columns and "B" in columns:
        same = out["A"] == out["B"]
        if same.any():
            row = int(np.flatnonzero(same.to_numpy())[0])
            raise checked.fail(row, f"A and B are both {out['A'].iloc[row]}: not a binary")
    return Table(out, name)


def check_unique_binaries(table: Table) -> None:
    """Fail on a binary that appears twice (in either element order) in a one-row-per-binary table."""
    key = pd.Series([tuple(sorted(p)) for p in zip(table.frame["A"], table.frame["B"], strict=True)])
    duplicated = key.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise table.fail(row, f"binary {'-'.join(key.iloc[row])} appears more than once")


def extremum_per_binary(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """The row of each binary (A, B) where ``|value|`` is largest (the first such row on ties), sorted by A, B."""
    magnitude = frame[value].abs()
    rows = magnitude.groupby([frame["A"], frame["B"]], sort=True).idxmax()
    return frame.loc[rows.to_numpy()].reset_index(drop=True)


def period(z: int) -> int:
    """Period of the periodic table that holds atomic number ``z``."""
    return int(np.searchsorted(_PERIOD_ENDS, z) + 1)


def element_order(elements: pd.DataFrame | None = None, split_transition: bool = False) -> list[str]:
    """The 70 elements sorted by periodic-table group (Column), then atomic number; optionally TMs first."""
    table = load_element_table() if elements is None else elements
    missing = [s for s in ELEMENTS if s not in table.index]
    if missing:
        raise InputError(None, None, f"element table lacks element(s): {' '.join(missing)}")
    keys = table.loc[list(ELEMENTS), ["Column", "Z"]].copy()
    keys["nonTM"] = [0 if (not split_transition or is_transition_metal(s)) else 1 for s in keys.index]
    return list(keys.sort_values(["nonTM", "Column", "Z"], kind="stable").index)
