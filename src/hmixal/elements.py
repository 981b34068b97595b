"""The 70 elements hmixal covers and their 22 pure-element properties (the feature sources)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import io
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hmixal.errors import InputError, MissingArtifactError
from hmixal.io import write_csv
from hmixal.manifest import read_verified_bytes

if TYPE_CHECKING:
    from pycalphad import Database

# docs/elements.md: every element with Miedema parameters and SGTE data, minus H, N, Pm.
ELEMENTS: tuple[str, ...] = tuple(
    "Li Be B C Na Mg Al Si P K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Rb Sr Y Zr Nb Mo Tc Ru Rh Pd "
    "Ag Cd In Sn Sb Cs Ba La Ce Pr Nd Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi "
    "Th U Pu".split()
)

# Property names follow the seed's supplementary Table 1 (feature names are "<property>_mean" / "_avgdev").
MAGPIE_PROPERTIES: tuple[str, ...] = (
    "Column",
    "MendeleevNumber",
    "NValence",
    "NUnfilled",
    "Electronegativity",
    "FirstIonizationEnergy",
    "Polarizability",
    "Density",
    "MolarVolume",
    "MeltT",
    "BoilingT",
    "ThermalConductivity",
    "HeatVaporization",
)
SGTE_PROPERTIES: tuple[str, ...] = ("Cpliq", "Cpsol", "Cpfus", "Hliq", "Hsol", "Hfus", "Sliq", "Ssol", "Sfus")
PROPERTIES: tuple[str, ...] = MAGPIE_PROPERTIES + SGTE_PROPERTIES

# Units of every numeric column. Magpie units are those of matminer's magpie_elementdata/README.txt
# (Ward et al., npj Comput. Mater. 2 (2016) 16028); "g/L" there is the same as kg/m^3.
UNITS: dict[str, str] = {
    "Z": "1",
    "Column": "1 (periodic-table group; all rare earths and actinides listed as 3)",
    "MendeleevNumber": "1",
    "NValence": "1 (valence electrons)",
    "NUnfilled": "1 (unfilled valence orbitals)",
    "Electronegativity": "1 (Pauling scale)",
    "FirstIonizationEnergy": "eV",
    "Polarizability": "Å^3 (10^-24 cm^3)",
    "Density": "kg/m^3 (g/L)",
    "MolarVolume": "cm^3/mol",
    "MeltT": "K",
    "BoilingT": "K",
    "ThermalConductivity": "W/(m·K)",
    "HeatVaporization": "kJ/mol",
    "Cpliq": "J/(mol·K)",
    "Cpsol": "J/(mol·K)",
    "Cpfus": "J/(mol·K)",
    "Hliq": "kJ/mol (relative to SER: the reference phase at 298.15 K, 1 bar)",
    "Hsol": "kJ/mol (relative to SER)",
    "Hfus": "kJ/mol",
    "Sliq": "J/(mol·K)",
    "Ssol": "J/(mol·K)",
    "Sfus": "J/(mol·K)",
    "Tm_sgte_K": "K",
}

# Magpie file stem of each property, where the two differ.
MAGPIE_FILES: dict[str, str] = {prop: prop for prop in MAGPIE_PROPERTIES} | {"MeltT": "MeltingT"}

# Choice (docs/elements.md): white P, the SGTE reference phase, whose melting point (317.3 K) is the one
# Magpie's MeltT, Density and ThermalConductivity describe. Red P is more stable in SGTE and would give 852 K.
DEFAULT_SOLID_CHOICES: dict[str, str] = {"P": "WHITE_P"}

# SGTE functions start at 298.15 K (100-250 K for a few elements, 200 K for Hg) and end at 6000 K at most.
# pycalphad extrapolates every range beyond its bounds, so the melting point is searched only in between.
SGTE_T_MIN_K = 200.0
SGTE_T_MAX_K = 6000.0
_SCAN_STEP_K = 1.0
_PRESSURE_PA = 1.0e5  # standard pressure; the SGTE unary data have no pressure terms
SER_T_K = 298.15
_SER_H_TOLERANCE = 0.1  # J/mol
# Magpie's MeltT and the SGTE melting point are reported together in `notes` when they differ by more.
MELT_T_NOTE_THRESHOLD_K = 10.0

SGTE_CITATION = "SGTE Unary Database v5.0; A.T. Dinsdale, CALPHAD 15 (1991) 317-425, doi:10.1016/0364-5916(91)90030-N"
MAGPIE_CITATION = "L. Ward et al., npj Comput. Mater. 2 (2016) 16028"

# Facts about individual elements that the numbers alone do not show (literature and source remarks).
_NEIGHBOUR_AVERAGE = "Magpie Electronegativity is an average of its neighbours (magpie_elementdata README)"
_REMARKS: dict[str, str] = {
    "C": "graphite sublimes at 1 bar; 4765 K is where SGTE's liquid crosses graphite",
    "As": "grey As sublimes at 1 bar (Magpie BoilingT 887 K < MeltT); it melts only under pressure",
    # Schwerdtfeger & Nagle, Mol. Phys. 117 (2019) 1200: Bi 48 a.u. = 7.1 Å^3 (1 a.u. = 0.148184 Å^3).
    "Bi": "Magpie Polarizability 0.4 Å^3 is far below the recommended 7.1 Å^3 (Schwerdtfeger & Nagle 2019); "
    "kept as in Magpie",
    "Eu": _NEIGHBOUR_AVERAGE,
    "Tb": _NEIGHBOUR_AVERAGE,
    "Yb": _NEIGHBOUR_AVERAGE,
}

COLUMNS: tuple[str, ...] = (
    "symbol",
    "Z",
    *PROPERTIES,
    "Tm_sgte_K",
    "solid_phase_at_Tm",
    "sgte_reference_phase",
    "notes",
    "source_magpie",
    "source_sgte",
)


def element_index() -> dict[str, int]:
    """Position of each symbol in ELEMENTS (the row order of every element array)."""
    return {symbol: i for i, symbol in enumerate(ELEMENTS)}


def default_table_path() -> Path:
    """The committed element table, shipped as package data (hmixal.resources)."""
    from hmixal.resources import element_table_path

    return element_table_path()


def magpie_directory() -> Path:
    """The installed matminer's ``magpie_elementdata`` folder."""
    return Path(str(importlib.resources.files("matminer.utils.data_files") / "magpie_elementdata"))


def atomic_numbers(elements: Sequence[str] = ELEMENTS) -> dict[str, int]:
    """Atomic number of each symbol (pymatgen's periodic table)."""
    from pymatgen.core.periodic_table import Element  # slow import: only the derivation needs it

    numbers = {}
    for symbol in elements:
        if not Element.is_valid_symbol(symbol):
            raise InputError(None, None, f"unknown element symbol {symbol!r}")
        numbers[symbol] = int(Element(symbol).Z)
    return numbers


def read_magpie_properties(elements: Sequence[str] = ELEMENTS, directory: Path | None = None) -> pd.DataFrame:
    """The 13 Magpie properties of ``elements`` (index: symbol), read from the ``*.table`` files."""
    directory = magpie_directory() if directory is None else Path(directory)
    numbers = atomic_numbers(elements)
    columns: dict[str, list[float]] = {}
    for prop in MAGPIE_PROPERTIES:
        path = directory / f"{MAGPIE_FILES[prop]}.table"
        if not path.is_file():
            raise InputError(path, None, f"Magpie table for {prop} not found")
        lines = path.read_text(encoding="utf-8").splitlines()
        values = []
        for symbol in elements:
            z = numbers[symbol]  # line z holds element z
            raw = lines[z - 1].strip() if z <= len(lines) else ""
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            # Never impute (matminer's MagpieData would put the mean of all elements there): fail instead.
            if not math.isfinite(value):
                raise InputError(path, z, f"{prop} of {symbol} is missing ({raw!r})")
            values.append(value)
        columns[prop] = values
    return pd.DataFrame(columns, index=pd.Index(list(elements), name="symbol"))


def load_sgte(path: Path) -> Database:
    """Read an SGTE unary TDB with pycalphad, as an InputError when the file is absent or unreadable."""
    from pycalphad import Database

    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "SGTE database not found")
    with warnings.catch_warnings():
        # unary50.tdb flags BCC/FCC/HCP/CBCC with type character "I" (an order-disorder hint) that it never
        # defines; it has no effect on pure elements.
        warnings.filterwarnings("ignore", message="The type definition character", category=UserWarning)
        try:
            return Database(str(path))
        except Exception as exc:  # pycalphad raises parser-specific types
            raise InputError(path, None, f"pycalphad cannot read the database: {exc}") from exc


@dataclass(frozen=True)
class MeltingPoint:
    """SGTE properties of one element at its melting point (units as in UNITS)."""

    symbol: str
    Tm_K: float
    solid_phase: str
    reference_phase: str
    properties: dict[str, float]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _PhaseFunctions:
    """Compiled G, S and Cp of one phase of a pure element as functions of T."""

    name: str
    gibbs: Any
    entropy: Any
    heat_capacity: Any

    def g(self, temperatures: np.ndarray) -> np.ndarray:
        """Molar Gibbs energy (J/mol) at each temperature."""
        return np.asarray(self.gibbs(temperatures.reshape(-1, 1)), dtype=float).ravel()

    def at(self, temperature: float) -> tuple[float, float, float, float]:
        """G (J/mol), H (J/mol), S and Cp (J/(mol·K)) at one temperature."""
        t = np.array([[temperature]])
        g = float(self.gibbs(t).ravel()[0])
        s = float(self.entropy(t).ravel()[0])
        return g, g + temperature * s, s, float(self.heat_capacity(t).ravel()[0])


def _phase_functions(db: Database, species: str, phase: str) -> _PhaseFunctions:
    """Build G(T), S(T) = -dG/dT and Cp(T) = -T d²G/dT² for a pure element in one phase."""
    import symengine
    from pycalphad import Model
    from pycalphad import variables as v

    model = Model(db, [species, "VA"], phase)
    if any(len(sublattice) != 1 for sublattice in model.constituents):
        raise InputError(None, None, f"{phase} of {species} is not a single-species end member")
    # A pure element fills every sublattice with one species (itself or vacancies): each site fraction is 1.
    fixed = {y: 1.0 for y in model.site_fractions} | {v.P: _PRESSURE_PA}
    gibbs = model.GM.xreplace(fixed)
    entropy = -symengine.diff(gibbs, v.T)
    heat_capacity = -v.T * symengine.diff(gibbs, v.T, 2)
    return _PhaseFunctions(
        name=phase,
        gibbs=symengine.Lambdify([v.T], [gibbs]),
        entropy=symengine.Lambdify([v.T], [entropy]),
        heat_capacity=symengine.Lambdify([v.T], [heat_capacity]),
    )


def _end_member_phases(db: Database, species: str) -> list[str]:
    """Phases with a Gibbs-energy parameter for ``species`` alone (vacancies allowed), sorted."""
    from tinydb import where

    phases = set()
    for param in db.search(where("parameter_type") == "G"):
        names = [constituent.name for sublattice in param["constituent_array"] for constituent in sublattice]
        if species in names and set(names) <= {species, "VA"}:
            phases.add(param["phase_name"])
    return sorted(phases)


def _first_melting(
    liquid: _PhaseFunctions, solids: Sequence[_PhaseFunctions], symbol: str, tdb: Path | None
) -> tuple[float, str, list[float]]:
    """Lowest T where the liquid becomes more stable than every solid; also any later crossings."""
    from scipy.optimize import brentq

    temps = np.arange(SGTE_T_MIN_K, SGTE_T_MAX_K + _SCAN_STEP_K / 2, _SCAN_STEP_K)

    def excess(t: np.ndarray) -> np.ndarray:
        lowest_solid = np.min(np.vstack([s.g(t) for s in solids]), axis=0)
        return liquid.g(t) - lowest_solid

    diff = excess(temps)
    if diff[0] <= 0:
        raise InputError(tdb, None, f"{symbol}: the liquid is already the most stable phase at {temps[0]} K")
    crossings = np.flatnonzero(np.sign(diff[:-1]) != np.sign(diff[1:]))
    if crossings.size == 0:
        raise InputError(tdb, None, f"{symbol}: no melting point between {temps[0]} and {temps[-1]} K")
    i = int(crossings[0])
    tm = float(brentq(lambda t: float(excess(np.array([t]))[0]), temps[i], temps[i + 1], xtol=1e-10))
    at_tm = [float(s.g(np.array([tm]))[0]) for s in solids]
    solid = solids[int(np.argmin(at_tm))].name
    return tm, solid, [float(temps[j]) for j in crossings[1:]]


def _reference_phase(phases: Sequence[_PhaseFunctions], declared: str) -> tuple[str, list[str]]:
    """The phase described by the SER function: H = 0 at 298.15 K, and the lowest G among such phases."""
    at_298 = {p.name: p.at(SER_T_K) for p in phases}
    # SGTE rounds its coefficients, so H(298.15 K) of the SER phase is zero only to about 0.02 J/mol;
    # some metastable phases (e.g. Al DIAMOND_A4 = GHSERAL + a·T) also have H = 0 but a higher G.
    zero_h = [name for name, (_, h, _, _) in at_298.items() if abs(h) < _SER_H_TOLERANCE]
    if not zero_h:
        return declared, ["no phase has H = 0 at 298.15 K; reference phase taken from the ELEMENT line"]
    found = min(zero_h, key=lambda name: at_298[name][0])
    if found == declared:
        return found, []
    return found, [f"the ELEMENT line names {declared}, but {found} carries the SER function"]


def sgte_melting_point(
    db: Database,
    symbol: str,
    solid_phase: str | None = None,
    tdb: Path | None = None,
) -> MeltingPoint:
    """Melting point and the nine SGTE properties of one element.

    Tm is the lowest temperature where the liquid's Gibbs energy falls below that of the most stable
    solid (the lowest G among all the element's solid end members), or below ``solid_phase`` when given.
    """
    species = symbol.upper()
    phases = _end_member_phases(db, species) if species in db.elements else []
    if "LIQUID" not in phases:
        raise InputError(tdb, None, f"{symbol}: no LIQUID Gibbs energy in the SGTE database")
    notes: list[str] = []
    solids: list[_PhaseFunctions] = []
    for phase in phases:
        if phase in ("LIQUID", "GAS"):
            continue
        try:
            solids.append(_phase_functions(db, species, phase))
        except InputError as exc:
            notes.append(f"solid {phase} skipped: {exc.problem}")
        except (IndexError, ValueError, TypeError) as exc:
            # Hg HCP_A3: GHCPHG starts at 298.15 K but its first range ends at 234.32 K, which pycalphad
            # 0.11.2 cannot unwrap. Recorded, and the phase is left out.
            notes.append(f"solid {phase} skipped (pycalphad cannot build it: {type(exc).__name__})")
    if not solids:
        raise InputError(tdb, None, f"{symbol}: no solid phase in the SGTE database")
    try:
        liquid = _phase_functions(db, species, "LIQUID")
    except (IndexError, ValueError, TypeError) as exc:
        raise InputError(tdb, None, f"{symbol}: cannot build the LIQUID Gibbs energy: {exc}") from exc
    reference, reference_notes = _reference_phase(
        [liquid, *solids], str(db.refstates.get(species, {}).get("phase", ""))
    )
    notes.extend(reference_notes)

    tm, solid, later = _first_melting(liquid, solids, symbol, tdb)
    if solid_phase is not None:
        chosen = [s for s in solids if s.name == solid_phase]
        if not chosen:
            raise InputError(tdb, None, f"{symbol}: chosen solid phase {solid_phase} is not in the database")
        free_tm, free_solid = tm, solid
        tm, solid, later = _first_melting(liquid, chosen, symbol, tdb)
        if free_solid != solid:
            notes.append(
                f"chosen solid {solid} (Tm {tm:.2f} K); the most stable solid {free_solid} would melt at "
                f"{free_tm:.2f} K"
            )
    if later:
        notes.append(f"liquid/solid order changes again near {', '.join(f'{t:.0f}' for t in later)} K")
    if reference == "LIQUID":
        notes.append("the liquid is the SGTE reference state (H = 0 at 298.15 K), so Hliq and Hsol are < 0")
    elif solid != reference:
        notes.append(f"melts from {solid}, not from the reference phase {reference}")

    _, h_liq, s_liq, cp_liq = liquid.at(tm)
    _, h_sol, s_sol, cp_sol = next(s for s in solids if s.name == solid).at(tm)
    props = {
        "Cpliq": cp_liq,
        "Cpsol": cp_sol,
        "Cpfus": cp_liq - cp_sol,
        "Hliq": h_liq / 1000.0,  # J/mol -> kJ/mol
        "Hsol": h_sol / 1000.0,
        "Hfus": (h_liq - h_sol) / 1000.0,
        "Sliq": s_liq,
        "Ssol": s_sol,
        "Sfus": s_liq - s_sol,
    }
    return MeltingPoint(symbol, tm, solid, reference, props, tuple(notes))


def _file_digest(path: Path) -> str:
    """First 16 hex digits of the file's SHA-256 (provenance: which exact file was read)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def build_element_table(
    sgte_tdb: Path,
    elements: Sequence[str] = ELEMENTS,
    solid_choices: Mapping[str, str] = DEFAULT_SOLID_CHOICES,
    magpie_dir: Path | None = None,
) -> pd.DataFrame:
    """Derive the element table (columns COLUMNS, one row per element) from Magpie and SGTE."""
    sgte_tdb = Path(sgte_tdb)
    magpie = read_magpie_properties(elements, magpie_dir)
    numbers = atomic_numbers(elements)
    db = load_sgte(sgte_tdb)
    source_magpie = (
        f"matminer {importlib.metadata.version('matminer')} magpie_elementdata/<property>.table line Z "
        f"(MeltT: MeltingT.table); {MAGPIE_CITATION}"
    )
    source_sgte = (
        f"{sgte_tdb.name} sha256:{_file_digest(sgte_tdb)} via pycalphad "
        f"{importlib.metadata.version('pycalphad')} at Tm, 1 bar; {SGTE_CITATION}"
    )
    rows = []
    for symbol in elements:
        melt = sgte_melting_point(db, symbol, solid_choices.get(symbol), sgte_tdb)
        notes = list(melt.notes)
        meltt = float(magpie.loc[symbol, "MeltT"])
        if abs(meltt - melt.Tm_K) > MELT_T_NOTE_THRESHOLD_K:
            notes.append(f"Magpie MeltT {meltt:g} K vs SGTE Tm {melt.Tm_K:.1f} K")
        if symbol in _REMARKS:
            notes.append(_REMARKS[symbol])
        rows.append(
            {
                "symbol": symbol,
                "Z": numbers[symbol],
                **magpie.loc[symbol].to_dict(),
                **melt.properties,
                "Tm_sgte_K": melt.Tm_K,
                "solid_phase_at_Tm": melt.solid_phase,
                "sgte_reference_phase": melt.reference_phase,
                "notes": "; ".join(notes),
                "source_magpie": source_magpie,
                "source_sgte": source_sgte,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_element_table(sgte_tdb: Path, output: Path) -> pd.DataFrame:
    """Build the element table from ``sgte_tdb`` and write it to ``output`` (CSV); return it."""
    table = build_element_table(sgte_tdb)
    write_csv(table, output)
    return table


def load_element_table(path: Path | None = None) -> pd.DataFrame:
    """Read and validate an element table (default: the committed one), indexed by symbol, ELEMENTS order."""
    path = default_table_path() if path is None else Path(path)
    if not path.is_file():
        raise MissingArtifactError(
            f"{path} not found: build it with hmixal.elements.write_element_table(<unary50.tdb>, {path})"
        )
    # A table a rule wrote (results/derived/elements.csv, a model's copy) is checked against its manifest.
    data, _ = read_verified_bytes(path)
    try:
        raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"not a readable CSV table: {exc}") from exc
    missing = [c for c in ("symbol", *PROPERTIES) if c not in raw.columns]
    if missing:
        raise InputError(path, 1, f"missing column(s): {', '.join(missing)}")
    for i, symbol in enumerate(raw["symbol"]):
        if symbol not in ELEMENTS:
            raise InputError(path, i + 2, f"unknown element symbol {symbol!r}")  # line 1 is the header
    duplicated = raw["symbol"].duplicated()
    if duplicated.any():
        line = int(np.flatnonzero(duplicated)[0]) + 2
        raise InputError(path, line, f"element {raw['symbol'][line - 2]} appears twice")
    absent = [s for s in ELEMENTS if s not in set(raw["symbol"])]
    if absent:
        raise InputError(path, None, f"missing element(s): {' '.join(absent)}")
    table = raw.copy()
    for column in (*PROPERTIES, *(c for c in ("Z", "Tm_sgte_K") if c in raw.columns)):
        values = pd.to_numeric(raw[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(path, i + 2, f"column {column}: {raw[column][i]!r} is not a finite number")
        if column == "Z" and not (values == values.round()).all():
            i = int(np.flatnonzero(values != values.round())[0])
            raise InputError(path, i + 2, f"column Z: {raw[column][i]!r} is not an integer")
        table[column] = values.astype(int) if column == "Z" else values.astype(float)
    return table.set_index("symbol").loc[list(ELEMENTS)]


def property_matrix(
    table: pd.DataFrame, elements: Sequence[str] = ELEMENTS, properties: Sequence[str] = PROPERTIES
) -> np.ndarray:
    """The properties as a float array, rows in ``elements`` order and columns in ``properties`` order."""
    absent = [s for s in elements if s not in table.index]
    if absent:
        raise InputError(None, None, f"element table lacks element(s): {' '.join(absent)}")
    missing = [p for p in properties if p not in table.columns]
    if missing:
        raise InputError(None, None, f"element table lacks propert(ies): {', '.join(missing)}")
    return table.loc[list(elements), list(properties)].to_numpy(dtype=float)
