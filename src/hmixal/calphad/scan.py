"""Liquid ΔH_mix of metallic binaries from public CALPHAD databases (TDB / ChemSage .dat), with cross-file consensus.

For every binary A–B whose liquid has interaction parameters in a database file, ΔH_mix relative to the pure
liquids is computed with pycalphad on a composition grid at a temperature rule T = min(max(Tm_A, Tm_B) + offset,
cap).  Substitutional liquids use ``calculate(..., output="HM_MIX")`` at explicit site fractions and are checked
against the Redlich–Kister excess terms ΔH = x_A x_B Σ_n [L_n − T dL_n/dT] (x_A − x_B)^n.  Liquids with associate
species (e.g. MG2SN) are treated by minimising the liquid's Gibbs energy over its internal species fractions at
fixed composition (pycalphad ``equilibrium`` restricted to the liquid) and subtracting the pure liquids' enthalpy.
When several files describe a binary, one is chosen by cross-file consensus (see ``choose_candidate``).
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sympy
from pycalphad import Database, Model, calculate, equilibrium
from pycalphad import variables as v

from hmixal.calphad.tdb import LiquidTdb, decode_tdb_bytes, filter_liquid_tdb, find_liquid_phase
from hmixal.dataset import DATASET_COLUMNS
from hmixal.elements import ELEMENTS
from hmixal.errors import InputError
from hmixal.miedema_model import hmix as miedema_hmix

DEFAULT_X_GRID: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# Temperature rule: the seed's data "are based on experiments that are usually carried out close to the liquidus
# in the system, and below 2000K" (Bizot et al. 2026, discussion), and pycalphad 0.11 ignores single-range
# parameter bounds (docs/calphad.md), so a higher T would extrapolate silently.
DEFAULT_T_OFFSET_K = 50.0
DEFAULT_T_CAP_K = 2000.0
# Sources whose ΔH_mix curves differ by more than this (kJ/mol, max over the grid) are flagged. Measured on the
# committed candidates (169 binaries with two or more files): the spread at x = 0.5 has median 0.44 and 90th
# percentile 7.1 kJ/mol (docs/calphad.md).
DEFAULT_DISAGREEMENT_KJ = 5.0
# A curve whose |ΔH_mix| stays below this everywhere (kJ/mol) is a placeholder (an unassessed zero, or an
# L = a·T parameter that carries no enthalpy) when another file's curve is more than PLACEHOLDER_RATIO⁻¹ times
# larger; placeholders are dropped.  Catches MatCalc's Fe–La (max 0.76 vs 34 kJ/mol) and Mo–Nb (0 vs 4).
DEFAULT_PLACEHOLDER_KJ = 1.0
PLACEHOLDER_RATIO = 0.1
# Single low-quality source rule (docs/calphad.md, "Single low-quality sources"): a binary described by exactly
# one file, that file inside a test or example folder, is excluded when its curve is far weaker than Miedema's:
# max |ΔH| below DEFAULT_SINGLE_SOURCE_FACTOR × Miedema's max |ΔH| AND an RMS distance to Miedema above
# DEFAULT_SINGLE_SOURCE_GAP_KJ.  Only "too weak" counts: a test file's round placeholder (Dy–Ga L0 = −9000 − T, Ga–Nd
# L0 = −5000 in NIMS's Nd-mag-STAM_en.TDB, whose header says the Ga parameters "are not well assessed") is near
# zero, whereas a curve far *stronger* than Miedema (Fe–Ga, Ni–Sb) is where Miedema is known to fail and what
# the correction must learn.  On the shipped refdata this removes Dy–Ga and Ga–Nd (ratios 0.06, 0.05; RMS 29,
# 30 kJ/mol) and nothing else: the next single-source ratio is 0.20 at 4 kJ/mol RMS (Mn–Zn, MatCalc).
DEFAULT_SINGLE_SOURCE_FACTOR = 0.2
DEFAULT_SINGLE_SOURCE_GAP_KJ = 10.0
# Folder names that mark test or example files (parameters there may be placeholders written to exercise
# software): any path component equal to one of these, or ending in "_examples".
TEST_EXAMPLE_FOLDERS: frozenset[str] = frozenset({"test", "tests", "example", "examples"})
# The candidates-table reason of a binary excluded by that rule starts with this.
SINGLE_SOURCE_EXCLUDED = "excluded: single low-quality source"
# Candidates whose RMS distance to the median curve differ by less than this (kJ/mol) are tied.
DEFAULT_TIE_KJ = 0.05
PRESSURE_PA = 101325.0
# Output rounding: ΔH_mix to 1 mJ/mol (far below any source's accuracy) so tables do not carry float noise; the
# pycalphad-vs-excess-term check to 1e-9 kJ/mol (agreement is ~1e-14, i.e. 0 after rounding).
VALUE_DECIMALS = 6
CHECK_DECIMALS = 9
# pycalphad's HM_MIX and the excess-term formula must agree to this (kJ/mol), else the binary is skipped.
CHECK_TOLERANCE_KJ = 1e-6
# Non-metals among hmixal's 70 elements.  Their liquid descriptions in these databases are fitted on the metal-rich
# side only (dissolved C, B, P) and their pure liquids lie far below their melting points at ≤ 2000 K, so a
# 0.1…0.9 grid would be almost all extrapolation; excluded by default (config key), reported in the load report.
DEFAULT_EXCLUDED_ELEMENTS: tuple[str, ...] = ("B", "C", "P", "As")
# Tie-break order, most trusted first (prefixes of paths relative to the refdata folder).  Assessed multicomponent
# databases and published single assessments come before compilations known to contain placeholders (MatCalc:
# Fe–La, Fe–Zr ≈ 0), systems flagged wrong by their author (LibreCalphad header) and third-party copies.
DEFAULT_FOLDER_PRIORITY: tuple[str, ...] = (
    "cost507/",
    "pycalphad/",
    "hallstedt/",
    "kawin_examples/",
    "opencalphad_examples/",
    "thermochimica/",
    "by_student_pycalphad_examples/",
    "by_student_opencalphad_examples/",
    "matcalc_opendb/",
    "librecalphad/",
)
# Citations for database folders, from refdata/SOURCES.md; used when a file has no resolvable reference list.
FOLDER_CITATIONS: dict[str, str] = {
    "cost507/": "COST 507 light-alloy database, round II (I. Ansara, A.T. Dinsdale, M.H. Rand, 1998)",
    "matcalc_opendb/": "MatCalc open database (E. Povoden-Karadeniz, TU Wien; ODbL 1.0)",
    "hallstedt/iron4cd": "B. Hallstedt, cast-iron database v4c (CC BY 4.0)",
    "hallstedt/PrecHiMn": "B. Hallstedt, high-Mn steel database v4.0",
    "librecalphad/": "LibreCalphad mf-steel database (github.com/mfrichtl/librecalphad, MIT)",
    "opencalphad_examples/agbicupbsbsn": "NIST solder database, U.R. Kattner (1999), Ag-Bi-Cu-Pb-Sb-Sn subset",
    "opencalphad_examples/": "OpenCalphad example database (github.com/sundmanbo/opencalphad)",
    "pycalphad/": "pycalphad test/example database (github.com/pycalphad/pycalphad)",
    "kawin_examples/": "kawin example database (github.com/materialsgenomefoundation/kawin)",
    "thermochimica/": "Thermochimica ZIRC database (github.com/ORNL-CEES/thermochimica)",
    "by_student_opencalphad_examples/": "NIMS Al-B-Co-Cu-Dy-Fe-Ga-Nd database (Hashimoto & Abe, 2019)",
    "by_student_pycalphad_examples/": (
        "literature assessment, copy in github.com/by-student-2017/pycalphad-v.0.10.3-examples"
    ),
    "sgte_unary/": "SGTE unary database 5.0 (A.T. Dinsdale, Calphad 15 (1991) 317)",
}
# Folders that collect separate assessments (their folder citation names the collection, not the assessment).
COLLECTION_FOLDERS: tuple[str, ...] = (
    "by_student_pycalphad_examples/",
    "pycalphad/",
    "kawin_examples/",
    "opencalphad_examples/",
)
DATABASE_SUFFIXES: tuple[str, ...] = (".tdb", ".dat", ".txt")
_TDB_SNIFF_RE = re.compile(r"^\s*ELEM[A-Z_]*\s+\S+", re.IGNORECASE | re.MULTILINE)
_URL_RE = re.compile(r"https?://\S+")

# The dataset contract (hmixal.dataset) without the uncertainty column, plus the consensus audit columns.
CHOSEN_COLUMNS = [
    *(c for c in DATASET_COLUMNS if c != "uncertainty_kJ_per_mol"),
    "n_candidates",
    "spread_kJ_per_mol",
    "flag",
]
CANDIDATE_COLUMNS = [
    "A",
    "B",
    "source",
    "x_B",
    "T_K",
    "hmix_kJ_per_mol",
    "check_diff_kJ_per_mol",
    "liquid_model",
    "low_confidence",
    "chosen",
    "reason",
]
REPORT_COLUMNS = [
    "file",
    "format",
    "status",
    "error",
    "error_line",
    "liquid_phase",
    "liquid_model",
    "n_binaries",
    "binaries",
    "skipped",
    "notes",
    "plain_load_check",
    "max_check_diff_kJ_per_mol",
]


@dataclass
class LiquidDatabase:
    """A database reduced to its liquid phase, with what the loader repaired, dropped or could not resolve."""

    path: Path
    db: Database
    phase: str
    format: str
    notes: list[str] = field(default_factory=list)
    unresolved: dict[frozenset[str], str] = field(default_factory=dict)
    param_refs: dict[frozenset[str], list[str]] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    database_info: str = ""


@dataclass(frozen=True)
class Candidate:
    """One file's ΔH_mix curve for a binary, with what the consensus rule needs to rank it."""

    source: str
    values: np.ndarray
    priority: int
    low_confidence: bool


@dataclass(frozen=True)
class Consensus:
    """The consensus decision for one binary: chosen index, a reason per candidate, spread and flag."""

    chosen: int
    reasons: list[str]
    retained: list[int]
    spread: np.ndarray
    flag: str


# --------------------------------------------------------------------------------------------------- loading


def load_liquid_database(path: str | Path) -> LiquidDatabase:
    """Load the liquid phase of a TDB (tolerant reader) or ChemSage .dat file; InputError if unusable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, None, f"cannot read file: {exc.strerror or exc}") from exc
    if path.suffix.lower() == ".dat":
        return _load_chemsage(path)
    text = decode_tdb_bytes(data)
    liquid = filter_liquid_tdb(text, path)
    try:
        db = Database(liquid.text)
    except Exception as exc:  # pycalphad raises pyparsing/sympy/ValueError types; all mean "unreadable"
        line, command = _failing_command(liquid)
        what = f" the command {command!r}" if command else " the liquid"
        raise InputError(path, line, f"pycalphad cannot read{what}: {_plain_error(exc)}") from exc
    refs: dict[frozenset[str], list[str]] = {}
    for p in liquid.parameters:
        if p.ref:
            codes = refs.setdefault(p.species, [])
            if p.ref not in codes:
                codes.append(p.ref)
    return LiquidDatabase(
        path=path,
        db=db,
        phase=liquid.phase,
        format="tdb",
        notes=list(liquid.notes),
        unresolved=dict(liquid.unresolved),
        param_refs=refs,
        references=dict(liquid.references),
        database_info=liquid.database_info,
    )


def _plain_error(exc: Exception) -> str:
    """A pycalphad/sympy exception in plain words (a bare KeyError prints only the missing name, e.g. 'NI')."""
    if isinstance(exc, KeyError):
        return f"{exc.args[0] if exc.args else exc!s} is used but never declared"
    if isinstance(exc, SyntaxError):
        return f"an expression is not valid arithmetic ({exc.msg})"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _failing_command(liquid: LiquidTdb) -> tuple[int | None, str]:
    """The file line and text of the first filtered command pycalphad cannot read, or (None, "").

    Loads growing prefixes of the filtered text (declarations come before their use, so a prefix fails exactly
    when it contains the bad command); a binary search needs about log2(n) loads, and runs only after a failure.
    """
    import warnings

    lines = liquid.text.splitlines()

    def loads(n: int) -> bool:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # partial texts miss the phase: expected warnings
                Database("\n".join(lines[:n]) + "\n")
        except Exception:  # any failure of this prefix: the culprit is at or before line n
            return False
        return True

    low, high = 0, len(lines)  # invariant: the first `low` lines load; the first `high` do not
    if loads(high):
        return None, ""
    while high - low > 1:
        middle = (low + high) // 2
        if loads(middle):
            low = middle
        else:
            high = middle
    source = liquid.source_lines[high - 1] if high - 1 < len(liquid.source_lines) else 0
    return (source or None), lines[high - 1]


def _load_chemsage(path: Path) -> LiquidDatabase:
    """Load a ChemSage .dat file with pycalphad's reader (no filtering is needed for this format)."""
    try:
        db = Database.from_file(str(path), fmt="dat")
    except Exception as exc:  # the .dat reader raises many exception types on malformed input
        raise InputError(path, None, f"pycalphad cannot read the ChemSage file: {_plain_error(exc)}") from exc
    phase = find_liquid_phase(list(db.phases))
    if phase is None:
        raise InputError(path, None, "no liquid phase: no phase whose name starts with LIQ")
    return LiquidDatabase(path=path, db=db, phase=phase, format="dat")


def is_database_file(path: Path) -> bool:
    """True for .tdb/.dat files and for text files whose content has TDB ELEMENT commands."""
    name = path.name.lower()
    if name.endswith(".dat"):
        return True
    if not (name.endswith(DATABASE_SUFFIXES) or ".tdb" in name):
        return False
    if name.endswith(".tdb"):
        return True
    try:
        head = decode_tdb_bytes(path.read_bytes())
    except OSError:
        return True  # let the loader report the read error
    return _TDB_SNIFF_RE.search(head) is not None


def candidate_files(refdata_dir: str | Path) -> list[Path]:
    """Every file under the folder that might be a database (.tdb, .dat, .txt and names containing .tdb)."""
    root = Path(refdata_dir)
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            low = name.lower()
            if low.endswith(DATABASE_SUFFIXES) or ".tdb" in low:
                found.append(Path(dirpath) / name)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


# ------------------------------------------------------------------------------------------ liquid binaries


def _species_elements(species: v.Species) -> dict[str, float]:
    """Element → amount of a pycalphad species (empty for the vacancy)."""
    return {str(el): float(n) for el, n in species.constituents.items() if str(el) != "VA"}


def _is_element(species: v.Species) -> bool:
    """True for a neutral one-atom species of a real element."""
    els = _species_elements(species)
    return len(els) == 1 and math.isclose(next(iter(els.values())), 1.0) and not species.charge


def _symbol(name: str) -> str:
    """TDB element name → hmixal symbol (``AL`` → ``Al``)."""
    return name[:1].upper() + name[1:].lower()


def liquid_constituents(ldb: LiquidDatabase) -> list[list[v.Species]]:
    """The liquid's constituents per sublattice."""
    return [sorted(sub, key=lambda s: s.name) for sub in ldb.db.phases[ldb.phase].constituents]


def liquid_model_kind(ldb: LiquidDatabase) -> str:
    """``substitutional``, ``substitutional+VA`` (second sublattice vacancies only) or ``ionic`` (unusable)."""
    subs = liquid_constituents(ldb)
    if any(s.charge for sub in subs for s in sub):
        return "ionic"
    if len(subs) == 1:
        return "substitutional"
    if all({s.name for s in sub} == {"VA"} for sub in subs[1:]):
        return "substitutional+VA"
    return "ionic"


def _liquid_parameters(ldb: LiquidDatabase) -> list[dict]:
    """The liquid's G and L parameter records."""
    return [p for p in ldb.db._parameters.all() if p["phase_name"] == ldb.phase and p["parameter_type"] in ("G", "L")]


def liquid_binaries(ldb: LiquidDatabase) -> list[tuple[str, str]]:
    """Element pairs (hmixal symbols, alphabetical) with a non-zero liquid interaction or associate parameter."""
    if liquid_model_kind(ldb) == "ionic":
        return []
    pairs: set[tuple[str, str]] = set()
    for p in _liquid_parameters(ldb):
        species = [s for sub in p["constituent_array"] for s in sub if s.name != "VA"]
        elements = set().union(*(_species_elements(s) for s in species)) if species else set()
        is_interaction = len(species) >= 2
        is_associate = len(species) == 1 and not _is_element(species[0])
        if len(elements) != 2 or not (is_interaction or is_associate):
            continue
        if sympy.sympify(p["parameter"]) == 0:
            continue
        a, b = sorted(_symbol(e) for e in elements)
        pairs.add((a, b))
    return sorted(pairs)


def associates_for(ldb: LiquidDatabase, a: str, b: str) -> list[str]:
    """Names of the liquid's associate species made only of elements a and b."""
    allowed = {a.upper(), b.upper()}
    return [
        s.name
        for sub in liquid_constituents(ldb)
        for s in sub
        if s.name != "VA" and not _is_element(s) and set(_species_elements(s)) <= allowed
    ]


# --------------------------------------------------------------------------------------------- ΔH_mix curves


def liquid_temperature(
    a: str,
    b: str,
    melting_points: Mapping[str, float],
    t_offset: float = DEFAULT_T_OFFSET_K,
    t_cap: float = DEFAULT_T_CAP_K,
) -> float:
    """T = min(max(Tm_a, Tm_b) + t_offset, t_cap) in K; InputError when a melting point is missing."""
    for el in (a, b):
        tm = melting_points.get(el)
        if tm is None or not np.isfinite(tm) or tm <= 0:
            raise InputError(None, None, f"no valid melting point for element {el!r}")
    return float(min(max(melting_points[a], melting_points[b]) + t_offset, t_cap))


def _components(ldb: LiquidDatabase, a: str, b: str) -> list[str]:
    """pycalphad component names for the binary; InputError when an element is not in the liquid."""
    names = {s.name for sub in liquid_constituents(ldb) for s in sub}
    comps = []
    for el in (a, b):
        if el.upper() not in names:
            raise InputError(ldb.path, None, f"element {el} is not a constituent of phase {ldb.phase}")
        comps.append(el.upper())
    return [*comps, "VA"]


def _checked_model(ldb: LiquidDatabase, comps: list[str]) -> Model:
    """pycalphad Model of the liquid; InputError when its energy still contains undefined function names.

    pycalphad evaluates names it cannot resolve as 0 without a warning, which would silently turn an
    interaction off (e.g. Al–Pt in alnipt.tdb).
    """
    model = Model(ldb.db, comps, ldb.phase)
    undefined = sorted(s.name for s in model.GM.free_symbols if not isinstance(s, (v.SiteFraction, v.StateVariable)))
    if undefined:
        raise InputError(ldb.path, None, f"{'-'.join(comps[:2])}: undefined function(s) {', '.join(undefined)}")
    return model


def _calculate_liquid(
    ldb: LiquidDatabase, comps: list[str], model: Model, temperature: float, points: np.ndarray, output: str
):
    """pycalphad ``calculate`` of the liquid at explicit site fractions, 1 atm, one mole of formula units."""
    return calculate(
        ldb.db,
        comps,
        ldb.phase,
        T=temperature,
        P=PRESSURE_PA,
        N=1,
        points=points,
        output=output,
        model={ldb.phase: model},
    )


def hmix_curve(ldb: LiquidDatabase, a: str, b: str, x_grid: Sequence[float], temperature: float) -> np.ndarray:
    """ΔH_mix of the liquid relative to the pure liquids (kJ/mol of atoms) at x_B = x_grid and T."""
    if liquid_model_kind(ldb) == "ionic":
        raise InputError(ldb.path, None, f"phase {ldb.phase} is an ionic (two-sublattice) liquid")
    if associates_for(ldb, a, b):
        return _hmix_associate(ldb, a, b, x_grid, temperature)
    comps = _components(ldb, a, b)
    model = _checked_model(ldb, comps)
    x = np.asarray(x_grid, dtype=float)
    points = np.ones((len(x), len(model.site_fractions)))
    for j, sf in enumerate(model.site_fractions):
        if sf.species.name == a.upper():
            points[:, j] = 1.0 - x
        elif sf.species.name == b.upper():
            points[:, j] = x
    res = _calculate_liquid(ldb, comps, model, temperature, points, "HM_MIX")
    xb = np.asarray(res.X.sel(component=b.upper())).ravel()
    if not np.allclose(xb, x):  # guards against a change in pycalphad's site-fraction ordering
        raise RuntimeError(f"{ldb.path}: pycalphad returned compositions {xb}, expected {x}")
    return np.asarray(res.HM_MIX).ravel() / 1000.0


def _hmix_associate(ldb: LiquidDatabase, a: str, b: str, x_grid: Sequence[float], temperature: float) -> np.ndarray:
    """ΔH_mix of an associate liquid: internal equilibrium of species at fixed x, minus the pure liquids."""
    comps = _components(ldb, a, b)
    model = _checked_model(ldb, comps)
    x = np.asarray(x_grid, dtype=float)
    eq = equilibrium(
        ldb.db,
        comps,
        [ldb.phase],
        {v.X(b.upper()): x, v.T: temperature, v.P: PRESSURE_PA, v.N: 1},
        output="HM",
        model={ldb.phase: model},
    )
    # A composition where the liquid splits in two has no single-liquid ΔH_mix: report, do not average.
    labels = np.asarray(eq.Phase.values).reshape(len(x), -1)
    if np.any((labels == ldb.phase).sum(axis=1) != 1):
        raise InputError(ldb.path, None, f"associate liquid {a}-{b} splits into two liquids at {temperature:g} K")
    h_mix = np.asarray(eq.HM.values).reshape(len(x))
    pure = np.zeros((2, len(model.site_fractions)))
    for j, sf in enumerate(model.site_fractions):
        pure[0, j] = 1.0 if sf.species.name in (a.upper(), "VA") else 0.0
        pure[1, j] = 1.0 if sf.species.name in (b.upper(), "VA") else 0.0
    ref = _calculate_liquid(ldb, comps, model, temperature, pure, "HM")
    h_a, h_b = np.asarray(ref.HM).ravel()
    return (h_mix - (1.0 - x) * h_a - x * h_b) / 1000.0


def _resolve(expr: sympy.Expr, symbols: Mapping[str, sympy.Expr]) -> sympy.Expr:
    """Substitute database functions into an expression until none is left."""
    for _ in range(50):
        subs = {s: symbols[s.name] for s in expr.free_symbols if s.name in symbols}
        if not subs:
            return expr
        expr = expr.xreplace(subs)
    raise ValueError("function references nest more than 50 levels (circular definition?)")


def _outside_range(expr: sympy.Expr, temperature: float) -> bool:
    """True when T falls in the zero default branch of a piecewise temperature range inside expr."""
    for pw in expr.atoms(sympy.Piecewise):
        for value, cond in pw.args:
            if bool(cond.subs(v.T, temperature)):
                if cond == sympy.true and len(pw.args) > 1 and value == 0:
                    return True
                break
    return False


def interaction_terms(ldb: LiquidDatabase, a: str, b: str) -> dict[int, sympy.Expr]:
    """Redlich–Kister L_n(T) of the binary (constituents in pycalphad's alphabetical order), functions resolved."""
    want = {a.upper(), b.upper()}
    terms: dict[int, sympy.Expr] = {}
    for p in _liquid_parameters(ldb):
        arr = p["constituent_array"]
        first = {s.name for s in arr[0]}
        if first != want or len(arr[0]) != 2 or any({s.name for s in sub} != {"VA"} for sub in arr[1:]):
            continue
        expr = _resolve(sympy.sympify(p["parameter"]), ldb.db.symbols)
        order = int(p["parameter_order"])
        terms[order] = terms.get(order, sympy.Integer(0)) + expr
    return terms


def hmix_excess(
    ldb: LiquidDatabase, a: str, b: str, x_grid: Sequence[float], temperature: float
) -> tuple[np.ndarray, bool]:
    """ΔH_mix from the excess terms, x_A x_B Σ_n [L_n − T dL_n/dT](x_A − x_B)^n (kJ/mol), and an out-of-range flag.

    Independent of pycalphad's Model; used to check ``hmix_curve`` for substitutional liquids.  pycalphad sorts
    the constituents of every parameter alphabetically (like Thermo-Calc), so (x_first − x_second) uses that order.
    """
    first = min(a.upper(), b.upper())
    x = np.asarray(x_grid, dtype=float)
    x_first = 1.0 - x if a.upper() == first else x
    x_second = 1.0 - x_first
    total = np.zeros_like(x)
    outside = False
    for order, expr in interaction_terms(ldb, a, b).items():
        h_term = expr - v.T * sympy.diff(expr, v.T)
        value = float(h_term.subs({v.T: temperature, v.P: PRESSURE_PA}))
        outside = outside or _outside_range(expr, temperature)
        total += value * (x_first - x_second) ** order
    return x_first * x_second * total / 1000.0, outside


# ------------------------------------------------------------------------------------------- per-file scan


@dataclass
class FileResult:
    """What one file contributed: a load-report row and its candidate curves (binary → values)."""

    row: dict[str, object]
    curves: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, str, float]] = field(default_factory=dict)
    references: dict[tuple[str, str], str] = field(default_factory=dict)
    seconds: float = 0.0


def is_low_confidence(source: str) -> bool:
    """Files edited by the uploader (``modified_*`` or inside ``*_incomplete_TDB_file/``, refdata SOURCES.md)."""
    parts = source.split("/")
    return parts[-1].lower().startswith("modified_") or any(p.endswith("_incomplete_TDB_file") for p in parts[:-1])


def is_test_or_example(source: str) -> bool:
    """True when a source path lies in a test or example folder (``test/``, ``examples/``, ``*_examples/``…)."""
    folders = [part.lower() for part in source.split("/")[:-1]]
    return any(part in TEST_EXAMPLE_FOLDERS or part.endswith("_examples") for part in folders)


def single_source_exclusion(
    source: str,
    values: np.ndarray,
    miedema_values: np.ndarray,
    factor: float = DEFAULT_SINGLE_SOURCE_FACTOR,
    gap_kj: float = DEFAULT_SINGLE_SOURCE_GAP_KJ,
) -> str | None:
    """Why a binary's only curve (from ``source``) is excluded as a low-quality placeholder, or None to keep it.

    The caller applies this only when exactly one file describes the binary: with two or more files the consensus
    rule (``choose_candidate``) already weighs the sources against each other.
    """
    if not is_test_or_example(source):
        return None
    peak = float(np.max(np.abs(values)))
    peak_miedema = float(np.max(np.abs(miedema_values)))
    rms = float(np.sqrt(np.mean((np.asarray(values) - np.asarray(miedema_values)) ** 2)))
    if peak < factor * peak_miedema and rms > gap_kj:
        return (
            f"{SINGLE_SOURCE_EXCLUDED} (test/example file) with max |ΔH| {peak:.3g} kJ/mol, "
            f"less than {factor:g} × Miedema's {peak_miedema:.3g} kJ/mol, RMS {rms:.3g} kJ/mol from Miedema "
            f"(more than {gap_kj:g}): likely placeholder parameters"
        )
    return None


def excluded_binaries(candidates: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(A, B, source) of every binary the single low-quality source rule excluded, from a candidates table."""
    rows = candidates[candidates["reason"].astype(str).str.startswith(SINGLE_SOURCE_EXCLUDED)]
    return sorted({(str(r.A), str(r.B), str(r.source)) for r in rows.itertuples()})


def source_rank(source: str, priority: Sequence[str]) -> int:
    """Rank of a source in the tie-break order (lower is preferred); low-confidence files rank after all others."""
    rank = next((i for i, prefix in enumerate(priority) if source.startswith(prefix)), len(priority))
    return rank + (len(priority) + 1 if is_low_confidence(source) else 0)


def folder_citation(source: str) -> str:
    """The per-folder citation for a source (longest matching prefix), else the repository path."""
    best = ""
    for prefix in FOLDER_CITATIONS:
        if source.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return FOLDER_CITATIONS[best] if best else source


def binary_reference(ldb: LiquidDatabase, source: str, a: str, b: str) -> str:
    """Citation for a binary in a file, most specific first.

    The binary's parameter REF codes resolved in the file's reference list (with the database citation), else
    a URL.txt beside the file, else a matching entry of a References.txt in a parent folder, else (for files of
    collections and unknown folders) the file's DATABASE_INFO text, else the per-folder citation (SOURCES.md).
    """
    codes: list[str] = []
    key_species = {a.upper(), b.upper(), *associates_for(ldb, a, b)}
    for species, refs in ldb.param_refs.items():
        if len(species) >= 2 and species <= key_species:
            codes += [c for c in refs if c not in codes]
    texts = [text for c in codes if (text := _reference_text(ldb.references, c))]
    if texts:
        return " | ".join(dict.fromkeys(texts)) + f" (in: {folder_citation(source)})"
    url = _url_beside(ldb.path)
    if url:
        return url
    citation = folder_citation(source)
    # Collections of separate assessments only have a generic folder citation; the file's own DATABASE_INFO
    # (e.g. "Nb-Ni-Si database by Santos, Petrilli, Schon, Eleno (2015)") says more.
    generic = citation == source or any(citation == FOLDER_CITATIONS.get(p) for p in COLLECTION_FOLDERS)
    if ldb.database_info and generic:
        info = ldb.database_info if len(ldb.database_info) <= 160 else ldb.database_info[:157] + "..."
        return f"{info} (in: {citation})"
    return citation


def _reference_text(references: Mapping[str, str], code: str) -> str:
    """The reference-list entry a parameter's code cites ("N REF 5" may cite the entry "REF5"), or ""."""
    for key in (code.upper(), f"REF{code.upper()}"):
        if key in references:
            return references[key]
    return ""


def _usable_urls(text: str) -> list[str]:
    """URLs in a text, without expiring signed download links (they contain ``Expires=``)."""
    return [u for u in _URL_RE.findall(text) if "Expires=" not in u]


def _url_beside(path: Path) -> str:
    """A paper URL for a database file: URL.txt in its folder, else the entry of a References.txt in a parent
    folder whose system label (``Au-Ni-Sn (...)``) has the same elements as the file's folder name."""
    url_file = path.parent / "URL.txt"
    if url_file.is_file():
        urls = _usable_urls(url_file.read_text(encoding="latin-1"))
        if urls:
            return urls[0]
    system = frozenset(path.parent.name.split("_")[0].split("-"))
    for parent in path.parents[1:4]:
        listing = parent / "References.txt"
        if not listing.is_file():
            continue
        for block in re.split(r"^-{10,}\s*$", listing.read_text(encoding="latin-1"), flags=re.MULTILINE):
            lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
            if lines and frozenset(lines[0].split()[0].split("-")) == system:
                urls = _usable_urls(block)
                if urls:
                    return urls[0]
    return ""


def _skip_reason(ldb: LiquidDatabase, a: str, b: str, elements: Sequence[str], exclude: Sequence[str]) -> str | None:
    """Why a binary of a loaded file is not used, or None."""
    outside = [e for e in (a, b) if e not in elements]
    if outside:
        return "element outside hmixal's list: " + ",".join(outside)
    excluded = [e for e in (a, b) if e in exclude]
    if excluded:
        return "excluded element (non-metal): " + ",".join(excluded)
    allowed = {a.upper(), b.upper(), *associates_for(ldb, a, b)}
    for species, reason in ldb.unresolved.items():
        if species <= allowed and not (species <= {a.upper()} or species <= {b.upper()}):
            return "parameter calls undefined function: " + reason
    return None


def scan_file(
    path: Path,
    root: Path,
    melting_points: Mapping[str, float],
    x_grid: Sequence[float],
    t_offset: float,
    t_cap: float,
    elements: Sequence[str],
    exclude_elements: Sequence[str],
    verify_plain_load: bool,
) -> FileResult:
    """Load one file and compute ΔH_mix for each usable binary; every problem ends up in the report row."""
    start = time.perf_counter()
    source = path.relative_to(root).as_posix()
    row: dict[str, object] = dict.fromkeys(REPORT_COLUMNS, "")
    row.update(file=source, n_binaries=0, max_check_diff_kJ_per_mol=np.nan)
    result = FileResult(row=row)
    if not is_database_file(path):
        row.update(status="not a database", error="no TDB ELEMENT command (text file)")
        result.seconds = time.perf_counter() - start
        return result
    row["format"] = "dat" if path.suffix.lower() == ".dat" else "tdb"
    try:
        ldb = load_liquid_database(path)
    except InputError as exc:
        row.update(status="failed", error=exc.problem, error_line="" if exc.line is None else exc.line)
        result.seconds = time.perf_counter() - start
        return result
    except Exception as exc:  # one malformed third-party file must never stop the whole build: report it
        row.update(status="failed", error=f"unexpected {_plain_error(exc)}")
        result.seconds = time.perf_counter() - start
        return result
    kind = liquid_model_kind(ldb)
    row.update(status="loaded", liquid_phase=ldb.phase, notes=" | ".join(ldb.notes))
    skipped: list[str] = []
    associate_binaries: list[str] = []
    checks: list[float] = []
    if kind == "ionic":
        row["liquid_model"] = "ionic two-sublattice liquid (not used)"
    for a, b in liquid_binaries(ldb):
        reason = _skip_reason(ldb, a, b, elements, exclude_elements)
        if reason is not None:
            skipped.append(f"{a}-{b}: {reason}")
            continue
        assoc = associates_for(ldb, a, b)
        model = f"associate ({','.join(assoc)})" if assoc else kind
        try:
            temperature = liquid_temperature(a, b, melting_points, t_offset, t_cap)
            values = hmix_curve(ldb, a, b, x_grid, temperature)
            if not np.all(np.isfinite(values)):
                raise InputError(path, None, "ΔH_mix is not finite")
            check = np.full(len(values), np.nan)
            if not assoc:
                excess, outside = hmix_excess(ldb, a, b, x_grid, temperature)
                if outside:
                    skipped.append(f"{a}-{b}: T = {temperature:g} K outside an interaction parameter's range")
                    continue
                check = np.abs(values - excess)
                checks.append(float(check.max()))
                if check.max() > CHECK_TOLERANCE_KJ:
                    skipped.append(f"{a}-{b}: HM_MIX and excess terms differ by {check.max():.3g} kJ/mol")
                    continue
        except InputError as exc:
            skipped.append(f"{a}-{b}: {exc.problem}")
            continue
        except Exception as exc:  # a pycalphad failure on one binary is reported, not raised
            skipped.append(f"{a}-{b}: pycalphad failed ({type(exc).__name__}: {exc})")
            continue
        if assoc:
            associate_binaries.append(f"{a}-{b} ({','.join(assoc)})")
        result.curves[(a, b)] = (values, check, model, temperature)
        result.references[(a, b)] = binary_reference(ldb, source, a, b)
    if kind != "ionic":
        # Associate binaries are computed by internal equilibrium of the liquid's species (see _hmix_associate).
        row["liquid_model"] = kind + (f"; associates: {', '.join(associate_binaries)}" if associate_binaries else "")
    row.update(
        n_binaries=len(result.curves),
        binaries=";".join(f"{a}-{b}" for a, b in sorted(result.curves)),
        skipped=" | ".join(skipped),
        max_check_diff_kJ_per_mol=round(max(checks), CHECK_DECIMALS) if checks else np.nan,
    )
    if verify_plain_load and row["format"] == "tdb" and result.curves:
        row["plain_load_check"] = plain_load_check(path, result.curves, x_grid)
    result.seconds = time.perf_counter() - start
    return result


def plain_load_check(
    path: Path, curves: Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray, str, float]], x_grid: Sequence[float]
) -> str:
    """Compare the filtered load with pycalphad's own reader on the same file, where the latter works."""
    import warnings

    try:
        with warnings.catch_warnings():
            # The unfiltered file is third-party input; its typedef warnings are expected and irrelevant here.
            warnings.simplefilter("ignore")
            text = decode_tdb_bytes(path.read_bytes()).replace("\r\n", "\n").replace("\r", "\n")
            db = Database(text)
    except Exception as exc:  # any parser failure means "plain load does not work"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"plain load fails ({type(exc).__name__}: {first[:80]})"
    phase = find_liquid_phase(list(db.phases))
    if phase is None:
        return "plain load has no liquid phase"
    plain = LiquidDatabase(path=path, db=db, phase=phase, format="tdb")
    diffs: list[float] = []
    failed: list[str] = []
    for (a, b), (values, _check, _model, temperature) in curves.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                other = hmix_curve(plain, a, b, x_grid, temperature)
            diffs.append(float(np.max(np.abs(other - values))))
        except Exception:  # a binary the plain load cannot evaluate is counted, not raised
            failed.append(f"{a}-{b}")
    text = f"max |Δ| = {max(diffs):.2g} kJ/mol over {len(diffs)} binaries" if diffs else "no binary comparable"
    if failed:
        text += f"; plain load cannot evaluate {','.join(failed)}"
    return text


# -------------------------------------------------------------------------------------------------- consensus


def choose_candidate(
    candidates: Sequence[Candidate],
    disagreement_threshold: float = DEFAULT_DISAGREEMENT_KJ,
    placeholder_kj: float = DEFAULT_PLACEHOLDER_KJ,
    tie_kj: float = DEFAULT_TIE_KJ,
) -> Consensus:
    """Pick one curve among a binary's candidates by cross-file consensus.

    1. Placeholders (max |ΔH| < placeholder_kj and < PLACEHOLDER_RATIO × the largest candidate's max) are dropped.
    2. Low-confidence files (modified/incomplete copies) are set aside when any other file remains.
    3. The pointwise median of the remaining curves is the consensus; the curve with the smallest RMS distance
       to it is chosen.  Curves within tie_kj of the best are tied and the folder priority (then the path)
       decides — with exactly two remaining curves the median is their mean, so the priority always decides.
    4. The binary is flagged when the remaining curves differ by more than disagreement_threshold anywhere.
    """
    if not candidates:
        raise ValueError("choose_candidate needs at least one candidate")
    n = len(candidates)
    peaks = [float(np.max(np.abs(c.values))) for c in candidates]
    largest = max(peaks)
    reasons = [""] * n
    pool = []
    for i, peak in enumerate(peaks):
        if peak < placeholder_kj and peak < PLACEHOLDER_RATIO * largest:
            reasons[i] = f"placeholder: max |ΔH| {peak:.2g} kJ/mol while another source reaches {largest:.3g}"
        else:
            pool.append(i)
    trusted = [i for i in pool if not candidates[i].low_confidence]
    if trusted and len(trusted) < len(pool):
        for i in pool:
            if candidates[i].low_confidence:
                reasons[i] = "low confidence (modified or incomplete file): set aside, other sources exist"
        pool = trusted
    values = np.array([candidates[i].values for i in pool])
    median = np.median(values, axis=0)
    dist = np.sqrt(np.mean((values - median) ** 2, axis=1))
    tied = [pool[k] for k in range(len(pool)) if dist[k] <= dist.min() + tie_kj]
    chosen = min(tied, key=lambda i: (candidates[i].priority, candidates[i].source))
    tied_values = np.array([candidates[i].values for i in tied])
    distinct_tie = bool(np.max(np.ptp(tied_values, axis=0)) > tie_kj)
    for k, i in enumerate(pool):
        if len(pool) == 1:
            reasons[i] = "only usable candidate"
        elif i == chosen:
            reasons[i] = f"closest to the median of {len(pool)} sources (RMS {dist[k]:.2g} kJ/mol)"
            if len(tied) > 1:
                reasons[i] += f"; tie among {len(tied)} broken by folder priority"
        else:
            reasons[i] = f"not chosen: RMS {dist[k]:.2g} kJ/mol from the median of {len(pool)} sources"
    spread = values.max(axis=0) - values.min(axis=0)
    flags = []
    if spread.max() > disagreement_threshold:
        chosen_values = candidates[chosen].values
        support = sum(1 for i in pool if np.max(np.abs(candidates[i].values - chosen_values)) <= disagreement_threshold)
        flags.append(
            f"sources disagree: spread {spread.max():.1f} kJ/mol, {support}/{len(pool)} within "
            f"{disagreement_threshold:g} of the chosen"
        )
        if distinct_tie:
            flags.append("chosen by folder priority among equally central sources")
    if candidates[chosen].low_confidence:
        flags.append("low-confidence source (modified or incomplete file)")
    return Consensus(chosen=chosen, reasons=reasons, retained=pool, spread=spread, flag="; ".join(flags))


# ------------------------------------------------------------------------------------------------- the table


def _check_arguments(
    root: Path,
    x_grid: Sequence[float],
    t_offset: float,
    t_cap: float,
    threshold: float,
    single_source: tuple[float, float] = (DEFAULT_SINGLE_SOURCE_FACTOR, DEFAULT_SINGLE_SOURCE_GAP_KJ),
) -> None:
    """Reject unusable arguments with a clear InputError."""
    if not root.is_dir():
        raise InputError(root, None, "reference-data folder not found")
    x = np.asarray(x_grid, dtype=float)
    if x.ndim != 1 or len(x) == 0 or np.any(~np.isfinite(x)) or np.any((x <= 0) | (x >= 1)):
        raise InputError(None, None, f"x grid must be fractions strictly between 0 and 1, got {list(x_grid)}")
    if np.any(np.diff(x) <= 0):
        raise InputError(None, None, f"x grid must be strictly increasing, got {list(x_grid)}")
    if not (np.isfinite(t_offset) and np.isfinite(t_cap) and t_cap > 0):
        raise InputError(
            None, None, f"temperature rule needs a finite offset and a positive cap, got {t_offset}, {t_cap}"
        )
    if not (np.isfinite(threshold) and threshold > 0):
        raise InputError(None, None, f"disagreement threshold must be positive, got {threshold}")
    factor, gap = single_source
    if not (np.isfinite(factor) and np.isfinite(gap) and factor >= 0 and gap >= 0):
        raise InputError(
            None, None, f"single-source rule needs a factor and a gap that are finite and ≥ 0, got {factor}, {gap}"
        )


def derive_calphad_table(
    refdata_dir: str | Path,
    melting_points: Mapping[str, float],
    x_grid: Sequence[float] = DEFAULT_X_GRID,
    t_offset: float = DEFAULT_T_OFFSET_K,
    t_cap: float = DEFAULT_T_CAP_K,
    disagreement_threshold: float = DEFAULT_DISAGREEMENT_KJ,
    placeholder_kj: float = DEFAULT_PLACEHOLDER_KJ,
    folder_priority: Sequence[str] = DEFAULT_FOLDER_PRIORITY,
    exclude_elements: Sequence[str] = DEFAULT_EXCLUDED_ELEMENTS,
    elements: Sequence[str] = ELEMENTS,
    verify_plain_load: bool = True,
    progress: Callable[[str], None] | None = None,
    single_source_factor: float = DEFAULT_SINGLE_SOURCE_FACTOR,
    single_source_gap: float = DEFAULT_SINGLE_SOURCE_GAP_KJ,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Scan every database under refdata_dir; return (chosen ΔH_mix table, all candidates, per-file load report).

    A binary whose only file is a test/example file with a curve far weaker than Miedema's is left out of the
    chosen table (``single_source_exclusion``; factor 0 disables the rule); its candidate rows say why, and the
    file's load-report notes name it.
    """
    root = Path(refdata_dir)
    _check_arguments(root, x_grid, t_offset, t_cap, disagreement_threshold, (single_source_factor, single_source_gap))
    x = np.asarray(x_grid, dtype=float)
    files = candidate_files(root)
    report_rows: list[dict[str, object]] = []
    by_binary: dict[tuple[str, str], list[tuple[str, FileResult]]] = {}
    for k, path in enumerate(files, start=1):
        result = scan_file(
            path, root, melting_points, x, t_offset, t_cap, elements, exclude_elements, verify_plain_load
        )
        row = result.row
        report_rows.append(row)
        for key in result.curves:
            by_binary.setdefault(key, []).append((str(row["file"]), result))
        if progress is not None:
            progress(
                f"[{k}/{len(files)}] {row['file']}: {row['status']}, {row['n_binaries']} binaries, "
                f"{result.seconds:.1f} s"
            )
    chosen_rows: list[dict[str, object]] = []
    candidate_rows: list[dict[str, object]] = []
    excluded_by_file: dict[str, list[str]] = {}
    for (a, b), entries in sorted(by_binary.items()):
        cands = [
            Candidate(
                source=src,
                values=np.round(res.curves[(a, b)][0], VALUE_DECIMALS),
                priority=source_rank(src, folder_priority),
                low_confidence=is_low_confidence(src),
            )
            for src, res in entries
        ]
        decision = choose_candidate(cands, disagreement_threshold, placeholder_kj)
        best_src, best = entries[decision.chosen]
        temperature = best.curves[(a, b)][3]
        excluded = None
        if len(cands) == 1 and a in ELEMENTS and b in ELEMENTS:  # Miedema's parameters cover these
            excluded = single_source_exclusion(
                best_src, cands[0].values, miedema_hmix(a, b, x), single_source_factor, single_source_gap
            )
        if excluded is not None:
            decision.reasons[decision.chosen] = excluded
            excluded_by_file.setdefault(best_src, []).append(f"{a}-{b}")
        for i, (src, res) in enumerate(entries):
            _values, check, model, t_i = res.curves[(a, b)]
            for j, xb in enumerate(x):
                candidate_rows.append(
                    {
                        "A": a,
                        "B": b,
                        "source": src,
                        "x_B": xb,
                        "T_K": t_i,
                        "hmix_kJ_per_mol": cands[i].values[j],
                        "check_diff_kJ_per_mol": round(float(check[j]), CHECK_DECIMALS),
                        "liquid_model": model,
                        "low_confidence": cands[i].low_confidence,
                        "chosen": i == decision.chosen and excluded is None,
                        "reason": decision.reasons[i],
                    }
                )
        if excluded is not None:
            continue
        for j, xb in enumerate(x):
            chosen_rows.append(
                {
                    "A": a,
                    "B": b,
                    "x_B": xb,
                    "hmix_kJ_per_mol": cands[decision.chosen].values[j],
                    "T_K": temperature,
                    "source_type": "calphad",
                    "source": best_src,
                    "reference": best.references[(a, b)],
                    "n_candidates": len(cands),
                    "spread_kJ_per_mol": round(float(decision.spread[j]), VALUE_DECIMALS),
                    "flag": decision.flag,
                }
            )
    for row in report_rows:
        dropped = excluded_by_file.get(str(row["file"]))
        if dropped:
            note = f"excluded by the single low-quality source rule: {', '.join(dropped)} (see calphad_candidates.csv)"
            row["notes"] = " | ".join(n for n in (str(row["notes"]), note) if n)
    chosen = pd.DataFrame(chosen_rows, columns=CHOSEN_COLUMNS)
    candidates = pd.DataFrame(candidate_rows, columns=CANDIDATE_COLUMNS)
    report = pd.DataFrame(report_rows, columns=REPORT_COLUMNS)
    return chosen, candidates, report
