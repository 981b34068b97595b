"""Redlich–Kister fits of predicted binary ΔH_mix curves, and their export as a pycalphad-loadable TDB file.

Convention (checked against pycalphad 0.11.2 in tests/test_redlich_kister.py): for a binary A–B with A < B
alphabetically and x_B the mole fraction of B,

    ΔH_mix = x_A x_B Σ_{n=0..N} L_n (x_A − x_B)^n,

which is what pycalphad evaluates for ``L(LIQUID,A,B;n)``: it sorts the constituents of a sublattice
alphabetically whatever order the file writes them in, so the parameters are written in that order too, which
makes Thermo-Calc and OpenCalphad (which keep the written order) read them the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from hmixal import __version__
from hmixal.elements import ELEMENTS, load_element_table
from hmixal.errors import InputError

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


def read_predictions(path: str | Path) -> pd.DataFrame:
    """Read a prediction table, keeping element symbols such as ``Na`` as text (never as missing values)."""
    path = Path(path)
    try:
        return pd.read_csv(path, dtype={"A": str, "B": str}, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"not a readable CSV table: {exc}") from exc


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
    return table


def _coefficient_matrix(table: pd.DataFrame, path: str | Path | None = None) -> np.ndarray:
    """The L_n columns of a fit table as an array (binaries × orders), validated."""
    columns = [c for c in table.columns if c.startswith("L") and c.endswith("_kJ_per_mol")]
    expected = coefficient_columns(len(columns) - 1) if columns else []
    if not columns or columns != expected:
        raise InputError(path, 1, f"coefficient columns must be {', '.join(coefficient_columns(0))} … in order")
    frame = table.reset_index(drop=True)
    return np.stack([_numeric(frame, c, path) for c in columns], axis=1)


def read_redlich_kister(path: str | Path) -> pd.DataFrame:
    """Read and validate a fit table written from :func:`fit_redlich_kister`."""
    table = read_predictions(path)
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
    return "\n".join(lines) + "\n"
