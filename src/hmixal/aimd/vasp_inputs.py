"""VASP input sets for NVT liquid MD: INCAR (paper settings), Γ-only KPOINTS, POSCAR, POTCAR or POTCAR.spec."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import SETTINGS, Lattice, Structure
from pymatgen.io.vasp.inputs import Incar, Kpoints, Poscar, Potcar
from pymatgen.io.vasp.sets import MPRelaxSet

from hmixal.aimd.structure import LiquidCell
from hmixal.errors import InputError, reject_unknown_keys
from hmixal.io import write_text

POTCAR_SPEC = "POTCAR.spec"

# Tags that this module sets itself: overriding them through extra_incar would silently undo the protocol.
_PROTECTED_TAGS = frozenset({"IBRION", "MDALGO", "ISIF", "TEBEG", "TEEND", "NSW", "POTIM", "ISYM", "SMASS"})


@dataclass(frozen=True)
class MDSettings:
    """INCAR physics and numerics of the NVT runs (defaults: the paper's protocol, seed §4.2; see docs/aimd.md)."""

    encut_eV: float = 400.0  # seed §4.2
    potim_fs: float = 3.0  # seed §4.2
    smass: float = 0.0  # Nosé mass giving a thermostat period of 40 steps (VASP wiki, SMASS)
    ediff_eV: float = 1.0e-4  # per cell: 1e-6 eV/atom at 100 atoms
    ismear: int = 0  # Gaussian smearing
    sigma_eV: float = 0.05  # keeps the smearing entropy below 1 meV/atom (LargeSigmaHandler's test)
    prec: str = "Normal"
    algo: str = "Fast"
    lreal: str = "Auto"
    nelm: int = 100
    nelmin: int = 4
    nblock: int = 1
    nwrite: int = 1
    potcar_functional: str = "PBE_54"
    extra_incar: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("encut_eV", "potim_fs", "ediff_eV", "sigma_eV"):
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
        clash = _PROTECTED_TAGS & {str(k).upper() for k in self.extra_incar}
        if clash:
            raise InputError(
                None, None, f"extra_incar may not set {', '.join(sorted(clash))}: the MD protocol fixes them"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> MDSettings:
        """Settings from a config mapping with the field names as keys (unknown keys are an error)."""
        reject_unknown_keys(values, (f.name for f in fields(cls)), "aimd vasp settings")
        return cls(**dict(values))


def md_incar(temperature_K: float, nsw: int, settings: MDSettings, system: str) -> Incar:
    """INCAR of an NVT Nosé–Hoover run of ``nsw`` steps at ``temperature_K`` (each tag justified in docs/aimd.md)."""
    if not np.isfinite(temperature_K) or temperature_K <= 0.0:
        raise InputError(None, None, f"temperature must be positive, got {temperature_K!r} K")
    if isinstance(nsw, bool) or not isinstance(nsw, (int, np.integer)) or nsw < 1:
        raise InputError(None, None, f"NSW must be a positive integer, got {nsw!r}")
    tags: dict[str, Any] = {
        "SYSTEM": system,
        "PREC": settings.prec,
        "ENCUT": float(settings.encut_eV),
        "EDIFF": float(settings.ediff_eV),
        "ALGO": settings.algo,
        "LREAL": settings.lreal,
        "NELM": settings.nelm,
        "NELMIN": settings.nelmin,
        "ISMEAR": settings.ismear,
        "SIGMA": float(settings.sigma_eV),
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


def potcar_symbols(elements: Sequence[str]) -> list[str]:
    """POTCAR symbols for the elements: the Materials Project choices in pymatgen's MPRelaxSet (e.g. Ti → Ti_pv)."""
    choices = MPRelaxSet.CONFIG["POTCAR"]
    missing = [e for e in elements if e not in choices]
    if missing:
        raise InputError(None, None, f"no POTCAR choice for element(s) {' '.join(missing)}")
    return [choices[e] for e in elements]


def psp_directory() -> str | None:
    """pymatgen's PMG_VASP_PSP_DIR (environment variable or ~/.config/.pmgrc.yaml), or None when unset."""
    value = SETTINGS.get("PMG_VASP_PSP_DIR")
    return str(value) if value else None


@dataclass(frozen=True)
class InputReport:
    """What was written: the files, the POTCAR symbols, whether a POTCAR exists, and what to do if not."""

    directory: Path
    files: tuple[str, ...]
    potcar_symbols: tuple[str, ...]
    potcar_written: bool
    message: str


def missing_potcar_message(directory: Path, symbols: Sequence[str]) -> str:
    """The message telling a user that a run cannot start without POTCARs, and how to fix it."""
    return (
        f"{directory}: no POTCAR written, so VASP cannot run here. Set PMG_VASP_PSP_DIR (environment or "
        f"~/.config/.pmgrc.yaml) to your licensed VASP PAW potentials and write the inputs again, or "
        f"concatenate the POTCARs listed in {POTCAR_SPEC} ({' '.join(symbols)}) into {directory / 'POTCAR'}."
    )


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
    directory.mkdir(parents=True, exist_ok=True)
    elements = list(poscar.site_symbols)
    symbols = potcar_symbols(elements)
    write_text(str(md_incar(temperature_K, nsw, settings, system)), directory / "INCAR")
    write_text(str(gamma_kpoints()), directory / "KPOINTS")
    write_text(poscar.get_str(significant_figures=12), directory / "POSCAR")
    files = ["INCAR", "KPOINTS", "POSCAR"]
    if psp_directory() is None:
        write_text("\n".join(symbols) + "\n", directory / POTCAR_SPEC)
        (directory / "POTCAR").unlink(missing_ok=True)  # a stale POTCAR could belong to other species
        files.append(POTCAR_SPEC)
        return InputReport(directory, tuple(files), tuple(symbols), False, missing_potcar_message(directory, symbols))
    try:
        with warnings.catch_warnings():
            # pymatgen warns on POTCARs missing from its hash database; that is its check, not ours to fail on
            warnings.simplefilter("ignore", UserWarning)
            potcar = Potcar(symbols, functional=settings.potcar_functional)
    except (OSError, ValueError) as exc:
        raise InputError(None, None, f"cannot build POTCAR {' '.join(symbols)}: {exc}") from exc
    write_text(str(potcar), directory / "POTCAR")
    (directory / POTCAR_SPEC).unlink(missing_ok=True)
    files.append("POTCAR")
    return InputReport(directory, tuple(files), tuple(symbols), True, f"{directory}: VASP inputs complete")


def rescaled_poscar(poscar: Poscar, volume_A3: float) -> Poscar:
    """The same configuration (fractional coordinates and velocities kept) in a cell scaled to ``volume_A3``."""
    if not np.isfinite(volume_A3) or volume_A3 <= 0.0:
        raise InputError(None, None, f"volume must be positive, got {volume_A3!r}")
    structure = poscar.structure.copy()
    structure.scale_lattice(volume_A3)
    return Poscar(structure, velocities=poscar.velocities)
