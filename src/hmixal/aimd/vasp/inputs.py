"""VASP input sets for NVT liquid MD: INCAR (paper settings), Γ-only KPOINTS, POSCAR, POTCAR or POTCAR.spec.

Also the POTCAR choices per functional set (pymatgen's per-functional base sets, checked against pymatgen's bundled
POTCAR summary data), the ENCUT ≥ ENMAX check, POTCAR provenance (symbols, TITEL, ENMAX, ZVAL, hashes; never
POTCAR content, which is licensed) and the electron temperature (Gaussian or Fermi smearing, with NBANDS for the
latter). Every choice is explained in docs/aimd.md, "3. Input set".
"""

from __future__ import annotations

import bz2
import functools
import hashlib
import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import yaml
from pymatgen.core import SETTINGS, Lattice, Structure
from pymatgen.io.vasp import sets as pmg_sets
from pymatgen.io.vasp.inputs import POTCAR_STATS_PATH, Incar, Kpoints, Poscar, Potcar, PotcarSingle

from hmixal.aimd.structure import LiquidCell
from hmixal.errors import InputError
from hmixal.io import write_text
from hmixal.settings import FromMapping

POTCAR_SPEC = "POTCAR.spec"

# Boltzmann constant in eV/K (CODATA 2018, exact since the 2019 SI redefinition).
K_B_EV_PER_K = 8.617333262e-5

# pymatgen's per-functional base input sets: their POTCAR key is the element → symbol choice of that release.
POTCAR_CHOICE_FILES: Mapping[str, str] = MappingProxyType({"PBE_54": "PBE54Base.yaml", "PBE_64": "PBE64Base.yaml"})
SUPPORTED_FUNCTIONALS: tuple[str, ...] = tuple(POTCAR_CHOICE_FILES)

SMEARINGS: tuple[str, ...] = ("gaussian", "fermi")
DEFAULT_SMEARING = "fermi"  # electrons at the ionic temperature; reasons in docs/aimd.md, "Electron temperature"
DEFAULT_SIGMA_EV = 0.05  # Gaussian width (gaussian smearing only)
DEFAULT_NBANDS_WINDOW_KT = 10.0  # fermi: bands reach this many k_B·T above E_F (top-band occupation ≤ e^-10)
DEFAULT_NBANDS_STATES_PER_EV_ATOM = 1.0  # fermi: assumed upper bound of the empty-state DOS, per eV, atom, spin

# Tags that this module sets itself: overriding them through extra_incar would silently undo the protocol.
# ISMEAR/SIGMA come from `smearing` (and sigma_eV), ENCUT from encut_eV (it is checked against ENMAX), NELECT from
# the POTCARs (NBANDS is derived from it); NBANDS is protected with fermi smearing only (see _protected_tags).
_PROTECTED_TAGS = frozenset(
    {"IBRION", "MDALGO", "ISIF", "TEBEG", "TEEND", "NSW", "POTIM", "ISYM", "SMASS", "ISMEAR", "SIGMA", "ENCUT",
     "NELECT"}
)  # fmt: skip


def _protected_tags(smearing: str) -> frozenset[str]:
    # with fermi smearing NBANDS must reach high enough above E_F that the top band is empty (fermi_nbands)
    return _PROTECTED_TAGS | {"NBANDS"} if smearing == "fermi" else _PROTECTED_TAGS


def _positive_int_or_none(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InputError(None, None, f"aimd vasp setting {name} must be a positive integer (or unset), got {value!r}")


@dataclass(frozen=True)
class MDSettings(FromMapping):
    """INCAR physics and numerics of the NVT runs (the paper's protocol, seed §4.2, where it speaks; docs/aimd.md)."""

    SECTION: ClassVar[str] = "aimd vasp settings"

    encut_eV: float = 400.0  # seed §4.2
    encut_enmax_factor: float = 1.0  # refuse ENCUT < factor × the largest POTCAR ENMAX
    potim_fs: float = 3.0  # seed §4.2
    smass: float = 0.0  # Nosé mass giving a thermostat period of 40 steps (VASP wiki, SMASS)
    ediff_eV: float = 1.0e-4  # per cell: 1e-6 eV/atom at 100 atoms
    smearing: str = DEFAULT_SMEARING  # "fermi": ISMEAR -1, SIGMA = k_B·T; "gaussian": ISMEAR 0, SIGMA = sigma_eV
    sigma_eV: float = DEFAULT_SIGMA_EV  # gaussian smearing only
    nbands_window_kT: float = DEFAULT_NBANDS_WINDOW_KT  # fermi smearing only
    nbands_states_per_eV_atom: float = DEFAULT_NBANDS_STATES_PER_EV_ATOM  # fermi smearing only
    prec: str = "Normal"
    algo: str = "Fast"
    lreal: str = "Auto"
    nelm: int = 100
    nelmin: int = 4
    nblock: int = 1
    nwrite: int = 1
    ncore: int | None = None  # site setting: written only when set
    maxmix: int | None = None  # site setting: written only when set
    potcar_functional: str = "PBE_54"
    potcar_overrides: Mapping[str, str] = field(default_factory=dict)  # element → POTCAR symbol
    extra_incar: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (
            "encut_eV", "encut_enmax_factor", "potim_fs", "ediff_eV", "sigma_eV", "nbands_window_kT",
            "nbands_states_per_eV_atom",
        ):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise InputError(None, None, f"aimd vasp setting {name} must be a positive number, got {value!r}")
        if not isinstance(self.smass, (int, float)) or self.smass < 0:
            # SMASS < 0 selects NVE or velocity scaling (VASP wiki, SMASS), not the Nosé–Hoover NVT run
            raise InputError(None, None, f"aimd vasp setting smass must be ≥ 0 for Nosé–Hoover, got {self.smass!r}")
        for name in ("nelm", "nelmin", "nblock"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(None, None, f"aimd vasp setting {name} must be a positive integer, got {value!r}")
        if self.nelmin > self.nelm:
            raise InputError(None, None, f"aimd vasp setting nelmin ({self.nelmin}) exceeds nelm ({self.nelm})")
        _positive_int_or_none("ncore", self.ncore)
        _positive_int_or_none("maxmix", self.maxmix)
        if self.smearing not in SMEARINGS:
            raise InputError(
                None, None, f"aimd vasp setting smearing must be one of {', '.join(SMEARINGS)}, got {self.smearing!r}"
            )
        # a setting of the other smearing mode would have no effect: say so rather than ignore it
        if self.smearing == "fermi" and self.sigma_eV != DEFAULT_SIGMA_EV:
            raise InputError(
                None, None, "sigma_eV applies to gaussian smearing only: with fermi smearing SIGMA is k_B·T of the run "
                "(set smearing: gaussian to choose a width)"
            )  # fmt: skip
        if self.smearing == "gaussian" and (
            self.nbands_window_kT != DEFAULT_NBANDS_WINDOW_KT
            or self.nbands_states_per_eV_atom != DEFAULT_NBANDS_STATES_PER_EV_ATOM
        ):
            raise InputError(
                None, None, "nbands_window_kT and nbands_states_per_eV_atom apply to fermi smearing only "
                "(gaussian runs use VASP's default NBANDS; set NBANDS through extra_incar if needed)"
            )  # fmt: skip
        _check_functional(self.potcar_functional)
        if not isinstance(self.potcar_overrides, Mapping):
            raise InputError(None, None, "potcar_overrides must map element → POTCAR symbol, e.g. {Mg: Mg}")
        _check_overrides(self.potcar_overrides, self.potcar_functional)
        extra = {str(k).upper() for k in self.extra_incar}
        clash = _protected_tags(self.smearing) & extra
        if clash:
            raise InputError(
                None, None, f"extra_incar may not set {', '.join(sorted(clash))}: the MD protocol fixes them "
                "(ENCUT, smearing, sigma_eV and the NBANDS rule have their own settings)"
            )  # fmt: skip
        for tag, name in (("NCORE", "ncore"), ("MAXMIX", "maxmix")):
            if tag in extra and getattr(self, name) is not None:
                raise InputError(None, None, f"{tag} is set twice (setting {name} and extra_incar): keep one")


# ---------------------------------------------------------------------------------------------------------
# POTCAR choices and pymatgen's POTCAR summary data


def _check_functional(functional: str) -> None:
    if not isinstance(functional, str) or functional not in POTCAR_CHOICE_FILES:
        raise InputError(
            None, None, f"potcar_functional {functional!r} is not supported: choose one of "
            f"{', '.join(SUPPORTED_FUNCTIONALS)} (the POTCAR releases with a documented choice table)"
        )  # fmt: skip


@functools.cache
def _summary_data() -> dict[str, Any]:
    # pymatgen's statistics of the genuine POTCARs (no POTCAR content): functional set → TITEL → list of variants
    with bz2.open(POTCAR_STATS_PATH, "rt", encoding="utf-8") as handle:
        return json.load(handle)


@functools.cache
def _zval_table(functional: str) -> Mapping[str, float]:
    table: dict[str, float] = {}
    for variants in _summary_data()[functional].values():
        for entry in variants:
            symbol, zval = str(entry["symbol"]), float(entry["ZVAL"])
            if table.setdefault(symbol, zval) != zval:  # never seen in the data; would make NELECT ambiguous
                raise InputError(POTCAR_STATS_PATH, None, f"{functional} {symbol}: two ZVAL values in pymatgen's data")
    return MappingProxyType(table)


def potcar_set_symbols(functional: str) -> frozenset[str]:
    """Every POTCAR symbol of a functional set according to pymatgen's bundled POTCAR summary data."""
    _check_functional(functional)
    return frozenset(_zval_table(functional))


def potcar_zval(symbol: str, functional: str) -> float:
    """ZVAL (valence electrons) of a POTCAR symbol of a functional set, from pymatgen's POTCAR summary data."""
    _check_functional(functional)
    table = _zval_table(functional)
    if symbol not in table:
        raise InputError(None, None, f"POTCAR {symbol!r} is not part of the {functional} set (pymatgen's summary data)")
    return table[symbol]


@functools.cache
def potcar_choice_table(functional: str) -> Mapping[str, str]:
    """Element → POTCAR symbol of a functional set: the POTCAR key of pymatgen's base set for it (e.g. W → W_sv)."""
    _check_functional(functional)
    path = Path(pmg_sets.__file__).parent / POTCAR_CHOICE_FILES[functional]
    if not path.is_file():
        raise InputError(path, None, f"pymatgen has no {path.name}: install pymatgen ≥ 2025.1 (docs/aimd.md)")
    with path.open(encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    if config.get("POTCAR_FUNCTIONAL") != functional:
        raise InputError(
            path, None, f"declares POTCAR_FUNCTIONAL {config.get('POTCAR_FUNCTIONAL')!r}, not {functional}"
        )
    return MappingProxyType({str(k): str(v) for k, v in config["POTCAR"].items()})


def _symbol_element(symbol: str) -> str:
    # POTCAR symbols start with the element: Ti_pv, W_sv, H1.25, Zr_sv_GW
    match = re.match(r"[A-Z][a-z]?", symbol)
    return match.group(0) if match else symbol


def _check_overrides(overrides: Mapping[str, str], functional: str) -> None:
    if not overrides:
        return  # no need to load pymatgen's summary data (0.4 s) for every settings object
    available = potcar_set_symbols(functional)
    for element, symbol in overrides.items():
        if not isinstance(element, str) or not isinstance(symbol, str):
            raise InputError(None, None, f"potcar_overrides: {element!r} → {symbol!r} must be two strings")
        options = sorted(s for s in available if _symbol_element(s) == element)
        if not options:
            raise InputError(None, None, f"potcar_overrides: {element!r} has no POTCAR in the {functional} set")
        if symbol not in available or _symbol_element(symbol) != element:
            raise InputError(
                None, None, f"potcar_overrides: {element} → {symbol!r} is not a {element} POTCAR of the {functional} "
                f"set; choose one of {', '.join(options)}"
            )  # fmt: skip


def potcar_symbols(
    elements: Sequence[str], functional: str = "PBE_54", overrides: Mapping[str, str] | None = None
) -> list[str]:
    """POTCAR symbols for the elements: ``overrides`` first, else the choice table of ``functional`` (W → W_sv)."""
    overrides = dict(overrides or {})
    _check_overrides(overrides, functional)
    table = potcar_choice_table(functional)
    missing = [e for e in elements if e not in overrides and e not in table]
    if missing:
        raise InputError(
            None, None, f"no {functional} POTCAR choice for element(s) {' '.join(missing)}: "
            "name one with potcar_overrides"
        )  # fmt: skip
    symbols = [overrides.get(e, table.get(e, "")) for e in elements]
    available = potcar_set_symbols(functional)
    absent = [s for s in symbols if s not in available]
    if absent:  # pymatgen's table and its summary data disagree: no run could find these files
        raise InputError(None, None, f"POTCAR(s) {' '.join(absent)} are not in the {functional} set")
    return symbols


def psp_directory() -> str | None:
    """pymatgen's PMG_VASP_PSP_DIR (environment variable or ~/.config/.pmgrc.yaml), or None when unset."""
    value = SETTINGS.get("PMG_VASP_PSP_DIR")
    return str(value) if value else None


# ---------------------------------------------------------------------------------------------------------
# electrons: smearing, NELECT, NBANDS


def thermal_energy_eV(temperature_K: float) -> float:
    """k_B·T in eV."""
    return K_B_EV_PER_K * float(temperature_K)


def sigma_breaks_protocol(settings: MDSettings) -> bool:
    """True when SIGMA is the physical electron temperature (fermi): a handler changing ISMEAR/SIGMA breaks the run."""
    return settings.smearing == "fermi"


def nelect(symbols: Sequence[str], counts: Sequence[int], functional: str, potcar: Potcar | None = None) -> float:
    """Valence electrons of the cell: Σ ZVAL × count, ZVAL from ``potcar`` when given, else pymatgen's summary data."""
    if len(symbols) != len(counts):
        raise InputError(None, None, f"{len(symbols)} POTCAR symbols for {len(counts)} species counts")
    if potcar is not None:
        if len(potcar) != len(counts):
            raise InputError(None, None, f"POTCAR has {len(potcar)} species, the cell {len(counts)}")
        zvals = [float(p.zval) for p in potcar]
    else:
        zvals = [potcar_zval(s, functional) for s in symbols]
    return float(sum(z * int(n) for z, n in zip(zvals, counts, strict=True)))


def vasp_default_nbands(n_electrons: float, n_ions: int) -> int:
    """VASP's default NBANDS, non-spin-polarised: max(NINT(NELECT+2)/2 + max(NIONS/2, 3), INT(0.6·NELECT))."""
    # VASP wiki "NBANDS"; integer divisions as in VASP's Fortran
    return max(int(n_electrons + 2 + 0.5) // 2 + max(n_ions // 2, 3), int(0.6 * n_electrons))


def fermi_nbands(
    n_electrons: float,
    n_ions: int,
    temperature_K: float,
    window_kT: float = DEFAULT_NBANDS_WINDOW_KT,
    states_per_eV_atom: float = DEFAULT_NBANDS_STATES_PER_EV_ATOM,
) -> int:
    """NBANDS for Fermi smearing at T: NELECT/2 occupied + the states up to ``window_kT``·k_BT above E_F, ≥ VASP's."""
    if not n_electrons > 0 or isinstance(n_ions, bool) or n_ions < 1:
        raise InputError(None, None, f"NBANDS needs NELECT > 0 and NIONS ≥ 1, got {n_electrons!r}, {n_ions!r}")
    if not np.isfinite(temperature_K) or temperature_K <= 0.0:
        raise InputError(None, None, f"temperature must be positive, got {temperature_K!r} K")
    # Bands are spin-degenerate (ISPIN = 1): NELECT/2 of them lie below E_F. Above E_F, a flat density of
    # states_per_eV_atom states per eV, atom and spin over window_kT·k_BT (docs/aimd.md, "NBANDS").
    empty = window_kT * thermal_energy_eV(temperature_K) * states_per_eV_atom * n_ions
    return max(math.ceil(n_electrons / 2.0 + empty), vasp_default_nbands(n_electrons, n_ions))


# ---------------------------------------------------------------------------------------------------------
# INCAR, KPOINTS, POSCAR


def md_incar(temperature_K: float, nsw: int, settings: MDSettings, system: str, *, nbands: int | None = None) -> Incar:
    """INCAR of an NVT Nosé–Hoover run of ``nsw`` steps at ``temperature_K`` (each tag justified in docs/aimd.md)."""
    if not np.isfinite(temperature_K) or temperature_K <= 0.0:
        raise InputError(None, None, f"temperature must be positive, got {temperature_K!r} K")
    if isinstance(nsw, bool) or not isinstance(nsw, (int, np.integer)) or nsw < 1:
        raise InputError(None, None, f"NSW must be a positive integer, got {nsw!r}")
    if nbands is not None and (isinstance(nbands, bool) or not isinstance(nbands, (int, np.integer)) or nbands < 1):
        raise InputError(None, None, f"NBANDS must be a positive integer, got {nbands!r}")
    if settings.smearing == "fermi" and nbands is None:
        # VASP's default NBANDS can leave the top band occupied at k_B·T ≈ 0.3 eV: never write a fermi INCAR without
        raise InputError(
            None, None, "fermi smearing needs NBANDS: pass nbands=fermi_nbands(...) or use write_md_inputs"
        )
    if settings.smearing == "fermi":
        # VASP's SIGMA for ISMEAR = -1 is k_B·T of the Fermi–Dirac occupations; rounded to 1e-6 eV (0.01 K)
        smearing: dict[str, Any] = {"ISMEAR": -1, "SIGMA": round(thermal_energy_eV(temperature_K), 6)}
    else:
        smearing = {"ISMEAR": 0, "SIGMA": float(settings.sigma_eV)}
    tags: dict[str, Any] = {
        "SYSTEM": system,
        "PREC": settings.prec,
        "ENCUT": float(settings.encut_eV),
        "EDIFF": float(settings.ediff_eV),
        "ALGO": settings.algo,
        "LREAL": settings.lreal,
        "NELM": settings.nelm,
        "NELMIN": settings.nelmin,
        **smearing,
        "ISPIN": 1,
        "IBRION": 0,
        "MDALGO": 2,
        "ISIF": 2,
        "SMASS": float(settings.smass),
        "TEBEG": float(temperature_K),
        "TEEND": float(temperature_K),
        "NSW": int(nsw),
        "POTIM": float(settings.potim_fs),
        "ISYM": 0,
        "NBLOCK": settings.nblock,
        "NWRITE": settings.nwrite,
        "LWAVE": False,
        "LCHARG": False,
    }
    if nbands is not None:
        tags["NBANDS"] = int(nbands)
    if settings.ncore is not None:
        tags["NCORE"] = settings.ncore
    if settings.maxmix is not None:
        tags["MAXMIX"] = settings.maxmix
    for key, value in settings.extra_incar.items():
        tags[str(key).upper()] = value
    return Incar(tags)


def gamma_kpoints() -> Kpoints:
    """Γ-point-only KPOINTS (liquid, 100-atom cell: seed §4.2)."""
    return Kpoints.gamma_automatic((1, 1, 1))


def cell_structure(cell: LiquidCell) -> Structure:
    """pymatgen Structure of a cubic liquid cell, species kept in the cell's grouped order."""
    lattice = Lattice.cubic(cell.cell_length_A)
    return Structure(lattice, list(cell.symbols), np.asarray(cell.positions), coords_are_cartesian=True)


def effective_incar(path: str | Path) -> dict[str, Any]:
    """An INCAR as a plain JSON-able dict (tag → value, sorted), e.g. after custodian's corrections."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "INCAR not found")
    incar = Incar.from_file(path)
    # numpy scalars and tuples from pymatgen's parser become plain JSON types
    return json.loads(json.dumps({k: incar[k] for k in sorted(incar)}, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set, np.ndarray)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-able")


# ---------------------------------------------------------------------------------------------------------
# POTCAR checks and provenance (hashes, never content: POTCARs are licensed)


def _datasets(data: bytes) -> list[bytes]:
    # A POTCAR file is single POTCARs concatenated, each ending with its "End of Dataset" line. Each piece is kept
    # byte for byte, so that its sha256 equals that of the POTCAR.<symbol> file it was copied from.
    pieces, current = [], b""
    for line in data.splitlines(keepends=True):
        current += line
        if b"End of Dataset" in line:
            pieces.append(current)
            current = b""
    if current.strip():
        raise InputError(None, None, "POTCAR ends without 'End of Dataset': truncated or not a POTCAR")
    return pieces


def _read_singles(path: Path) -> list[tuple[PotcarSingle, bytes]]:
    if not path.is_file():
        raise InputError(path, None, "POTCAR not found")
    try:
        pieces = _datasets(path.read_bytes())
    except InputError as exc:
        raise InputError(path, None, exc.problem) from None
    if not pieces:
        raise InputError(path, None, "no POTCAR dataset in the file")
    singles = []
    with warnings.catch_warnings():
        # pymatgen warns on POTCARs missing from its hash database; that is its check, not ours to fail on
        warnings.simplefilter("ignore", UserWarning)
        for piece in pieces:
            try:
                single = PotcarSingle(piece.decode("utf-8", errors="replace"))
            except (IndexError, KeyError, ValueError) as exc:
                raise InputError(path, None, f"unreadable POTCAR dataset: {exc}") from exc
            singles.append((single, piece))
    return singles


def _potcar_singles(potcar: str | Path | Potcar) -> tuple[Path | None, list[PotcarSingle]]:
    if isinstance(potcar, Potcar):
        return None, list(potcar)
    path = Path(potcar)
    return path, [single for single, _ in _read_singles(path)]


def _keyword(single: PotcarSingle, name: str, where: Path | None) -> Any:
    if name not in single.keywords:
        raise InputError(where, None, f"POTCAR {single.symbol}: no {name} in its header")
    return single.keywords[name]


def _encut_of(incar_or_settings: Incar | Mapping[str, Any] | MDSettings | str | Path) -> tuple[float, str]:
    if isinstance(incar_or_settings, MDSettings):
        return float(incar_or_settings.encut_eV), "encut_eV"
    if isinstance(incar_or_settings, (str, Path)):
        path = Path(incar_or_settings)
        if not path.is_file():
            raise InputError(path, None, "INCAR not found")
        incar_or_settings = Incar.from_file(path)
    encut = incar_or_settings.get("ENCUT")
    if encut is None:
        # without ENCUT VASP takes ENMAX of the POTCARs, different for every cell: no shared basis
        raise InputError(None, None, "INCAR has no ENCUT: the protocol fixes one for every run (encut_eV)")
    return float(encut), "ENCUT"


def check_encut(
    potcar: str | Path | Potcar,
    incar_or_settings: Incar | Mapping[str, Any] | MDSettings | str | Path,
    factor: float | None = None,
) -> None:
    """Refuse (InputError) an ENCUT below factor × ENMAX of any POTCAR (factor: settings' encut_enmax_factor or 1)."""
    if factor is None:
        factor = incar_or_settings.encut_enmax_factor if isinstance(incar_or_settings, MDSettings) else 1.0
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
        raise InputError(None, None, f"ENCUT/ENMAX factor must be a positive number, got {factor!r}")
    encut, _ = _encut_of(incar_or_settings)
    path, singles = _potcar_singles(potcar)
    low = []
    for single in singles:
        enmax = float(_keyword(single, "ENMAX", path))
        if encut < factor * enmax:
            low.append((single, enmax))
    if low:
        needed = max(factor * enmax for _, enmax in low)
        which = "; ".join(f"{s.element} ({s.symbol}): ENMAX = {enmax:g} eV" for s, enmax in low)
        elements = ", ".join(sorted({s.element for s, _ in low}))
        raise InputError(
            path, None, f"ENCUT = {encut:g} eV is below {factor:g} × ENMAX for {which}. Either raise encut_eV to "
            f"≥ {math.ceil(needed)} eV (for every run of the campaign, pure elements included: one basis for all), "
            f"or choose another POTCAR for {elements} with potcar_overrides"
        )  # fmt: skip


def check_potcar_matches(potcar: str | Path | Potcar, elements: Sequence[str], settings: MDSettings) -> None:
    """Refuse (InputError) a POTCAR whose symbols (in order) are not the ones the settings choose for ``elements``."""
    path, singles = _potcar_singles(potcar)
    expected = potcar_symbols(elements, settings.potcar_functional, settings.potcar_overrides)
    found = [s.symbol for s in singles]
    if found != expected:
        raise InputError(
            path, None, f"POTCAR holds {' '.join(found) or 'nothing'}, the POSCAR species ({' '.join(elements)}) "
            f"need {' '.join(expected)} in this order: write the inputs again with PMG_VASP_PSP_DIR set"
        )  # fmt: skip


def potcar_provenance(potcar_path: str | Path, functional: str | None = None) -> list[dict[str, Any]]:
    """Per POTCAR in the file: element, symbol, TITEL, ENMAX, ZVAL, sha256 of its text, functional set(s)."""
    path = Path(potcar_path)
    records = []
    for single, piece in _read_singles(path):
        titel = str(_keyword(single, "TITEL", path))
        if functional is not None:
            sets = [functional]
        else:
            # the sets whose summary data list this TITEL for this symbol (a TITEL can belong to several releases)
            key = titel.replace(" ", "")
            sets = [
                name for name in SUPPORTED_FUNCTIONALS
                if any(v["symbol"] == single.symbol for v in _summary_data()[name].get(key, []))
            ]  # fmt: skip
        records.append(
            {
                "element": single.element,
                "symbol": single.symbol,
                "TITEL": titel,
                "ENMAX": float(_keyword(single, "ENMAX", path)),
                "ZVAL": float(_keyword(single, "ZVAL", path)),
                "sha256": hashlib.sha256(piece).hexdigest(),
                "functional": "/".join(sets) if sets else None,
            }
        )
    return records


# ---------------------------------------------------------------------------------------------------------
# writing a run directory


@dataclass(frozen=True)
class InputReport:
    """What was written: the files, the POTCAR symbols, whether a POTCAR exists, what to do if not, provenance."""

    directory: Path
    files: tuple[str, ...]
    potcar_symbols: tuple[str, ...]
    potcar_written: bool
    message: str
    potcar_provenance: tuple[dict[str, Any], ...] = ()
    nbands: int | None = None


def missing_potcar_message(directory: Path, symbols: Sequence[str]) -> str:
    """The message telling a user that a run cannot start without POTCARs, and how to fix it."""
    return (
        f"{directory}: no POTCAR written, so VASP cannot run here. Set PMG_VASP_PSP_DIR (environment or "
        f"~/.config/.pmgrc.yaml) to your licensed VASP PAW potentials and write the inputs again, or "
        f"concatenate the POTCARs listed in {POTCAR_SPEC} ({' '.join(symbols)}) into {directory / 'POTCAR'}. "
        "ENCUT against the POTCARs' ENMAX could not be checked without them; it is checked when the POTCAR is "
        "written and before each segment."
    )


def _build_potcar(symbols: Sequence[str], functional: str) -> Potcar:
    try:
        with warnings.catch_warnings():
            # pymatgen warns on POTCARs missing from its hash database; that is its check, not ours to fail on
            warnings.simplefilter("ignore", UserWarning)
            return Potcar(list(symbols), functional=functional)
    except (OSError, ValueError) as exc:
        raise InputError(None, None, f"cannot build POTCAR {' '.join(symbols)} ({functional}): {exc}") from exc


def write_md_inputs(
    directory: str | Path,
    poscar: Poscar,
    temperature_K: float,
    nsw: int,
    settings: MDSettings,
    system: str,
) -> InputReport:
    """Write INCAR, KPOINTS, POSCAR and POTCAR (via pymatgen) or, without PMG_VASP_PSP_DIR, POTCAR.spec."""
    directory = Path(directory)
    elements = list(poscar.site_symbols)
    counts = [int(n) for n in poscar.natoms]
    symbols = potcar_symbols(elements, settings.potcar_functional, settings.potcar_overrides)
    # everything is checked before the first file is written, so a refused input leaves no half-written directory
    potcar = _build_potcar(symbols, settings.potcar_functional) if psp_directory() is not None else None
    if potcar is not None:
        check_encut(potcar, settings)
    nbands = None
    if settings.smearing == "fermi":
        n_electrons = nelect(symbols, counts, settings.potcar_functional, potcar)
        nbands = fermi_nbands(
            n_electrons, sum(counts), temperature_K, settings.nbands_window_kT, settings.nbands_states_per_eV_atom
        )
    incar = md_incar(temperature_K, nsw, settings, system, nbands=nbands)
    directory.mkdir(parents=True, exist_ok=True)
    write_text(str(incar), directory / "INCAR")
    write_text(str(gamma_kpoints()), directory / "KPOINTS")
    write_text(poscar.get_str(significant_figures=12), directory / "POSCAR")
    files = ["INCAR", "KPOINTS", "POSCAR"]
    if potcar is None:
        write_text("\n".join(symbols) + "\n", directory / POTCAR_SPEC)
        (directory / "POTCAR").unlink(missing_ok=True)  # a stale POTCAR could belong to other species
        files.append(POTCAR_SPEC)
        message = missing_potcar_message(directory, symbols)
        return InputReport(directory, tuple(files), tuple(symbols), False, message, (), nbands)
    write_text(str(potcar), directory / "POTCAR")
    (directory / POTCAR_SPEC).unlink(missing_ok=True)
    files.append("POTCAR")
    provenance = tuple(potcar_provenance(directory / "POTCAR", settings.potcar_functional))
    message = f"{directory}: VASP inputs complete"
    return InputReport(directory, tuple(files), tuple(symbols), True, message, provenance, nbands)


def rescaled_poscar(poscar: Poscar, volume_A3: float) -> Poscar:
    """The same configuration (fractional coordinates and velocities kept) in a cell scaled to ``volume_A3``."""
    if not np.isfinite(volume_A3) or volume_A3 <= 0.0:
        raise InputError(None, None, f"volume must be positive, got {volume_A3!r}")
    structure = poscar.structure.copy()
    structure.scale_lattice(volume_A3)
    return Poscar(structure, velocities=poscar.velocities)
