"""Miedema's model for the enthalpy of mixing of binary liquids, vectorised over binaries and compositions.

References: A. R. Miedema, P. F. de Châtel, F. R. de Boer, Physica B 100 (1980) 1 (the model);
A. Takeuchi, A. Inoue, Mater. Trans. 46 (2005) 2817 and H. Bakker, "Enthalpies in Alloys: Miedema's
Semi-Empirical Model" (Trans Tech, 1998) (the liquid form used here). Units: kJ per mole of atoms.
See docs/miedema.md for the choices made and the comparison with the Takeuchi–Inoue table.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError

# P for the three groups of binaries and Q = 9.4 P (Miedema et al. 1980; Bakker 1998; seed §2.5).
P_TM_TM = 14.2
P_NONTM_NONTM = 10.7
P_MIXED = 12.35
Q_OVER_P = 9.4
# R/P = 0.73 r_A r_B for a transition/non-transition pair in the liquid: the solid-state hybridisation term
# reduced by the liquid factor 0.73 (Bakker 1998; Takeuchi & Inoue 2005).
R_LIQUID_FACTOR = 0.73
# The charge-transfer volume correction is a fixed point; a fixed number of iterations (not a tolerance test)
# keeps every row independent of the others in a batch, so equal inputs give bit-identical outputs.
# 30 iterations converge to machine precision for all 2415 binaries at every composition (tests check it).
VOLUME_ITERATIONS = 30

GROUP_TM_TM = "TM-TM"
GROUP_TM_NONTM = "TM-nonTM"
GROUP_NONTM_NONTM = "nonTM-nonTM"

# Transition metals in Miedema's sense: the d block without Zn, Cd, Hg (filled d shell; the seed and Miedema
# treat them as non-transition), the noble metals Cu, Ag, Au included, plus La, the lanthanides and the
# actinides, whose 5d/6d electron makes them behave as transition metals in the model. Divalent Eu and Yb
# are removed from this set by load_parameters (no 5d electron; see DIVALENT_EU_YB).
D_F_BLOCK: frozenset[str] = frozenset(
    "Sc Ti V Cr Mn Fe Co Ni Cu Y Zr Nb Mo Tc Ru Rh Pd Ag La Ce Pr Nd Sm Eu Gd Tb Dy Ho Er Tm Yb Lu "
    "Hf Ta W Re Os Ir Pt Au Th U Pu".split()
)

# Divalent Eu and Yb (4f7 6s2 and 4f14 6s2: the metals and their liquids are divalent). phi* (V),
# n_ws^(1/3) ((d.u.)^(1/3)) and V^(2/3) (cm^2) as tabulated for the divalent metals in the Miedema parameter
# set distributed with qmpy (Wolverton group, qmpy/data/miedema.yml); V^(2/3) matches the measured molar
# volumes, 28.98 cm3/mol (Eu) and 24.84 cm3/mol (Yb). r = 0.4 is the value Miedema's tables give the
# divalent alkaline-earth metals (as in matminer's Miedema.csv), which Eu(2+) and Yb(2+) resemble; the
# Takeuchi–Inoue table implies r = 0.41-0.42 for both (docs/miedema.md). matminer's file has trivalent values.
DIVALENT_EU_YB: dict[str, tuple[float, float, float, float]] = {
    # symbol: (phi*, n_ws^(1/3), V^(2/3), r)
    "Eu": (2.50, 0.88, 9.43, 0.4),
    "Yb": (2.58, 0.92, 8.52, 0.4),
}

# Columns of matminer's Miedema.csv that the model reads (the others, e.g. H_trans, are solid-state terms).
_CSV_COLUMNS = ("element", "molar_volume", "electron_density", "electronegativity", "a_const", "R_const")

_SORTED_SYMBOLS = np.array(sorted(ELEMENTS))
_SORTED_TO_INDEX = np.argsort(np.array(ELEMENTS), kind="stable")


@dataclass(frozen=True, eq=False)
class MiedemaParameters:
    """Per-element Miedema parameters as read-only arrays in ``hmixal.elements.ELEMENTS`` order."""

    phi: npt.NDArray[np.float64]  # electronegativity phi* (V)
    n13: npt.NDArray[np.float64]  # n_ws^(1/3), electron density at the Wigner-Seitz cell edge ((d.u.)^(1/3))
    v23: npt.NDArray[np.float64]  # V^(2/3), molar volume to the 2/3 (cm^2)
    a: npt.NDArray[np.float64]  # charge-transfer volume-correction constant
    r: npt.NDArray[np.float64]  # the element's R/P factor (hybridisation)
    transition_metal: npt.NDArray[np.bool_]  # transition metal in Miedema's sense
    source: str  # file the values came from, and any override applied

    def __post_init__(self) -> None:
        for name in ("phi", "n13", "v23", "a", "r", "transition_metal"):
            values = getattr(self, name)
            if values.shape != (len(ELEMENTS),):
                raise ValueError(f"MiedemaParameters.{name} must have shape ({len(ELEMENTS)},)")
            values.flags.writeable = False  # shared through the cache: nobody may change it in place


def default_parameter_path() -> Path:
    """Path of matminer's installed ``Miedema.csv``."""
    return Path(str(resources.files("matminer.utils.data_files") / "Miedema.csv"))


def default_takeuchi_inoue_path() -> Path:
    """Path of matminer's installed ``MiedemaLiquidDeltaHf.tsv`` (Takeuchi & Inoue 2005, x = 0.5)."""
    return Path(str(resources.files("matminer.utils.data_files") / "MiedemaLiquidDeltaHf.tsv"))


def _number(text: str, path: Path, line: int, column: str, symbol: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(path, line, f"{column} of {symbol} is not a number: {text!r}") from None
    if not math.isfinite(value):
        raise InputError(path, line, f"{column} of {symbol} is not finite: {text!r}")
    return value


def load_parameters(path: Path | None = None, *, divalent_eu_yb: bool = True) -> MiedemaParameters:
    """Read Miedema parameters for the 70 elements from a matminer-style ``Miedema.csv``."""
    path = Path(path) if path is not None else default_parameter_path()
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except OSError as error:
        raise InputError(path, None, f"cannot read Miedema parameters: {error.strerror}") from None
    if not rows:
        raise InputError(path, 1, "empty file, expected a header with " + ", ".join(_CSV_COLUMNS))
    header = [name.strip() for name in rows[0]]
    missing = [name for name in _CSV_COLUMNS if name not in header]
    if missing:
        raise InputError(path, 1, f"missing column(s) {', '.join(missing)} in the header")
    col = {name: header.index(name) for name in _CSV_COLUMNS}

    wanted = set(ELEMENTS)
    found: dict[str, tuple[int, dict[str, float]]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(path, line, f"{len(row)} fields, the header has {len(header)}")
        symbol = row[col["element"]].strip()
        if symbol not in wanted:
            continue  # e.g. H, N, Pm: parameters exist but hmixal does not cover these elements
        if symbol in found:
            raise InputError(path, line, f"second row for {symbol} (first on line {found[symbol][0]})")
        values = {name: _number(row[col[name]], path, line, name, symbol) for name in _CSV_COLUMNS[1:]}
        for name in ("molar_volume", "electron_density", "electronegativity"):
            if values[name] <= 0:
                raise InputError(path, line, f"{name} of {symbol} must be positive, got {values[name]}")
        if values["a_const"] < 0 or values["R_const"] < 0:
            raise InputError(path, line, f"a_const and R_const of {symbol} must not be negative")
        found[symbol] = (line, values)
    absent = [symbol for symbol in ELEMENTS if symbol not in found]
    if absent:
        raise InputError(path, None, f"no row for element(s) {', '.join(absent)}")

    def column(name: str) -> npt.NDArray[np.float64]:
        return np.array([found[symbol][1][name] for symbol in ELEMENTS], dtype=np.float64)

    phi = column("electronegativity")
    n13 = np.cbrt(column("electron_density"))  # the file gives n_ws itself
    v23 = column("molar_volume") ** (2.0 / 3.0)
    r = column("R_const")
    transition_metal = np.array([symbol in D_F_BLOCK for symbol in ELEMENTS])
    source = str(path)
    if divalent_eu_yb:
        for symbol, (phi_2, n13_2, v23_2, r_2) in DIVALENT_EU_YB.items():
            i = ELEMENTS.index(symbol)
            phi[i], n13[i], v23[i], r[i] = phi_2, n13_2, v23_2, r_2
            transition_metal[i] = False  # no 5d electron: a divalent, alkaline-earth-like metal
        source += " (Eu, Yb: divalent values, hmixal.miedema_model.DIVALENT_EU_YB)"
    return MiedemaParameters(
        phi=phi, n13=n13, v23=v23, a=column("a_const"), r=r, transition_metal=transition_metal, source=source
    )


@lru_cache(maxsize=1)
def default_parameters() -> MiedemaParameters:
    """The parameters hmixal uses: matminer's ``Miedema.csv`` with divalent Eu and Yb (cached)."""
    return load_parameters()


def element_indices(elements: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Indices into ``ELEMENTS`` of element symbols (or of indices, checked), keeping the array shape."""
    values = np.asarray(elements)
    if values.size == 0:
        return np.zeros(values.shape, dtype=np.intp)
    if values.dtype.kind in "iu":
        bad = (values < 0) | (values >= len(ELEMENTS))
        if np.any(bad):
            problem = f"element index out of range 0..{len(ELEMENTS) - 1}: {values[bad][0]}"
            raise InputError(None, None, problem)
        return values.astype(np.intp)
    if values.dtype.kind == "O":  # e.g. a pandas column of symbols; anything else fails the lookup below
        values = values.astype(str)
    if values.dtype.kind != "U":
        raise InputError(None, None, f"elements must be symbols or integer indices, got dtype {values.dtype}")
    # searchsorted over the sorted symbols is a vectorised dictionary lookup (no Python loop over rows).
    pos = np.minimum(np.searchsorted(_SORTED_SYMBOLS, values), len(ELEMENTS) - 1)
    known = _SORTED_SYMBOLS[pos] == values
    if not np.all(known):
        unknown = sorted(set(values[~known].tolist()))
        shown = ", ".join(repr(s) for s in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise InputError(None, None, f"unknown element symbol(s): {shown}")
    return _SORTED_TO_INDEX[pos]


def is_transition_metal(symbol: str, params: MiedemaParameters | None = None) -> bool:
    """Whether Miedema's model treats ``symbol`` as a transition metal (not Zn, Cd, Hg, divalent Eu, Yb)."""
    p = params if params is not None else default_parameters()
    return bool(p.transition_metal[element_indices(symbol)])


def miedema_groups(a: npt.ArrayLike, b: npt.ArrayLike, params: MiedemaParameters | None = None) -> npt.NDArray[np.str_]:
    """Miedema group ("TM-TM", "TM-nonTM" or "nonTM-nonTM") of each binary, broadcast over the inputs."""
    p = params if params is not None else default_parameters()
    tm = p.transition_metal
    tm_a, tm_b = np.broadcast_arrays(tm[element_indices(a)], tm[element_indices(b)])
    return np.where(tm_a & tm_b, GROUP_TM_TM, np.where(tm_a | tm_b, GROUP_TM_NONTM, GROUP_NONTM_NONTM))


def miedema_group(a: str, b: str, params: MiedemaParameters | None = None) -> str:
    """Miedema group of one binary: "TM-TM", "TM-nonTM" or "nonTM-nonTM"."""
    return str(miedema_groups(a, b, params))


def hmix(
    a: npt.ArrayLike, b: npt.ArrayLike, x_b: npt.ArrayLike, params: MiedemaParameters | None = None
) -> npt.NDArray[np.float64]:
    """Miedema's liquid enthalpy of mixing (kJ/mol of atoms) of A(1-x_b)B(x_b), broadcast over all inputs."""
    p = params if params is not None else default_parameters()
    ia, ib = element_indices(a), element_indices(b)
    try:
        x = np.asarray(x_b, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(None, None, f"x_b must be numbers in [0, 1], got {x_b!r}") from None
    outside = ~((x >= 0.0) & (x <= 1.0))  # also catches NaN
    if np.any(outside):
        raise InputError(None, None, f"x_b must be within [0, 1], got {x[outside].ravel()[0]}")
    ia, ib, x = np.broadcast_arrays(ia, ib, x)
    x_a = 1.0 - x

    d_phi = p.phi[ia] - p.phi[ib]
    d_n13 = p.n13[ia] - p.n13[ib]
    v23_a0, v23_b0 = p.v23[ia], p.v23[ib]
    a_a, a_b = p.a[ia], p.a[ib]
    tm_a, tm_b = p.transition_metal[ia], p.transition_metal[ib]
    big_p = np.where(tm_a & tm_b, P_TM_TM, np.where(tm_a | tm_b, P_MIXED, P_NONTM_NONTM))
    r_over_p = np.where(tm_a != tm_b, R_LIQUID_FACTOR * p.r[ia] * p.r[ib], 0.0)

    # Charge transfer shrinks the more electropositive atom and swells the other, in proportion to the
    # fraction of its surface in contact with the other kind (c^s), which itself depends on the volumes.
    v23_a, v23_b = v23_a0, v23_b0
    for _ in range(VOLUME_ITERATIONS):
        area_a, area_b = x_a * v23_a, x * v23_b
        total = area_a + area_b
        v23_a = v23_a0 * (1.0 + a_a * (area_b / total) * d_phi)
        v23_b = v23_b0 * (1.0 - a_b * (area_a / total) * d_phi)
    area_a, area_b = x_a * v23_a, x * v23_b
    c_b = area_b / (area_a + area_b)

    interface = 2.0 * big_p * v23_a / (1.0 / p.n13[ia] + 1.0 / p.n13[ib])
    h_inter = interface * (-(d_phi**2) + Q_OVER_P * d_n13**2 - r_over_p)  # dH of A dissolved in B
    # + 0.0 turns -0.0 (pure ends of exothermic pairs) into 0.0, so written tables never show "-0".
    return x_a * c_b * h_inter + 0.0


def hmix_grid(x_b: npt.ArrayLike | None = None, params: MiedemaParameters | None = None) -> pd.DataFrame:
    """Miedema ΔH_mix for every binary (A < B alphabetically) at each x_b (default 0.01, 0.02, ..., 0.99)."""
    x = np.round(np.arange(1, 100) / 100.0, 2) if x_b is None else np.asarray(x_b, dtype=np.float64).ravel()
    symbols = sorted(ELEMENTS)
    first, second = np.triu_indices(len(symbols), k=1)
    a = np.array(symbols)[first]
    b = np.array(symbols)[second]
    values = hmix(a[:, None], b[:, None], x[None, :], params)
    return pd.DataFrame(
        {
            "A": np.repeat(a, x.size),
            "B": np.repeat(b, x.size),
            "x_B": np.tile(x, a.size),
            "miedema_group": np.repeat(miedema_groups(a, b, params), x.size),
            "hmix_miedema_kJ_per_mol": values.ravel(),
        }
    )


def load_takeuchi_inoue(path: Path | None = None) -> pd.DataFrame:
    """Read the Takeuchi–Inoue equimolar liquid table (columns A, B, hmix_kJ_per_mol) for the 70 elements."""
    path = Path(path) if path is not None else default_takeuchi_inoue_path()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(path, None, f"cannot read the Takeuchi–Inoue table: {error.strerror}") from None
    if not lines or lines[0].split() != ["elem_A", "elem_B", "delta_Hf"]:
        raise InputError(path, 1, "expected the header 'elem_A elem_B delta_Hf'")
    records: list[tuple[str, str, float]] = []
    for line, text in enumerate(lines[1:], start=2):
        fields = text.split()
        if not fields:
            continue
        if len(fields) != 3:
            raise InputError(path, line, f"expected 3 fields, got {len(fields)}")
        a, b, value = fields
        number = _number(value, path, line, "delta_Hf", f"{a}-{b}")
        if a in ELEMENTS and b in ELEMENTS:
            records.append((a, b, number))
    return pd.DataFrame(records, columns=["A", "B", "hmix_kJ_per_mol"])
