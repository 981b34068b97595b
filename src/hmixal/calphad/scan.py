"""One database file's contribution to the CALPHAD tables.

``scan_file`` loads a file and computes ΔH_mix for each usable binary of its liquid; every problem (unreadable
file, skipped binary, failed check) ends up in the file's load-report row rather than stopping the build.  Also
here: the citation of each binary (``binary_reference``) and the comparison with pycalphad's plain reader
(``plain_load_check``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pycalphad import Database

from hmixal.calphad.curves import hmix_curve, hmix_excess, liquid_temperature
from hmixal.calphad.loading import (
    LiquidDatabase,
    associates_for,
    is_database_file,
    liquid_binaries,
    liquid_model_kind,
    load_liquid_database,
    plain_error,
)
from hmixal.calphad.tdb import decode_tdb_bytes, find_liquid_phase
from hmixal.errors import InputError

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
_URL_RE = re.compile(r"https?://\S+")
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
class FileResult:
    """What one file contributed: a load-report row and its candidate curves (binary → values)."""

    row: dict[str, object]
    curves: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, str, float]] = field(default_factory=dict)
    references: dict[tuple[str, str], str] = field(default_factory=dict)
    seconds: float = 0.0


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
        row.update(status="failed", error=f"unexpected {plain_error(exc)}")
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
        # Associate binaries are computed by internal equilibrium of the liquid's species (curves._hmix_associate).
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
