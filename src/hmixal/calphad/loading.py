"""Loading a database's liquid phase and listing the binaries it describes.

TDB files go through the tolerant reader (``hmixal.calphad.tdb``), ChemSage .dat files through pycalphad's
reader; a failure becomes an InputError that names the file and, where known, the line.  Also here: which files
under a folder may be databases, the liquid's constituents and model kind, and its binaries and associates.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import sympy
from pycalphad import Database
from pycalphad import variables as v

from hmixal.calphad.tdb import LiquidTdb, decode_tdb_bytes, filter_liquid_tdb, find_liquid_phase
from hmixal.errors import InputError

DATABASE_SUFFIXES: tuple[str, ...] = (".tdb", ".dat", ".txt")
_TDB_SNIFF_RE = re.compile(r"^\s*ELEM[A-Z_]*\s+\S+", re.IGNORECASE | re.MULTILINE)


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
        raise InputError(path, line, f"pycalphad cannot read{what}: {plain_error(exc)}") from exc
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


def plain_error(exc: Exception) -> str:
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
        raise InputError(path, None, f"pycalphad cannot read the ChemSage file: {plain_error(exc)}") from exc
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


def liquid_parameters(ldb: LiquidDatabase) -> list[dict]:
    """The liquid's G and L parameter records."""
    return [p for p in ldb.db._parameters.all() if p["phase_name"] == ldb.phase and p["parameter_type"] in ("G", "L")]


def liquid_binaries(ldb: LiquidDatabase) -> list[tuple[str, str]]:
    """Element pairs (hmixal symbols, alphabetical) with a non-zero liquid interaction or associate parameter."""
    if liquid_model_kind(ldb) == "ionic":
        return []
    pairs: set[tuple[str, str]] = set()
    for p in liquid_parameters(ldb):
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
