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

import hashlib
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sympy
from pycalphad import Database, Model, calculate, equilibrium
from pycalphad import variables as v

from hmixal.calphad_tdb import decode_tdb_bytes, filter_liquid_tdb, find_liquid_phase
from hmixal.elements import ELEMENTS
from hmixal.errors import InputError

DEFAULT_X_GRID: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# Temperature rule (METHOD.md §12, seed §3.3): the paper's data come mostly from experiments near the liquidus and
# below 2000 K, and pycalphad 0.11 ignores single-range parameter bounds, so higher T would extrapolate silently.
DEFAULT_T_OFFSET_K = 50.0
DEFAULT_T_CAP_K = 2000.0
# Sources whose ΔH_mix curves differ by more than this (kJ/mol, max over the grid) are flagged.  METHOD.md §12:
# across files the spread at x = 0.5 has median 0.5 and 90th percentile 7.5 kJ/mol.
DEFAULT_DISAGREEMENT_KJ = 5.0
# A curve whose |ΔH_mix| stays below this everywhere (kJ/mol) is a placeholder candidate (an unassessed zero,
# or an L = a·T parameter with no enthalpy) and is dropped when other files give a real curve.
DEFAULT_PLACEHOLDER_KJ = 0.5
# Candidates whose RMS distance to the median curve differ by less than this (kJ/mol) are tied.
DEFAULT_TIE_KJ = 0.05
PRESSURE_PA = 101325.0
# Non-metals among hmixal's 70 elements.  Their liquid descriptions in these databases are fitted on the metal-rich
# side only (dissolved C, B, P) and their pure liquids lie far below their melting points at ≤ 2000 K, so a
# 0.1…0.9 grid would be almost all extrapolation; excluded by default (config key), reported in the load report.
DEFAULT_EXCLUDED_ELEMENTS: tuple[str, ...] = ("B", "C", "P", "As")
# Tie-break order, most trusted first (prefixes of paths relative to the refdata folder).  Assessed multicomponent
# databases and published single assessments come before compilations known to contain placeholders (MatCalc:
# Fe–La, Fe–Zr ≈ 0), systems flagged wrong by their author (LibreCalphad header) and third-party copies.
DEFAULT_FOLDER_PRIORITY: tuple[str, ...] = (
    "cost507/",
    "hallstedt/",
    "pycalphad/",
    "kawin_examples/",
    "opencalphad_examples/",
    "thermochimica/",
    "by_student_opencalphad_examples/",
    "matcalc_opendb/",
    "librecalphad/",
    "by_student_pycalphad_examples/",
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
    "by_student_pycalphad_examples/": "literature assessment copied in github.com/by-student-2017/pycalphad-v.0.10.3-examples",
    "sgte_unary/": "SGTE unary database 5.0 (A.T. Dinsdale, Calphad 15 (1991) 317)",
}
DATABASE_SUFFIXES: tuple[str, ...] = (".tdb", ".dat", ".txt")
_TDB_SNIFF_RE = re.compile(r"^\s*ELEM[A-Z_]*\s+\S+", re.IGNORECASE | re.MULTILINE)
_URL_RE = re.compile(r"https?://\S+")

CHOSEN_COLUMNS = [
    "A",
    "B",
    "x_B",
    "hmix_kJ_per_mol",
    "T_K",
    "source_type",
    "source",
    "reference",
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
    "liquid_phase",
    "liquid_model",
    "n_binaries",
    "binaries",
    "skipped",
    "notes",
    "plain_load_check",
    "max_check_diff_kJ_per_mol",
    "seconds",
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
        raise InputError(path, None, f"pycalphad cannot read the filtered liquid: {exc}") from exc
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


def _load_chemsage(path: Path) -> LiquidDatabase:
    """Load a ChemSage .dat file with pycalphad's reader (no filtering is needed for this format)."""
    try:
        db = Database.from_file(str(path), fmt="dat")
    except Exception as exc:  # the .dat reader raises many exception types on malformed input
        raise InputError(path, None, f"pycalphad cannot read the ChemSage file: {exc}") from exc
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
    return [
        p
        for p in ldb.db._parameters.all()
        if p["phase_name"] == ldb.phase and p["parameter_type"] in ("G", "L")
    ]


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
    undefined = sorted(
        s.name for s in model.GM.free_symbols if not isinstance(s, (v.SiteFraction, v.StateVariable))
    )
    if undefined:
        raise InputError(ldb.path, None, f"{'-'.join(comps[:2])}: undefined function(s) {', '.join(undefined)}")
    return model


def hmix_curve(
    ldb: LiquidDatabase, a: str, b: str, x_grid: Sequence[float], temperature: float
) -> np.ndarray:
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
    res = calculate(
        ldb.db,
        comps,
        ldb.phase,
        T=temperature,
        P=PRESSURE_PA,
        N=1,
        points=points,
        output="HM_MIX",
        model={ldb.phase: model},
    )
    xb = np.asarray(res.X.sel(component=b.upper())).ravel()
    if not np.allclose(xb, x):  # guards against a change in pycalphad's site-fraction ordering
        raise RuntimeError(f"{ldb.path}: pycalphad returned compositions {xb}, expected {x}")
    return np.asarray(res.HM_MIX).ravel() / 1000.0


def _hmix_associate(
    ldb: LiquidDatabase, a: str, b: str, x_grid: Sequence[float], temperature: float
) -> np.ndarray:
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
    n_phases = np.asarray(eq.Phase.values.squeeze())
    n_liquids = (n_phases == ldb.phase).sum(axis=-1)
    if np.any(n_liquids != 1):
        raise InputError(ldb.path, None, f"associate liquid {a}-{b} splits into two liquids at {temperature:g} K")
    h_mix = np.asarray(eq.HM.values).squeeze()
    pure = np.zeros((2, len(model.site_fractions)))
    for j, sf in enumerate(model.site_fractions):
        pure[0, j] = 1.0 if sf.species.name in (a.upper(), "VA") else 0.0
        pure[1, j] = 1.0 if sf.species.name in (b.upper(), "VA") else 0.0
    ref = calculate(
        ldb.db, comps, ldb.phase, T=temperature, P=PRESSURE_PA, N=1, points=pure, output="HM",
        model={ldb.phase: model},
    )
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
        value = float(h_term.subs(v.T, temperature))
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


def is_low_confidence(source: str) -> bool:
    """Files edited by the uploader (``modified_*`` or inside ``*_incomplete_TDB_file/``, refdata SOURCES.md)."""
    parts = source.split("/")
    return parts[-1].lower().startswith("modified_") or any(p.endswith("_incomplete_TDB_file") for p in parts[:-1])


def folder_priority(source: str, priority: Sequence[str]) -> int:
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
    """Citation for a binary in a file: its parameters' REF codes resolved in the file's reference list,
    else a URL.txt beside the file, else the DATABASE_INFO text, else the per-folder citation."""
    codes: list[str] = []
    key_species = {a.upper(), b.upper(), *associates_for(ldb, a, b)}
    for species, refs in ldb.param_refs.items():
        if len(species) >= 2 and species <= key_species:
            codes += [c for c in refs if c not in codes]
    texts = [ldb.references[c.upper()] for c in codes if c.upper() in ldb.references]
    if texts:
        return " | ".join(dict.fromkeys(texts))
    url_file = ldb.path.parent / "URL.txt"
    if url_file.is_file():
        urls = _URL_RE.findall(url_file.read_text(encoding="latin-1"))
        if urls:
            return urls[0]
    if ldb.database_info and not source.startswith(tuple(FOLDER_CITATIONS)):
        return ldb.database_info[:200]
    return folder_citation(source)


def _skip_reason(
    ldb: LiquidDatabase, a: str, b: str, elements: Sequence[str], exclude: Sequence[str]
) -> str | None:
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
        row["seconds"] = round(time.perf_counter() - start, 3)
        return result
    row["format"] = "dat" if path.suffix.lower() == ".dat" else "tdb"
    try:
        ldb = load_liquid_database(path)
    except InputError as exc:
        row.update(status="failed", error=exc.problem)
        row["seconds"] = round(time.perf_counter() - start, 3)
        return result
    kind = liquid_model_kind(ldb)
    row.update(status="loaded", liquid_phase=ldb.phase, notes=" | ".join(ldb.notes))
    skipped: list[str] = []
    models: set[str] = set()
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
        except InputError as exc:
            skipped.append(f"{a}-{b}: {exc.problem}")
            continue
        models.add("associate" if assoc else kind)
        result.curves[(a, b)] = (values, check, model, temperature)
        result.references[(a, b)] = binary_reference(ldb, source, a, b)
    if kind != "ionic":
        row["liquid_model"] = "+".join(sorted(models)) if models else kind
    row.update(
        n_binaries=len(result.curves),
        binaries=";".join(f"{a}-{b}" for a, b in sorted(result.curves)),
        skipped=" | ".join(skipped),
        max_check_diff_kJ_per_mol=max(checks) if checks else np.nan,
    )
    if verify_plain_load and row["format"] == "tdb" and result.curves:
        row["plain_load_check"] = plain_load_check(path, result.curves, x_grid)
    row["seconds"] = round(time.perf_counter() - start, 3)
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
            db = Database(decode_tdb_bytes(path.read_bytes()))
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


def magpie_melting_points(elements: Iterable[str] = ELEMENTS) -> dict[str, float]:
    """Melting points (K) from matminer's Magpie ``MeltingT.table`` (one value per line, line number = Z)."""
    import matminer
    from pymatgen.core.periodic_table import Element

    table = Path(matminer.__file__).parent / "utils" / "data_files" / "magpie_elementdata" / "MeltingT.table"
    lines = table.read_text(encoding="utf-8").split()
    out: dict[str, float] = {}
    for el in elements:
        z = Element(el).Z
        try:
            out[el] = float(lines[z - 1])
        except (IndexError, ValueError) as exc:
            raise InputError(table, z, f"no melting point for {el}") from exc
    return out
