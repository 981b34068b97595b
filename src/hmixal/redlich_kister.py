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

import numpy as np
import numpy.typing as npt
import pandas as pd

from hmixal import __version__
from hmixal.elements import ELEMENTS, load_element_table
from hmixal.errors import InputError
from hmixal.manifest import WHAT_TO_DO, read_verified_csv

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
    "miedema_kJ_per_mol": "Miedema's model for liquids (hmixal.miedema)",
}

J_PER_KJ = 1000.0
# The parameters are temperature independent; the range only has to cover every temperature a user may ask for.
TDB_T_LOW_K = 298.15
TDB_T_HIGH_K = 6000.0

_CONSTITUENTS_PER_LINE = 16
_HEADER_WIDTH = 100

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


def _element_lines(symbols: Sequence[str], elements: pd.DataFrame) -> list[str]:
    """TDB ELEMENT lines: SGTE reference phase (element table), atomic mass (pymatgen), H298−H0 and S298 as 0."""
    from pymatgen.core.periodic_table import Element  # slow import: only the export needs it

    lines = [
        f" ELEMENT {'/-':<3} {'ELECTRON_GAS':<18} {0.0:.4E} {0.0:.4E} {0.0:.4E} !",
        f" ELEMENT {'VA':<3} {'VACUUM':<18} {0.0:.4E} {0.0:.4E} {0.0:.4E} !",
    ]
    for symbol in symbols:
        phase = str(elements.loc[symbol, "sgte_reference_phase"])
        mass = float(Element(symbol).atomic_mass)
        lines.append(f" ELEMENT {symbol.upper():<3} {phase:<18} {mass:.4E} {0.0:.4E} {0.0:.4E} !")
    return lines


def _format_j_per_mol(value_kj: float) -> str:
    """A parameter value in J/mol with 6 decimals (µJ/mol: far below any round-trip tolerance)."""
    return f"{value_kj * J_PER_KJ + 0.0:.6f}"


EXTRAPOLATION_COLUMN = "extrapolation"
_TRUE = frozenset({"true", "1", "1.0", "yes"})
_FALSE = frozenset({"false", "0", "0.0", "no"})
_PARAMETER = re.compile(r"^\s*PARAMETER\s+L\(LIQUID,([A-Z]+),([A-Z]+);0\)", re.MULTILINE)


def _flags(values: pd.Series, column: str, path: str | Path | None = None) -> np.ndarray:
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
    flagged = table.loc[_flags(table[EXTRAPOLATION_COLUMN], EXTRAPOLATION_COLUMN), ["A", "B"]]
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
    symbols = {s.upper(): s for s in ELEMENTS}
    return [f"{symbols.get(a, a)}-{symbols.get(b, b)}" for a, b in _PARAMETER.findall(text)]


def tdb_text(
    table: pd.DataFrame,
    generated: str,
    model: str | None = None,
    elements: pd.DataFrame | None = None,
    settings: Mapping[str, object] | None = None,
) -> str:
    """A TDB database with one LIQUID phase whose L(LIQUID,A,B;n) parameters reproduce the fitted ΔH_mix curves."""
    coefficients = _coefficient_matrix(table)
    if elements is None:
        elements = load_element_table()
    symbols = sorted(set(table["A"]) | set(table["B"]))
    _check_pairs(table["A"].to_numpy(), table["B"].to_numpy(), None)
    columns = sorted(set(table["fitted_column"])) if "fitted_column" in table.columns else []
    if model is None:
        model = "; ".join(COLUMN_DESCRIPTIONS.get(c, c) for c in columns) or "unspecified"
    extra = "".join(f"\n  {key}: {value}" for key, value in (settings or {}).items())
    header = f"""\
Liquid enthalpy-of-mixing parameters from hmixal {__version__} (generated {generated}).
Model: {model}.
Fitted column(s) of the prediction table: {", ".join(columns) or "unspecified"}.{extra}
ENTHALPY ONLY: each L(LIQUID,A,B;n) is a constant in J/mol fitted to the predicted enthalpy of mixing.
There is no excess entropy and no temperature dependence: the excess Gibbs energy they imply equals the
predicted enthalpy of mixing at every temperature (zero excess entropy is an assumption, not a result).
The pure-liquid Gibbs energies G(LIQUID,X;0) are NOT included: HM_MIX is relative to the pure liquids and
does not need them. For phase equilibria, append the PARAMETER lines below to SGTE unary data
(A.T. Dinsdale, CALPHAD 15 (1991) 317-425); HM_MIX stays the same (checked with pycalphad).
Convention: L(LIQUID,A,B;n) multiplies x_A*x_B*(x_A-x_B)**n with A before B alphabetically, as written.
ELEMENT lines: SGTE reference phase and atomic mass (pymatgen); H298-H0 and S298 are left 0 here
(informative only; take them from SGTE unary data when combining)."""
    header = "\n".join([header, *_extrapolation_lines(table)])
    if "!" in header:
        # "!" ends a TDB command, and not every reader strips "$" comments before splitting on it.
        raise InputError(None, None, "the provenance text (generated, model, settings) must not contain '!'")
    lines = [f"$ {line}".rstrip() for line in header.splitlines()]
    lines += ["$", *_element_lines(symbols, elements), "", " TYPE_DEFINITION % SEQ * !", " PHASE LIQUID % 1 1.0 !"]
    # Long constituent lists continue on the next lines (TDB commands end at "!", not at the end of a line),
    # which keeps every line short for readers with a line-length limit.
    chunks = [
        ",".join(s.upper() for s in symbols[i : i + _CONSTITUENTS_PER_LINE])
        for i in range(0, len(symbols), _CONSTITUENTS_PER_LINE)
    ]
    lines.append(" CONSTITUENT LIQUID :" + ",\n   ".join(chunks) + ": !")
    lines.append("")
    for i, (a, b, n) in enumerate(zip(table["A"], table["B"], table["order"], strict=True)):
        for k in range(int(n) + 1):
            value = _format_j_per_mol(coefficients[i, k])
            lines.append(
                f" PARAMETER L(LIQUID,{a.upper()},{b.upper()};{k}) {TDB_T_LOW_K:.2f} {value}; {TDB_T_HIGH_K:.0f} N !"
            )
    text = "\n".join(lines) + "\n"
    # Every binary of the table must reach the file; read back from the text itself, not from the loop above.
    check_covers(_pair_labels(table), tdb_binaries(text), "the TDB text")
    return text
