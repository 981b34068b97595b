"""Redlich–Kister fits of predicted binary ΔH_mix curves, and their export as a pycalphad-loadable TDB file.

Convention (checked against pycalphad 0.11.2 in tests/test_redlich_kister.py): for a binary A–B with A < B
alphabetically and x_B the mole fraction of B,

    ΔH_mix = x_A x_B Σ_{n=0..N} L_n (x_A − x_B)^n,

which is what pycalphad evaluates for ``L(LIQUID,A,B;n)``: it sorts the constituents of a sublattice
alphabetically whatever order the file writes them in, so the parameters are written in that order too, which
makes Thermo-Calc and OpenCalphad (which keep the written order) read them the same way.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hmixal import __version__
from hmixal.elements import ELEMENTS, load_element_table
from hmixal.errors import InputError
from hmixal.manifest import WHAT_TO_DO, read_verified_csv, read_verified_text

# Choice (docs/redlich_kister.md): L0…L3 capture the smooth part of the predicted curves; on LightGBM curves
# higher orders mostly fit the model's piecewise-constant steps (measured there).
DEFAULT_MAX_ORDER = 3
# Choice: extra terms must lower the RMS residual by more than this (kJ/mol) to be kept; small next to the
# model's own error (several kJ/mol), large enough not to fit LightGBM's piecewise-constant steps.
DEFAULT_TOLERANCE_KJ_PER_MOL = 0.2
DEFAULT_COLUMN = "hmix_kJ_per_mol"

# What each column of the prediction table holds, for the provenance header of the TDB file.
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "hmix_kJ_per_mol": "hmixal final model (Miedema + LightGBM correction), trained with the AIMD data",
    "hmix_before_aimd_kJ_per_mol": "hmixal reference model (Miedema + LightGBM correction), without AIMD data",
    "miedema_kJ_per_mol": "Miedema's model for liquids (hmixal.miedema_model)",
}

J_PER_KJ = 1000.0
# The parameters are temperature independent; the range only has to cover every temperature a user may ask for.
TDB_T_LOW_K = 298.15
TDB_T_HIGH_K = 6000.0

if TYPE_CHECKING:  # pycalphad is imported only where a TDB is built or read (it takes seconds to import)
    from pycalphad import Database

BinaryModel = Callable[[str, str, np.ndarray], np.ndarray]


def coefficient_columns(max_order: int) -> list[str]:
    """Names of the Redlich–Kister coefficient columns L0 … L_max_order (kJ/mol)."""
    return [f"L{n}_kJ_per_mol" for n in range(max_order + 1)]


def rk_basis(x_b: npt.ArrayLike, order: int) -> np.ndarray:
    """Design matrix x_A x_B (x_A − x_B)^n, n = 0 … order, one row per composition."""
    x = np.asarray(x_b, dtype=float)
    x_a = 1.0 - x
    return (x_a * x)[..., None] * (x_a - x)[..., None] ** np.arange(order + 1)


def rk_hmix(x_b: npt.ArrayLike, coefficients: npt.ArrayLike) -> np.ndarray:
    """ΔH_mix (units of the coefficients) at x_B from L0 … L_N; coefficients broadcast against x_b[..., None]."""
    coefficients = np.asarray(coefficients, dtype=float)
    return np.sum(rk_basis(x_b, coefficients.shape[-1] - 1) * coefficients, axis=-1)


def choose_order(rms: np.ndarray, tolerance: float) -> np.ndarray:
    """Smallest order whose RMS residual is within ``tolerance`` of the highest order's (rms: orders × fits)."""
    # RMS never increases with the order (nested least-squares models), so this is the first order beyond which
    # no further term, up to the ceiling, buys more than `tolerance`.
    return np.argmax(rms <= rms[-1] + tolerance, axis=0)


def _read_table(path: str | Path, require_manifest: bool | None) -> pd.DataFrame:
    """Read a table checked against its manifest, keeping element symbols such as ``Na`` as text."""
    return read_verified_csv(path, required=require_manifest, dtype={"A": str, "B": str}, keep_default_na=False)


def read_predictions(path: str | Path, require_manifest: bool | None = None) -> pd.DataFrame:
    """Read a prediction table checked against its manifest and for a complete composition grid per binary."""
    # A manifest is required inside results/ (None) or when asked; without one (a table of your own) the grid
    # check below still applies, but a table cut after a whole binary cannot be told from a smaller one.
    predictions = _read_table(path, require_manifest)
    check_prediction_grid(predictions, path)
    return predictions


def _show(value: object) -> str:
    """A table entry as the user wrote it: text quoted, numbers plain (not numpy's repr)."""
    return repr(value) if isinstance(value, str) else str(value)


def _numeric(frame: pd.DataFrame, column: str, path: str | Path | None) -> np.ndarray:
    """A column as floats; the first non-numeric or non-finite entry is an InputError with its line."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, i + 2, f"column {column}: {_show(frame[column].iloc[i])} is not a finite number")
    return values


def _check_pairs(a: np.ndarray, b: np.ndarray, path: str | Path | None) -> None:
    """Every row names two known elements with A < B alphabetically (the convention the fit's sign relies on)."""
    known = set(ELEMENTS)
    for i, (sa, sb) in enumerate(zip(a, b, strict=True)):
        for symbol in (sa, sb):
            if symbol not in known:
                raise InputError(path, i + 2, f"unknown element {symbol!r}")
        if not sa < sb:
            raise InputError(path, i + 2, f"A={sa}, B={sb}: A must come before B alphabetically")


def _pair_labels(frame: pd.DataFrame) -> pd.Series:
    """The binary of every row as 'A-B'."""
    return frame["A"].astype(str) + "-" + frame["B"].astype(str)


def _curve_columns(frame: pd.DataFrame) -> list[str]:
    """The ΔH curves of a prediction table (the fittable columns): each must be a finite number at every point."""
    # Only these: per-binary columns may be empty by design (e.g. a data residual for a binary without data).
    return [c for c in COLUMN_DESCRIPTIONS if c in frame.columns]


def check_prediction_grid(predictions: pd.DataFrame, path: str | Path | None = None) -> None:
    """Every binary has the same complete x_B grid, once each, and every ΔH curve column is a finite number."""
    missing = [c for c in ("A", "B", "x_B") if c not in predictions.columns]
    if missing:
        raise InputError(path, 1, f"missing column(s): {', '.join(missing)}")
    frame = predictions.reset_index(drop=True)
    x = _numeric(frame, "x_B", path)
    for column in _curve_columns(frame):
        _numeric(frame, column, path)
    pairs = _pair_labels(frame)
    key = pd.MultiIndex.from_arrays([pairs.to_numpy(), x])
    if key.duplicated().any():
        i = int(np.flatnonzero(key.duplicated())[0])
        raise InputError(path, i + 2, f"{pairs.iloc[i]} at x_B = {x[i]} appears twice")
    grid = np.unique(x)
    # No duplicates and every x_B is in the union grid, so a binary is complete exactly when it has grid.size rows.
    counts = pairs.map(pairs.value_counts())
    short = np.flatnonzero(counts.to_numpy() < grid.size)
    if short.size:
        i = int(short[0])
        have = x[(pairs == pairs.iloc[i]).to_numpy()]
        lacking = np.setdiff1d(grid, have)
        shown = ", ".join(f"{v:g}" for v in lacking[:5]) + (", …" if lacking.size > 5 else "")
        n_short = pairs.iloc[short].nunique()
        raise InputError(
            path,
            i + 2,
            f"{pairs.iloc[i]} has {have.size} of the {grid.size} compositions of the grid (missing x_B = {shown}); "
            f"{n_short} of {pairs.nunique()} binaries are incomplete. Every binary must have the same complete grid: "
            f"the table was cut or built incomplete; {WHAT_TO_DO}",
        )


def check_covers(expected: Iterable[str], written: Iterable[str], what: str, path: str | Path | None = None) -> None:
    """Every binary of ``expected`` ('A-B') is in ``written``, else an InputError naming the ones left out."""
    left_out = sorted(set(expected) - set(written))
    if left_out:
        shown = ", ".join(left_out[:10]) + (", …" if len(left_out) > 10 else "")
        count = f"{len(left_out)} binar{'y' if len(left_out) == 1 else 'ies'}"
        raise InputError(path, None, f"{what} leaves out {count} of its input: {shown}")


def fit_redlich_kister(
    predictions: pd.DataFrame,
    column: str = DEFAULT_COLUMN,
    max_order: int = DEFAULT_MAX_ORDER,
    tolerance: float = DEFAULT_TOLERANCE_KJ_PER_MOL,
    path: str | Path | None = None,
) -> pd.DataFrame:
    """Least-squares Redlich–Kister fit of every binary's curve in ``column``, with the order chosen per binary."""
    if not isinstance(max_order, int | np.integer) or isinstance(max_order, bool) or max_order < 0:
        raise InputError(None, None, f"max_order must be a non-negative integer, not {max_order!r}")
    if not np.isfinite(tolerance) or tolerance < 0:
        raise InputError(None, None, f"tolerance must be a non-negative number of kJ/mol, not {tolerance!r}")
    missing = [c for c in ("A", "B", "x_B", column) if c not in predictions.columns]
    if missing:
        raise InputError(path, 1, f"missing column(s): {', '.join(missing)}")
    frame = predictions.reset_index(drop=True)
    a = frame["A"].astype(str).to_numpy()
    b = frame["B"].astype(str).to_numpy()
    _check_pairs(a, b, path)
    x = _numeric(frame, "x_B", path)
    y = _numeric(frame, column, path)
    outside = (x <= 0.0) | (x >= 1.0)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        # ΔH_mix is 0 at the pure elements by definition; a point there carries no information about the L_n.
        raise InputError(path, i + 2, f"x_B = {x[i]} is not strictly between 0 and 1")

    key = pd.MultiIndex.from_arrays([a, b, x])
    if key.duplicated().any():
        i = int(np.flatnonzero(key.duplicated())[0])
        raise InputError(path, i + 2, f"{a[i]}-{b[i]} at x_B = {x[i]} appears twice")

    # Binaries sharing one composition grid (all of them, for the pipeline's table) are fitted together:
    # one least-squares solve per grid and order, with a right-hand side per binary.
    pair_codes, pairs = pd.factorize(pd.Series(a) + "-" + pd.Series(b))
    order_rows = np.lexsort((x, pair_codes))
    grids: dict[bytes, list[int]] = {}
    rows_of: list[np.ndarray] = []
    for p, rows in enumerate(np.split(order_rows, np.flatnonzero(np.diff(pair_codes[order_rows])) + 1)):
        rows_of.append(rows)
        if rows.size < max_order + 1:
            raise InputError(
                path,
                int(rows.min()) + 2,
                f"{pairs[p]} has {rows.size} composition(s); a fit up to order {max_order} needs {max_order + 1}",
            )
        grids.setdefault(x[rows].tobytes(), []).append(p)

    n_pairs = len(pairs)
    coefficients = np.zeros((n_pairs, max_order + 1))
    order = np.zeros(n_pairs, dtype=int)
    rms_residual = np.zeros(n_pairs)
    max_residual = np.zeros(n_pairs)
    n_points = np.zeros(n_pairs, dtype=int)
    for members in grids.values():
        grid = x[rows_of[members[0]]]
        values = np.stack([y[rows_of[p]] for p in members], axis=1)  # compositions × binaries
        fits, residuals = [], []
        for n in range(max_order + 1):
            basis = rk_basis(grid, n)
            coef, *_ = np.linalg.lstsq(basis, values, rcond=None)
            fits.append(coef)
            residuals.append(values - basis @ coef)
        rms = np.sqrt(np.mean(np.square(residuals), axis=1))  # orders × binaries
        chosen = choose_order(rms, tolerance)
        for k, p in enumerate(members):
            n = int(chosen[k])
            coefficients[p, : n + 1] = fits[n][:, k]
            order[p] = n
            rms_residual[p] = rms[n, k]
            max_residual[p] = np.max(np.abs(residuals[n][:, k]))
            n_points[p] = grid.size

    a_of, b_of = zip(*(pair.split("-") for pair in pairs), strict=True)
    table = pd.DataFrame({"A": a_of, "B": b_of, "fitted_column": column, "order": order, "n_points": n_points})
    table[coefficient_columns(max_order)] = coefficients + 0.0  # + 0.0 turns -0.0 into 0.0
    table["rms_residual_kJ_per_mol"] = rms_residual
    table["max_residual_kJ_per_mol"] = max_residual
    # Per-binary columns of the predictions (domain-of-applicability flags and the like) travel with the fit, so
    # whatever the prediction table says about a binary as a whole reaches the RK table without naming it here.
    # The fit's own column names win; columns that vary with x_B are curves, not binary properties.
    first_rows = np.array([rows[0] for rows in rows_of])
    for name in frame.columns:
        if name in ("x_B", column) or name in table.columns:
            continue
        values = frame[name]
        if values.groupby(pair_codes).nunique(dropna=False).le(1).all():
            table[name] = values.iloc[first_rows].to_numpy()
    check_covers(pairs, _pair_labels(table), "the Redlich–Kister fit", path)
    return table


def _coefficient_matrix(table: pd.DataFrame, path: str | Path | None = None) -> np.ndarray:
    """The L_n columns of a fit table as an array (binaries × orders), validated."""
    columns = [c for c in table.columns if c.startswith("L") and c.endswith("_kJ_per_mol")]
    expected = coefficient_columns(len(columns) - 1) if columns else []
    if not columns or columns != expected:
        raise InputError(path, 1, f"coefficient columns must be {', '.join(coefficient_columns(0))} … in order")
    frame = table.reset_index(drop=True)
    return np.stack([_numeric(frame, c, path) for c in columns], axis=1)


def read_redlich_kister(path: str | Path, require_manifest: bool | None = None) -> pd.DataFrame:
    """Read and validate a fit table written from :func:`fit_redlich_kister`, checked against its manifest."""
    table = _read_table(path, require_manifest)
    missing = [c for c in ("A", "B", "order") if c not in table.columns]
    if missing:
        raise InputError(path, 1, f"missing column(s): {', '.join(missing)}")
    _check_pairs(table["A"].to_numpy(), table["B"].to_numpy(), path)
    coefficients = _coefficient_matrix(table, path)
    orders = _numeric(table, "order", path)
    bad = (orders != np.round(orders)) | (orders < 0) | (orders >= coefficients.shape[1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        highest = coefficients.shape[1] - 1
        raise InputError(path, i + 2, f"order {_show(table['order'].iloc[i])} is not one of 0 … {highest}")
    pairs = table["A"] + "-" + table["B"]
    if pairs.duplicated().any():
        i = int(np.flatnonzero(pairs.duplicated())[0])
        raise InputError(path, i + 2, f"binary {pairs.iloc[i]} appears twice")
    table["order"] = orders.astype(int)
    return table


def parameter_map(table: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """(A, B) → L0 … L_order (kJ/mol) of each binary of a fit table."""
    coefficients = _coefficient_matrix(table)
    return {
        (str(a), str(b)): coefficients[i, : int(n) + 1].copy()
        for i, (a, b, n) in enumerate(zip(table["A"], table["B"], table["order"], strict=True))
    }


def rk_binary_model(table: pd.DataFrame) -> BinaryModel:
    """A binary model f(a, b, x_b) → ΔH_mix (kJ/mol) evaluating the fitted polynomials; a, b in either order."""
    parameters = parameter_map(table)

    def model(a: str, b: str, x_b: np.ndarray) -> np.ndarray:
        """ΔH_mix of a(1−x_b) b(x_b) from the Redlich–Kister table."""
        x_b = np.asarray(x_b, dtype=float)
        first, second = sorted((a, b))
        if (first, second) not in parameters:
            raise InputError(None, None, f"no Redlich–Kister parameters for {first}-{second}")
        # The table's convention is x_B of the alphabetically second element.
        x_second = x_b if second == b else 1.0 - x_b
        return rk_hmix(x_second, parameters[first, second])

    return model


# --- element names as pycalphad, ESPEI and TDB files write them ----------------------------------------------

_BY_CALPHAD_NAME = {symbol.upper(): symbol for symbol in ELEMENTS}


def calphad_name(symbol: str) -> str:
    """The upper-case name pycalphad, ESPEI and TDB files use for an element of the element table (Al → AL)."""
    if symbol not in _BY_CALPHAD_NAME.values():
        raise InputError(None, None, f"unknown element {symbol!r}: not one of the {len(ELEMENTS)} elements of hmixal")
    return symbol.upper()


def element_symbol(name: str) -> str:
    """The element-table symbol of an upper-case pycalphad/ESPEI name (NA → Na); unknown names are an InputError."""
    symbol = _BY_CALPHAD_NAME.get(str(name).upper())
    if symbol is None:
        raise InputError(None, None, f"unknown element {name!r}: not one of the {len(ELEMENTS)} elements of hmixal")
    return symbol


# --- the TDB file: built as a pycalphad Database, written by pycalphad's TDB writer ---------------------------

# pycalphad's TDB writer keeps lines within Thermo-Calc's limit of 78 characters; the header follows suit.
TDB_LINE_WIDTH = 78
_HEADER_WIDTH = TDB_LINE_WIDTH - 2  # after "$ "
# Decimals of the J/mol values (µJ/mol: far below any round-trip tolerance). symengine prints 15 significant
# digits, so every |value| below 10^9 J/mol is written exactly as rounded here.
_J_DECIMALS = 6
_LIQUID = "LIQUID"
# Site fractions summing to 1 in the liquid's one sublattice of one site: a formula unit is one mole of atoms.
_SITE_RATIOS = [1.0]


def _parameter_value(value_kj: float) -> object:
    """A constant L parameter in J/mol over the file's temperature range, as pycalphad's TDB reader builds it."""
    from pycalphad import variables as v
    from symengine import And, Piecewise

    value = round(float(value_kj) * J_PER_KJ, _J_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    return Piecewise((value, And(TDB_T_LOW_K <= v.T, v.T < TDB_T_HIGH_K)), (0, True))


def tdb_database(table: pd.DataFrame, elements: pd.DataFrame | None = None) -> Database:
    """A pycalphad Database with one LIQUID phase holding the L(LIQUID,A,B;n) parameters (J/mol) of a fit table."""
    from pycalphad import Database
    from pycalphad.variables import Species
    from pymatgen.core.periodic_table import Element  # slow import: only the export needs it

    coefficients = _coefficient_matrix(table)
    _check_pairs(table["A"].to_numpy(), table["B"].to_numpy(), None)
    if elements is None:
        elements = load_element_table()
    symbols = sorted(set(table["A"]) | set(table["B"]))
    names = [calphad_name(s) for s in symbols]
    database = Database()
    # ELEMENT lines: SGTE reference phase (element table), atomic mass (pymatgen); H298−H0 and S298 left 0
    # (pycalphad ignores them; SGTE unary data brings the real ones when the files are combined).
    database.elements = {*names, "VA", "/-"}
    # As pycalphad's TDB reader makes them (one formula unit of the element itself), so that reading the written
    # file gives back an equal Database (tests/test_redlich_kister.py).
    database.species = {Species(name, {name: 1}) for name in database.elements}
    database.refstates = {
        calphad_name(s): {
            "phase": str(elements.loc[s, "sgte_reference_phase"]),
            "mass": float(Element(s).atomic_mass),
            "H298": 0.0,
            "S298": 0.0,
        }
        for s in symbols
    }
    database.refstates["VA"] = {"phase": "VACUUM", "mass": 0.0, "H298": 0.0, "S298": 0.0}
    database.refstates["/-"] = {"phase": "ELECTRON_GAS", "mass": 0.0, "H298": 0.0, "S298": 0.0}
    database.add_structure_entry(_LIQUID, _LIQUID)
    database.add_phase(_LIQUID, {}, _SITE_RATIOS)
    database.add_phase_constituents(_LIQUID, [names])
    for i, (a, b, n) in enumerate(zip(table["A"], table["B"], table["order"], strict=True)):
        for k in range(int(n) + 1):
            # Alphabetical order, as pycalphad evaluates (x_A − x_B)^k whatever the written order (module doc).
            constituents = [[calphad_name(a), calphad_name(b)]]
            parameter = _parameter_value(coefficients[i, k])
            database.add_parameter("L", _LIQUID, constituents, k, parameter, force_insert=False)
    database.process_parameter_queue()
    return database


EXTRAPOLATION_COLUMN = "extrapolation"
_TRUE = frozenset({"true", "1", "1.0", "yes"})
_FALSE = frozenset({"false", "0", "0.0", "no"})
_PARAMETER = re.compile(r"^\s*PARAMETER\s+L\(LIQUID,([A-Z]+),([A-Z]+);0\)", re.MULTILINE)


def true_false(values: pd.Series, column: str, path: str | Path | None = None) -> np.ndarray:
    """A true/false column as booleans (CSV text 'True'/'False'/1/0 too); anything else is an InputError."""
    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=bool)
    text = values.astype(str).str.strip().str.lower()
    truthy, falsy = text.isin(_TRUE).to_numpy(), text.isin(_FALSE).to_numpy()
    bad = ~(truthy | falsy)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, i + 2, f"column {column}: {_show(values.iloc[i])} is not true or false")
    return truthy


def extrapolated_binaries(table: pd.DataFrame) -> list[str] | None:
    """The binaries ('A-B') a fit table flags in its ``extrapolation`` column; None when it has no such column."""
    if EXTRAPOLATION_COLUMN not in table.columns:
        return None
    flagged = table.loc[true_false(table[EXTRAPOLATION_COLUMN], EXTRAPOLATION_COLUMN), ["A", "B"]]
    return [f"{a}-{b}" for a, b in zip(flagged["A"], flagged["B"], strict=True)]


def _extrapolation_lines(table: pd.DataFrame) -> list[str]:
    """Header lines naming the binaries the prediction table flags as extrapolation (none without the column)."""
    names = extrapolated_binaries(table)
    if names is None:
        return []
    intro = (
        f"Extrapolation: the prediction table flags {len(names)} of these {len(table)} binaries as outside "
        "the model's domain of applicability (column extrapolation)"
    )
    # Short lines for readers with a line-length limit; a binary's name is never split at its hyphen.
    lines = textwrap.wrap(intro + (":" if names else "."), width=_HEADER_WIDTH)
    listing = textwrap.wrap(
        ", ".join(names), width=_HEADER_WIDTH, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
    )
    return lines + listing


def tdb_binaries(text: str) -> list[str]:
    """The binaries ('A-B', element symbols as in the element table) that have an L0 parameter in a TDB text."""
    return [f"{_BY_CALPHAD_NAME.get(a, a)}-{_BY_CALPHAD_NAME.get(b, b)}" for a, b in _PARAMETER.findall(text)]


def _pycalphad_tdb(database: Database) -> str:
    """pycalphad's TDB text of a Database without its header block (write date and user name: not reproducible)."""
    import pycalphad

    text = database.to_string(fmt="tdb", groupby="phase", if_incompatible="raise")
    lines = text.split("\n")
    bar = "$" * TDB_LINE_WIDTH
    # pycalphad 0.11 opens the file with a block of "$" comments between two bars of '$': Date, Components,
    # Phases, "Generated by <user>". The provenance header written instead says what was written with what.
    end = lines.index(bar, 1) if lines and lines[0] == bar and bar in lines[1:] else -1
    if end < 0 or not any(line.startswith("$ Date:") for line in lines[1:end]):
        raise RuntimeError(
            f"pycalphad {pycalphad.__version__}'s TDB writer no longer starts with its dated header block; "
            "hmixal.redlich_kister._pycalphad_tdb must be adapted to it"
        )
    return "\n".join(lines[end + 1 :]).lstrip("\n")


def tdb_text(
    table: pd.DataFrame,
    generated: str,
    model: str | None = None,
    elements: pd.DataFrame | None = None,
    settings: Mapping[str, object] | None = None,
) -> str:
    """A TDB database with one LIQUID phase whose L(LIQUID,A,B;n) parameters reproduce the fitted ΔH_mix curves.

    Built as a pycalphad Database (:func:`tdb_database`) and written by pycalphad's own TDB writer, after a
    provenance header (hmixal version, model, fit settings, what the file is and is not)."""
    import pycalphad

    database = tdb_database(table, elements)
    columns = sorted(set(table["fitted_column"])) if "fitted_column" in table.columns else []
    if model is None:
        model = "; ".join(COLUMN_DESCRIPTIONS.get(c, c) for c in columns) or "unspecified"
    paragraphs = [
        f"hmixal {__version__}: liquid enthalpy-of-mixing parameters (generated {generated}).",
        f"Written with the TDB writer of pycalphad {pycalphad.__version__} (Database.to_string), without its "
        "header lines of write date and user name, so equal inputs give identical files.",
        f"Model: {model}.",
        f"Fitted column(s) of the prediction table: {', '.join(columns) or 'unspecified'}.",
        *(f"  {key}: {value}" for key, value in (settings or {}).items()),
        "ENTHALPY ONLY: each L(LIQUID,A,B;n) is a constant in J/mol fitted to the predicted enthalpy of mixing. "
        "There is no excess entropy and no temperature dependence: the excess Gibbs energy they imply equals "
        "the predicted enthalpy of mixing at every temperature (zero excess entropy is an assumption, not a "
        "result).",
        "The pure-liquid Gibbs energies G(LIQUID,X;0) are NOT included: HM_MIX is relative to the pure liquids "
        "and does not need them. For phase equilibria, append the PARAMETER lines below to SGTE unary data "
        "(A.T. Dinsdale, CALPHAD 15 (1991) 317-425); HM_MIX stays the same (checked with pycalphad).",
        "Convention: L(LIQUID,A,B;n) multiplies x_A*x_B*(x_A-x_B)**n with A before B alphabetically, as written.",
        "ELEMENT lines: SGTE reference phase and atomic mass (pymatgen); H298-H0 and S298 are left 0 here "
        "(informative only; take them from SGTE unary data when combining).",
    ]
    header = [
        line
        for paragraph in paragraphs
        for line in textwrap.wrap(
            paragraph,
            width=_HEADER_WIDTH,
            subsequent_indent="    " if paragraph.startswith("  ") else "",
            break_on_hyphens=False,  # keeps dates, page ranges and 'A-B' names whole
        )
    ]
    header += _extrapolation_lines(table)
    if any("!" in line for line in header):
        # "!" ends a TDB command, and not every reader strips "$" comments before splitting on it.
        raise InputError(None, None, "the provenance text (generated, model, settings) must not contain '!'")
    text = "\n".join([*(f"$ {line}".rstrip() for line in header), "$", "", _pycalphad_tdb(database)])
    text = text.rstrip("\n") + "\n"
    # Every binary of the table must reach the file; read back from the text itself, not from the loop above.
    check_covers(_pair_labels(table), tdb_binaries(text), "the TDB text")
    return text


# --- the written TDB read back by pycalphad -------------------------------------------------------------------

# Choice: a correct file deviates by < 10^-6 J/mol (values written to 10^-6 J/mol; pycalphad's ideal-mixing terms
# cancel to ~10^-11 J/mol; measured max 1.6e-7 J/mol on all 2415 binaries). 10^-3 J/mol leaves room for that and
# still catches any wrong, missing or sign-flipped parameter: 1 J/mol more in L0 moves ΔH by 0.25 J/mol at
# x_B = 0.5, in L3 by 0.046 J/mol at its largest.
DEFAULT_TDB_CHECK_TOLERANCE_J_PER_MOL = 1e-3
# Inside the parameters' range 298.15–6000 K: the parameters are constants, so HM_MIX must not depend on T.
TDB_CHECK_TEMPERATURES_K: tuple[float, ...] = (300.0, 1500.0, 3000.0)
TDB_CHECK_COLUMNS: tuple[str, ...] = (
    "A",
    "B",
    "order",
    "n_points",
    "max_abs_hmix_J_per_mol",
    "max_abs_deviation_J_per_mol",
)


def _liquid_parameters(database: Database) -> dict[frozenset[str], list[dict[str, Any]]]:
    """The LIQUID parameters of a pycalphad Database, grouped by the set of their constituents' names."""
    from tinydb import where

    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for parameter in database.search(where("phase_name") == _LIQUID):
        names = frozenset(s.name for sublattice in parameter["constituent_array"] for s in sublattice)
        groups.setdefault(names, []).append(parameter)
    return groups


def _binary_database(
    database: Database, a: str, b: str, groups: Mapping[frozenset[str], list[dict[str, Any]]]
) -> Database:
    """A Database holding the parameters of ``database`` a pycalphad Model of liquid a–b selects (a, b upper case).

    Model(full database, [a, b]) selects exactly these (constituents within {a, b}) but scans all ~6000
    parameters of the file for every query (0.3 s a binary); on this copy it takes milliseconds."""
    from pycalphad import Database

    binary = Database()
    binary.elements = {a, b, "VA"}
    binary.species = {s for s in database.species if s.name in binary.elements}
    binary.symbols = database.symbols  # FUNCTIONs a combined file (e.g. SGTE unary data) may refer to
    binary.add_phase(_LIQUID, database.phases[_LIQUID].model_hints, database.phases[_LIQUID].sublattices)
    binary.add_phase_constituents(_LIQUID, [[a, b]])
    for names in (frozenset({a}), frozenset({b}), frozenset({a, b})):
        for p in groups.get(names, []):
            constituents = [[s.name for s in sublattice] for sublattice in p["constituent_array"]]
            diffusing = p["diffusing_species"].name if p["diffusing_species"].name else None
            binary.add_parameter(
                p["parameter_type"],
                _LIQUID,
                constituents,
                p["parameter_order"],
                p["parameter"],
                p.get("reference"),
                diffusing,
                force_insert=False,
            )
    binary.process_parameter_queue()
    return binary


def _binary_hm_mix(binary: Database, a: str, b: str, x_b: np.ndarray, temperatures: np.ndarray) -> np.ndarray:
    """pycalphad's HM_MIX (J/mol) of the a–b liquid of a Database (a, b upper case): temperatures × compositions."""
    import symengine
    from pycalphad import Model
    from pycalphad import variables as v
    from pycalphad.variables import Species

    hm_mix = Model(binary, [a, b], _LIQUID).HM_MIX
    # Site fractions by name, not by position: x_b is the fraction of `b`, whatever order the Model keeps.
    y_a, y_b = v.Y(_LIQUID, 0, Species(a)), v.Y(_LIQUID, 0, Species(b))
    function = symengine.Lambdify([y_a, y_b, v.T], [hm_mix], backend="lambda")
    grid_t, grid_x = np.meshgrid(temperatures, x_b, indexing="ij")
    points = np.column_stack([1.0 - grid_x.ravel(), grid_x.ravel(), grid_t.ravel()])
    return np.asarray(function(points), dtype=float).reshape(temperatures.size, x_b.size)


def pycalphad_hm_mix(
    database: Database, a: str, b: str, x_b: npt.ArrayLike, temperatures: Sequence[float]
) -> np.ndarray:
    """HM_MIX (J/mol) of liquid a–b from pycalphad's Model of a loaded Database, temperatures × x_b (fraction of b)."""
    first, second = calphad_name(element_symbol(a)), calphad_name(element_symbol(b))
    binary = _binary_database(database, first, second, _liquid_parameters(database))
    return _binary_hm_mix(binary, first, second, np.asarray(x_b, dtype=float), np.asarray(temperatures, dtype=float))


def _tdb_source(tdb: str | Path) -> tuple[str, str | None]:
    """The text of a TDB given as text or as a path (checked against its manifest), and the path for messages."""
    if isinstance(tdb, str) and "\n" in tdb:
        return tdb, None
    return read_verified_text(tdb), str(tdb)


def _grid(values: npt.ArrayLike, what: str, low: float, high: float | None) -> np.ndarray:
    """A non-empty 1-D array of finite numbers above ``low`` (and below ``high``), else an InputError."""
    array = np.atleast_1d(np.asarray(values, dtype=float))
    inside = np.isfinite(array) & (array > low) & (array < (np.inf if high is None else high))
    if array.ndim != 1 or array.size == 0 or not inside.all():
        bounds = f"strictly between {low:g} and {high:g}" if high is not None else f"above {low:g}"
        raise InputError(None, None, f"{what} must be a non-empty list of numbers {bounds}, not {values!r}")
    return array


def check_tdb_with_pycalphad(
    tdb: str | Path,
    table: pd.DataFrame,
    x_grid: npt.ArrayLike,
    tolerance: float = DEFAULT_TDB_CHECK_TOLERANCE_J_PER_MOL,
    temperatures: Sequence[float] = TDB_CHECK_TEMPERATURES_K,
) -> pd.DataFrame:
    """Per binary of a fit table, max |HM_MIX of the TDB in pycalphad − fitted RK curve| (J/mol); InputError above
    ``tolerance``, or when the file's binaries are not exactly the table's.

    ``tdb``: the TDB text or its path. The file is read by pycalphad's TDB reader and HM_MIX evaluated by
    pycalphad's Model at every x_B of ``x_grid`` and every temperature."""
    from pycalphad import Database

    text, where = _tdb_source(tdb)
    x = _grid(x_grid, "x_grid", 0.0, 1.0)
    t = _grid(temperatures, "temperatures", 0.0, None)
    if not np.isfinite(tolerance) or tolerance < 0:
        raise InputError(None, None, f"tolerance must be a non-negative number of J/mol, not {tolerance!r}")
    coefficients = _coefficient_matrix(table)
    _check_pairs(table["A"].to_numpy(), table["B"].to_numpy(), None)
    database = Database(text)
    groups = _liquid_parameters(database)
    in_file = {"-".join(element_symbol(n) for n in sorted(names)) for names in groups if len(names) == 2}
    pairs = _pair_labels(table).tolist()
    check_covers(pairs, in_file, "pycalphad's reading of the TDB", where)
    extra = sorted(in_file - set(pairs))
    if extra:
        shown = ", ".join(extra[:10]) + (", …" if len(extra) > 10 else "")
        raise InputError(where, None, f"the TDB holds {len(extra)} binaries the fit table does not: {shown}")
    deviations, largest = np.zeros(len(table)), np.zeros(len(table))
    for i, (a, b) in enumerate(zip(table["A"], table["B"], strict=True)):
        first, second = calphad_name(a), calphad_name(b)
        got = _binary_hm_mix(_binary_database(database, first, second, groups), first, second, x, t)
        expected = rk_hmix(x, coefficients[i]) * J_PER_KJ
        difference = np.abs(got - expected)
        deviations[i] = np.max(difference) if np.isfinite(difference).all() else np.inf
        largest[i] = np.max(np.abs(expected))
    result = pd.DataFrame(
        {
            "A": table["A"].to_numpy(),
            "B": table["B"].to_numpy(),
            "order": table["order"].to_numpy(),
            "n_points": x.size * t.size,
            "max_abs_hmix_J_per_mol": largest,
            "max_abs_deviation_J_per_mol": deviations,
        },
        columns=list(TDB_CHECK_COLUMNS),
    )
    over = result[~(result["max_abs_deviation_J_per_mol"] <= tolerance)].sort_values(
        "max_abs_deviation_J_per_mol", ascending=False, kind="mergesort"
    )
    if len(over):
        shown = ", ".join(
            f"{a}-{b} ({d:.3g} J/mol)" for a, b, d in over[["A", "B", "max_abs_deviation_J_per_mol"]].head(10).values
        )
        raise InputError(
            where,
            None,
            f"pycalphad's HM_MIX of {len(over)} of {len(result)} binaries differs from the fitted Redlich–Kister "
            f"curve by more than {tolerance:g} J/mol: {shown}{', …' if len(over) > 10 else ''}",
        )
    return result
