"""Parse VASP MD output (OSZICAR, OUTCAR, XDATCAR) into the engine-agnostic per-step table; flag killed runs.

The table has the columns of THERMO_COLUMNS (shared with the EMT engine and consumed by
``hmixal.aimd.trace``): step, time_fs, temperature_K, etotal_eV, epot_eV, pressure_kbar, plus
volume_A3 and the VASP details e0_eV, ekin_eV, thermostat_eV, conserved_eV, scf_steps and (when OUTCAR
has it, as every VASP ≥ 4 OUTCAR does) eint_eV. Energies are per cell.

- epot_eV is F, the free energy TOTEN the ions move on; with Gaussian smearing and SIGMA = 0.05 eV it differs
  from E0 (σ → 0) by far less than 1 meV/atom (the LargeSigmaHandler keeps it so); E0 is kept as e0_eV.
  With Fermi smearing at the ionic temperature F = E − TS is the electrons' free energy (see eint_eV).
- etotal_eV = F + EK, the physical energy of the cell. OSZICAR's E also contains the Nosé thermostat's
  energies SP + SK, which belong to the thermostat, not to the liquid; they are kept as thermostat_eV.
- conserved_eV is OSZICAR's E = F + EK + SP + SK, the quantity Nosé–Hoover dynamics conserves; its drift
  measures integration and SCF errors (hmixal.aimd.checks).
- scf_steps is the number of electronic iterations of the step (the OSZICAR lines "DAV:", "RMM:", "CG :", …
  before its MD line). VASP moves the ions on after NELM iterations even if EDIFF was not reached, so a step
  with scf_steps = NELM (kept per segment as MDSegment.nelm) had unconverged forces.
- eint_eV is OUTCAR's "energy  without entropy" of the ionic step, E = F + TS: the electronic internal
  energy. With Fermi smearing at the ionic temperature the enthalpy takes E + EK, not F + EK.
- pressure_kbar is OUTCAR's "total pressure" (trace of the stress / 3 plus the ideal-gas term of the ions,
  VASP ≥ 5.4.4). Older OUTCARs without it: "external pressure" + "Pullay stress" + 2·EK/(3V).

A run killed by the batch system leaves a half-written last step and no timing footer in OUTCAR. That is
never averaged silently: parse_md_segment raises TruncatedRunError unless allow_truncated=True, in which
case only complete steps are returned and the segment is marked truncated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pymatgen.io.vasp.inputs import Incar
from pymatgen.io.vasp.outputs import Oszicar

from hmixal.aimd.frames import Frames, make_frames
from hmixal.errors import InputError

THERMO_COLUMNS = ("step", "time_fs", "temperature_K", "etotal_eV", "epot_eV", "pressure_kbar")
VASP_EXTRA_COLUMNS = ("e0_eV", "ekin_eV", "thermostat_eV", "volume_A3", "conserved_eV", "scf_steps")
VASP_OPTIONAL_COLUMNS = ("eint_eV",)  # only when OUTCAR has "energy  without entropy" lines
DEFAULT_NELM = 60  # VASP's default NELM (VASP wiki, NELM)
EV_PER_A3_IN_KBAR = 1602.1766208  # 1 eV/Å^3 = 160.21766208 GPa (CODATA 2018 elementary charge)

_MD_FIELDS = ("T", "E", "F", "E0", "EK", "SP", "SK")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][-+]?\d+)?"
_MD_LINE = re.compile(r"^\s*(\d+)\s+" + r"\s+".join(rf"{name}=\s*({_NUMBER})" for name in _MD_FIELDS) + r"\s*$")
_MD_LINE_START = re.compile(r"^\s*\d+\s+T=")
# An electronic iteration: algorithm tag (DAV, RMM, CG , SDA, EDD, …), colon, iteration number, values
_SCF_LINE_START = re.compile(r"^\s*[A-Z]{2,3} ?:")
_SCF_LINE = re.compile(r"^\s*[A-Z]{2,3} ?:\s*(\d+)\s+\S")
# OUTCAR's block after each ionic step: title, dashes, "free  energy   TOTEN", blank, "energy  without entropy".
# The per-iteration blocks (NWRITE ≥ 2) are titled "Free energy of the ion-electron system" and must not be
# counted as steps, so the two lines are read only within a few lines of the ionic block's title.
_IONIC_ENERGY_BLOCK = "FREE ENERGIE OF THE ION-ELECTRON SYSTEM"
_IONIC_ENERGY_LINES = 6
_TOTEN = re.compile(r"free\s+energy\s+TOTEN\s*=\s*(\S+)")
_WITHOUT_ENTROPY = re.compile(r"energy\s+without\s+entropy\s*=\s*(\S+)")
_FOOTER = "General timing and accounting"


class TruncatedRunError(InputError):
    """A VASP run's output ends mid-step (killed run); the message says how many steps are complete."""


@dataclass(frozen=True)
class MDSegment:
    """One VASP MD execution's parsed output: the per-step table and what is known about the run."""

    directory: Path
    table: pd.DataFrame
    symbols: tuple[str, ...]
    counts: dict[str, int]
    potim_fs: float
    nsw: int
    nelm: int
    temperature_target_K: float
    volume_A3: float
    terminated_normally: bool
    truncated: bool
    pressure_source: str
    issues: tuple[str, ...] = field(default=())

    @property
    def n_atoms(self) -> int:
        """Number of atoms in the cell."""
        return sum(self.counts.values())

    @property
    def n_steps(self) -> int:
        """Number of complete MD steps."""
        return len(self.table)


@dataclass(frozen=True)
class OszicarSteps:
    """MD steps of an OSZICAR (step, T, E, F, E0, EK, SP, SK, scf_steps) and whether its last line was cut off."""

    steps: pd.DataFrame  # columns step + _MD_FIELDS + scf_steps
    partial_last_line: bool


@dataclass(frozen=True)
class OutcarPressures:
    """Per-step pressures (kbar) and energies (eV), cell volume, ion count and whether the footer was written."""

    total_pressure: list[float]
    external_pressure: list[float]
    pulay_stress: list[float]
    free_energy: list[float]  # TOTEN of each ionic step's "FREE ENERGIE" block
    energy_without_entropy: list[float]  # "energy  without entropy" of the same blocks
    volume_A3: float | None
    n_ions: int | None
    footer: bool
    started_blocks: int


def _float(text: str, path: Path, line: int) -> float:
    try:
        value = float(text.replace("D", "E").replace("d", "e"))
    except ValueError:
        raise InputError(path, line, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(path, line, f"{text!r} is not a finite number")
    return value


def read_oszicar_md(path: str | Path) -> OszicarSteps:
    """MD steps of an OSZICAR (values through pymatgen's Oszicar, each line checked complete and in sequence).

    Each step's scf_steps is the number of electronic iterations printed before its MD line; the iteration
    numbers must run 1, 2, … within a step.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "OSZICAR not found")
    raw = path.read_text(errors="replace")
    lines = raw.splitlines(keepends=True)
    checked: list[tuple[int, int]] = []  # (line number, step)
    scf_counts: list[int] = []
    iterations = 0  # electronic iterations since the last MD line
    partial = False
    for number, line in enumerate(lines, start=1):
        is_last = number == len(lines)
        if _SCF_LINE_START.match(line):
            scf = _SCF_LINE.match(line)
            if scf is None:
                if is_last:
                    continue  # cut mid-line; the step it belongs to is incomplete anyway
                raise InputError(path, number, f"malformed electronic-iteration line: {line.strip()!r}")
            if int(scf.group(1)) != iterations + 1:
                raise InputError(
                    path, number, f"electronic iteration {scf.group(1)} where iteration {iterations + 1} was expected"
                )
            iterations += 1
            continue
        if not _MD_LINE_START.match(line):
            continue
        match = _MD_LINE.match(line)
        if match is None or not line.endswith("\n"):
            if is_last:
                partial = True  # killed while VASP wrote this line
                continue
            raise InputError(path, number, f"malformed MD line: {line.strip()!r}")
        for value in match.groups()[1:]:
            _float(value, path, number)
        checked.append((number, int(match.group(1))))
        scf_counts.append(iterations)
        iterations = 0
    steps = [s for _, s in checked]
    if steps and steps != list(range(1, len(steps) + 1)):
        bad = next(i for i, s in enumerate(steps) if s != i + 1)
        raise InputError(path, checked[bad][0], f"MD step {steps[bad]} where step {bad + 1} was expected")
    # pymatgen reads every non-electronic line as an ionic step; keep those that are MD lines
    md_dicts = [d for d in Oszicar(path).ionic_steps if "T" in d]
    if partial:
        md_dicts = md_dicts[: len(checked)]
    if len(md_dicts) != len(checked) or any(set(_MD_FIELDS) - set(d) for d in md_dicts):
        raise InputError(path, None, f"pymatgen read {len(md_dicts)} MD steps where {len(checked)} lines are MD steps")
    frame = pd.DataFrame(md_dicts, columns=list(_MD_FIELDS)).astype(float)
    frame.insert(0, "step", np.asarray(steps, dtype=int))
    frame["scf_steps"] = np.asarray(scf_counts, dtype=int)
    return OszicarSteps(frame, partial)


def read_outcar_md(path: str | Path) -> OutcarPressures:
    """Per-step pressures and energies, the cell volume, the ion count and whether the timing footer was written."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "OUTCAR not found")
    total: list[float] = []
    external: list[float] = []
    pulay: list[float] = []
    free: list[float] = []
    without_entropy: list[float] = []
    block_start = -_IONIC_ENERGY_LINES  # line number of the last ionic energy block's title
    volume = None
    n_ions = None
    footer = False
    started = 0
    with path.open(errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if "FORCE on cell =-STRESS" in line:
                started += 1
            elif _IONIC_ENERGY_BLOCK in line:
                block_start = number  # a block lacking a line shows up as a count mismatch in parse_md_segment
            elif number - block_start <= _IONIC_ENERGY_LINES and (toten := _TOTEN.search(line)):
                free.append(_float(toten.group(1), path, number))
            elif number - block_start <= _IONIC_ENERGY_LINES and (entropy := _WITHOUT_ENTROPY.search(line)):
                without_entropy.append(_float(entropy.group(1), path, number))
            elif "total pressure" in line and "=" in line:
                total.append(_float(line.split("=")[1].split()[0], path, number))
            elif "external pressure =" in line:
                parts = line.split("=")
                external.append(_float(parts[1].split()[0], path, number))
                pulay.append(_float(parts[2].split()[0], path, number) if len(parts) > 2 else 0.0)
            elif "volume of cell :" in line:
                volume = _float(line.split(":")[1].split()[0], path, number)
            elif "NIONS =" in line:
                n_ions = int(_float(line.split("NIONS =")[1].split()[0], path, number))
            elif _FOOTER in line:
                footer = True
    return OutcarPressures(total, external, pulay, free, without_entropy, volume, n_ions, footer, started)


def _poscar_species(path: Path) -> tuple[tuple[str, ...], dict[str, int]]:
    lines = path.read_text().splitlines()
    if len(lines) < 7:
        raise InputError(path, None, "too short to be a POSCAR")
    species = lines[5].split()
    try:
        counts = [int(c) for c in lines[6].split()]
    except ValueError:
        raise InputError(path, 7, "expected the counts of each species (VASP 5 format with a species line)") from None
    if len(species) != len(counts) or not species:
        raise InputError(path, 6, "species and counts lines do not match")
    symbols = tuple(s for s, c in zip(species, counts, strict=True) for _ in range(c))
    return symbols, dict(zip(species, counts, strict=True))


def parse_md_segment(directory: str | Path, allow_truncated: bool = False) -> MDSegment:
    """Parse one VASP MD execution (INCAR, POSCAR, OSZICAR, OUTCAR) into an MDSegment.

    Raises TruncatedRunError for a killed run unless ``allow_truncated``; then only complete steps are kept.
    """
    directory = Path(directory)
    incar_path = directory / "INCAR"
    if not incar_path.is_file():
        raise InputError(incar_path, None, "INCAR not found")
    incar = Incar.from_file(incar_path)
    if int(incar.get("IBRION", -1)) != 0:
        raise InputError(incar_path, None, f"IBRION = {incar.get('IBRION')} is not an MD run (IBRION = 0)")
    potim = float(incar.get("POTIM", 0.5))
    nsw = int(incar.get("NSW", 0))
    nelm = int(incar.get("NELM", DEFAULT_NELM))
    t_target = float(incar.get("TEBEG", float("nan")))
    symbols, counts = _poscar_species(directory / "POSCAR")
    osz = read_oszicar_md(directory / "OSZICAR")
    out = read_outcar_md(directory / "OUTCAR")
    issues: list[str] = []
    if out.n_ions is not None and out.n_ions != len(symbols):
        raise InputError(directory / "OUTCAR", None, f"NIONS = {out.n_ions} but POSCAR has {len(symbols)} atoms")

    n_osz = len(osz.steps)
    use_total = len(out.total_pressure) > 0
    pressures = out.total_pressure if use_total else out.external_pressure
    n_out = len(pressures)
    vasprun = directory / "vasprun.xml"
    xml_closed = vasprun.is_file() and "</modeling>" in _tail(vasprun)
    # every ionic step of a VASP OUTCAR has its energy block; none at all is an OUTCAR written otherwise
    has_eint = len(out.energy_without_entropy) > 0
    n_eint = len(out.energy_without_entropy) if has_eint else n_out
    truncated = osz.partial_last_line or not out.footer or n_out != n_osz or n_eint != n_out or not xml_closed
    if truncated:
        n_ok = min(n_osz, n_out, n_eint)
        why = []
        if osz.partial_last_line:
            why.append("OSZICAR ends in a half-written line")
        if not out.footer:
            why.append("OUTCAR has no timing footer")
        if n_out != n_osz:
            why.append(f"OSZICAR has {n_osz} steps, OUTCAR {n_out} pressures")
        if n_eint != n_out:
            why.append(f"OUTCAR has {n_out} pressures but {n_eint} 'energy  without entropy' lines")
        if not xml_closed:
            why.append("vasprun.xml is missing or not closed")
        message = f"run was cut off ({'; '.join(why)}); {n_ok} complete steps"
        if not allow_truncated:
            raise TruncatedRunError(directory, None, message + " (pass allow_truncated=True to use them)")
        issues.append(message)
    else:
        n_ok = n_osz
    if n_ok == 0 and not truncated:
        raise InputError(directory / "OSZICAR", None, "no MD steps")

    steps = osz.steps.iloc[:n_ok].reset_index(drop=True)
    volume = out.volume_A3
    if volume is None:
        raise InputError(directory / "OUTCAR", None, "no 'volume of cell' line")
    if use_total:
        pressure = np.asarray(out.total_pressure[:n_ok], dtype=float)
        source = "OUTCAR total pressure"
    else:
        # VASP's total pressure is trace(stress)/3 + kinetic; external = trace/3 − PSTRESS ("Pullay stress")
        kinetic = 2.0 * steps["EK"].to_numpy() / (3.0 * volume) * EV_PER_A3_IN_KBAR
        pressure = np.asarray(out.external_pressure[:n_ok]) + np.asarray(out.pulay_stress[:n_ok]) + kinetic
        source = "OUTCAR external pressure + Pullay stress + 2 EK/(3V)"
        issues.append("no 'total pressure' lines (VASP < 5.4.4?): kinetic pressure computed from EK")
    table = pd.DataFrame(
        {
            "step": steps["step"].to_numpy(dtype=int),
            "time_fs": steps["step"].to_numpy(dtype=float) * potim,
            "temperature_K": steps["T"].to_numpy(),
            "etotal_eV": (steps["F"] + steps["EK"]).to_numpy(),
            "epot_eV": steps["F"].to_numpy(),
            "pressure_kbar": pressure,
            "e0_eV": steps["E0"].to_numpy(),
            "ekin_eV": steps["EK"].to_numpy(),
            "thermostat_eV": (steps["SP"] + steps["SK"]).to_numpy(),
            "volume_A3": np.full(n_ok, float(volume)),
            "conserved_eV": steps["E"].to_numpy(),
            "scf_steps": steps["scf_steps"].to_numpy(dtype=int),
        }
    )
    if has_eint:
        table["eint_eV"] = np.asarray(out.energy_without_entropy[:n_ok], dtype=float)
    return MDSegment(
        directory=directory,
        table=table,
        symbols=symbols,
        counts=counts,
        potim_fs=potim,
        nsw=nsw,
        nelm=nelm,
        temperature_target_K=t_target,
        volume_A3=float(volume),
        terminated_normally=out.footer and not osz.partial_last_line,
        truncated=truncated,
        pressure_source=source,
        issues=tuple(issues),
    )


def _tail(path: Path, n_bytes: int = 4096) -> str:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - n_bytes))
        return handle.read().decode(errors="replace")


def concatenate_segments(segments: Sequence[MDSegment]) -> pd.DataFrame:
    """One table from consecutive segments: steps renumbered 1..N and time accumulated with each POTIM.

    eint_eV is kept only if every segment with steps has it; a mixture is an error rather than a column
    silently dropped or half empty.
    """
    if not segments:
        raise InputError(None, None, "no MD segments to concatenate")
    first = segments[0]
    with_steps = [seg for seg in segments if seg.n_steps > 0]
    lacking = [seg for seg in with_steps if "eint_eV" not in seg.table.columns]
    if lacking and len(lacking) < len(with_steps):
        raise InputError(
            lacking[0].directory / "OUTCAR", None,
            "no 'energy  without entropy' lines while other segments have them: not one run's output",
        )  # fmt: skip
    frames = []
    step0, time0 = 0, 0.0
    for seg in segments:
        if seg.counts != first.counts:
            raise InputError(seg.directory, None, f"composition {seg.counts} differs from {first.counts}")
        if not math.isclose(seg.volume_A3, first.volume_A3, rel_tol=1e-6):
            raise InputError(seg.directory, None, f"volume {seg.volume_A3} Å^3 differs from {first.volume_A3}")
        part = seg.table.copy()
        local = part["step"].to_numpy()
        part["step"] = local + step0
        part["time_fs"] = time0 + local * seg.potim_fs
        frames.append(part)
        step0 += int(local[-1]) if len(local) else 0
        time0 += (int(local[-1]) if len(local) else 0) * seg.potim_fs
    return pd.concat(frames, ignore_index=True)


def segment_metadata(segments: Sequence[MDSegment]) -> dict[str, Any]:
    """Per-run metadata the analysis needs (n_atoms, composition, T, volume, NELM) and the segments' provenance.

    ``nelm`` is the segments' common NELM, or None when custodian changed it between segments; each segment
    keeps its own.
    """
    if not segments:
        raise InputError(None, None, "no MD segments")
    first = segments[0]
    nelms = {s.nelm for s in segments}
    return {
        "engine": "vasp",
        "n_atoms": first.n_atoms,
        "composition": dict(first.counts),
        "temperature_K": first.temperature_target_K,
        "volume_A3": first.volume_A3,
        "n_steps": int(sum(s.n_steps for s in segments)),
        "time_ps": float(sum(s.n_steps * s.potim_fs for s in segments) / 1000.0),
        "nelm": first.nelm if len(nelms) == 1 else None,
        "segments": [
            {
                "directory": str(s.directory),
                "n_steps": s.n_steps,
                "potim_fs": s.potim_fs,
                "nelm": s.nelm,
                "terminated_normally": s.terminated_normally,
                "truncated": s.truncated,
                "pressure_source": s.pressure_source,
                "issues": list(s.issues),
            }
            for s in segments
        ],
    }


def read_xdatcar(
    path: str | Path, potim_fs: float, nblock: int = 1, time_offset_fs: float = 0.0, allow_truncated: bool = False
) -> tuple[Frames, bool]:
    """Frames of a fixed-cell XDATCAR (VASP 5+) as Frames, and whether a cut-off last frame was dropped.

    Frame k (1-based) is the configuration after step k·NBLOCK, at time_offset_fs + k·NBLOCK·POTIM. A
    half-written last frame raises TruncatedRunError unless ``allow_truncated``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "XDATCAR not found")
    lines = path.read_text(errors="replace").splitlines()
    if len(lines) < 7:
        raise InputError(path, None, "too short to be an XDATCAR")
    scale = _float(lines[1].split()[0], path, 2)
    lattice = np.array([[_float(x, path, i + 1) for x in lines[i].split()[:3]] for i in (2, 3, 4)]) * scale
    species = lines[5].split()
    try:
        counts = [int(c) for c in lines[6].split()]
    except ValueError:
        raise InputError(path, 7, "expected species counts") from None
    if len(species) != len(counts):
        raise InputError(path, 6, "species and counts lines do not match")
    symbols = tuple(s for s, c in zip(species, counts, strict=True) for _ in range(c))
    n = len(symbols)
    frames: list[np.ndarray] = []
    i = 7
    truncated = False
    while i < len(lines):
        header = lines[i]
        if not header.strip():
            i += 1
            continue
        if "configuration" not in header:
            raise InputError(path, i + 1, f"expected 'Direct configuration=', got {header.strip()!r}")
        number = int(_float(header.split("=")[-1], path, i + 1))
        k = len(frames) + 1
        if number not in (k, k * nblock):  # VASP numbers frames by count or by step, depending on version
            raise InputError(path, i + 1, f"configuration {number} where frame {k} was expected")
        block = lines[i + 1 : i + 1 + n]
        try:
            coords = np.array([[float(x) for x in row.split()[:3]] for row in block])
            complete = coords.shape == (n, 3)
        except ValueError:
            complete = False
        if not complete:
            if i + 1 + n >= len(lines):
                truncated = True
                break
            raise InputError(path, i + 1, "frame has malformed coordinates")
        frames.append(coords)
        i += 1 + n
    if truncated and not allow_truncated:
        raise TruncatedRunError(
            path, None, f"last frame is cut off; {len(frames)} complete frames (pass allow_truncated=True)"
        )
    frac = np.array(frames) if frames else np.empty((0, n, 3))
    times = time_offset_fs + potim_fs * nblock * np.arange(1, len(frames) + 1)
    cells = np.repeat(lattice[None, :, :], len(frames), axis=0)
    return make_frames(symbols, frac @ lattice, cells, times, str(path)), truncated
