"""In-process MD engine for the AIMD protocol: NVT stages with any ASE calculator (EMT today, ML potentials later).

The protocol (volume loop, then production) asks an engine for NVT *stages* (``hmixal.aimd.engine``). This
engine runs a stage in the calling process with an ASE calculator chosen by name:

- ``emt``: asap3's EMT with hmixal's fixed cutoff (``hmixal.aimd.emt.make_calculator``),
- ``emt-ase``: ASE's pure-Python EMT (same potential, 20–45× slower; a reference),
- ``module:factory``: an importable callable returning an ASE calculator (a universal ML potential such as
  CHGNet or SevenNet, installed as an optional extra), called with ``calculator_kwargs`` and, if it takes a
  ``device`` parameter, the ``device`` setting.

A stage directory holds ``stage.json`` (inputs: T, duration, steps, label, seed, settings) and
``start.extxyz`` (positions, cell and, if given, momenta), written by :meth:`AseEngine.prepare_stage`;
:meth:`AseEngine.run_stage` adds ``trace.csv`` (``hmixal.aimd.trace.write_trace`` format, ensemble NVT, plus
``volume_A3`` and the thermostat's conserved energy ``conserved_eV``), ``trajectory.extxyz`` (frames with
``time_fs``), ``final.extxyz`` (positions and momenta) and, last, ``record.json`` (finished or failed).
Stages are minutes long, so a stage killed mid-way is not continued: without ``record.json`` it is rerun
from its start, and with the same seed the rerun writes the same bytes. An extended stage (``extend_stage``)
likewise reruns from its start, so that every stage is one uninterrupted trajectory. A blow-up (non-finite
numbers, T above 3× the target, atoms closer than 1 Å) is a FAILED stage with its reason, not an exception;
a calculator that cannot be built or fails on the start cell is an InputError.

Dynamics: ASE's Nosé–Hoover chain NVT (``NoseHooverChainNVT``, Martyna, Klein and Tuckerman, J. Chem. Phys.
97, 2635 (1992)) with the target corrected for the fixed centre of mass (``emt.thermostat_temperature``) and
zero total momentum. A stage from a state without velocities (a random start cell) first draws
Maxwell–Boltzmann velocities and runs ``start_steps`` of unrecorded Langevin dynamics at T: random insertion
leaves pairs at the insertion's minimum distance (1.8–2.1 Å at 30 % packing), far up the repulsive wall,
and the friction takes the released energy away before the energy-conserving chain starts.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import logging
import math
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from ase import Atoms, units
from ase.calculators.calculator import BaseCalculator, PropertyNotImplementedError
from ase.data import atomic_numbers
from ase.md.langevin import Langevin
from ase.md.nose_hoover_chain import NoseHooverChainNVT
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.neighborlist import neighbor_list

from hmixal.aimd.emt import (
    CUTOFF_A,
    EMT_ELEMENTS,
    engine_description,
    make_calculator,
    thermostat_temperature,
    true_temperature,
)
from hmixal.aimd.engine import CellState, StageState, StageStatus
from hmixal.aimd.frames import Frames, read_frames
from hmixal.aimd.trace import TRACE_COLUMNS, Trace, make_trace, read_trace, write_trace
from hmixal.elements import ELEMENTS
from hmixal.errors import InputError
from hmixal.io import atomic_path, write_text
from hmixal.settings import FromMapping, field_names, settings_from_mapping
from hmixal.splits import derive_seed

log = logging.getLogger(__name__)

ENGINE_NAME = "ase"
EMT_CALCULATORS: dict[str, str] = {"emt": "asap3", "emt-ase": "ase"}  # setting → emt.make_calculator backend
THERMOSTATS: tuple[str, ...] = ("nose-hoover-chain",)
STAGE_FILE = "stage.json"
START_FILE = "start.extxyz"
TRACE_FILE = "trace.csv"
TRAJECTORY_FILE = "trajectory.extxyz"
FINAL_FILE = "final.extxyz"
RECORD_FILE = "record.json"
FAILED_PREFIX = "failed_"  # reset_failed moves a failed attempt's outputs to failed_1/, failed_2/, …
OUTPUT_FILES: tuple[str, ...] = (TRACE_FILE, TRAJECTORY_FILE, FINAL_FILE, RECORD_FILE)
CONSERVED_COLUMN = "conserved_eV"
STAGE_FORMAT = "hmixal ase stage 1"
# Optional attribute of the calculator a factory returns: a mapping with "name", "version" and/or
# "weights_path" (the engine adds the file's sha256) and any further JSON values, copied into provenance().
MODEL_ATTRIBUTE = "hmixal_model"
# Blow-up criteria, checked while a stage runs (a failed stage, not an exception). Nearest neighbours in
# metals lie at 2.2–3.2 Å; a pair under 1 Å means two atoms ran into each other. A Nosé–Hoover chain holds
# T to a few 10 % even at 32 atoms (σ_T/T = √(2/(3N − 3)) = 15 %), so 3× the target is no fluctuation.
OVERLAP_DISTANCE_A = 1.0
BLOWUP_TEMPERATURE_FACTOR = 3.0
_KBAR_PER_EV_A3 = 10.0 / units.GPa
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")
_FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


# ---------------------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class AseEngineSettings(FromMapping):
    """How the ASE engine runs a stage (config section ``aimd.ase``; times in fs)."""

    SECTION: ClassVar[str] = "aimd.ase settings"

    calculator: str = "emt"  # 'emt' (asap3), 'emt-ase' (ASE's EMT) or 'module:factory'
    calculator_kwargs: dict[str, Any] = field(default_factory=dict)  # passed to a factory (JSON values)
    timestep_fs: float = 5.0  # energy-conserving for EMT metals (docs/aimd_emt.md); ML potentials: check drift
    thermostat: str = "nose-hoover-chain"
    tdamp_fs: float = 100.0  # thermostat time constant
    tchain: int = 3  # thermostats in the chain (ASE's default)
    sample_interval: int = 5  # steps per trace row
    frame_interval: int = 200  # steps per trajectory frame, a multiple of sample_interval
    start_steps: int = 200  # unrecorded Langevin steps of a stage that starts without velocities
    start_friction_per_fs: float = 0.01  # Langevin friction of that start
    device: str = "cpu"  # 'cpu', 'cuda' or 'cuda:N', passed to factories with a 'device' parameter

    def __post_init__(self) -> None:
        kwargs = self.calculator_kwargs
        if not isinstance(kwargs, Mapping) or not all(isinstance(k, str) for k in kwargs):
            raise InputError(
                None, None, f"aimd.ase.calculator_kwargs must be a mapping with string keys, got {kwargs!r}"
            )
        try:
            json.dumps(dict(kwargs), sort_keys=True)
        except (TypeError, ValueError) as error:
            raise InputError(None, None, f"aimd.ase.calculator_kwargs must hold JSON values ({error})") from None
        object.__setattr__(self, "calculator_kwargs", dict(kwargs))  # a private copy: the settings stay fixed
        if not isinstance(self.calculator, str) or not (
            self.calculator in EMT_CALCULATORS or _FACTORY.match(self.calculator)
        ):
            raise InputError(
                None,
                None,
                f"aimd.ase.calculator must be {', '.join(map(repr, EMT_CALCULATORS))} or 'module:factory' "
                f"(e.g. 'mypackage.potentials:make_calculator'), got {self.calculator!r}",
            )
        if self.calculator in EMT_CALCULATORS and kwargs:
            raise InputError(
                None, None, f"aimd.ase.calculator_kwargs are for factories; {self.calculator!r} takes none"
            )
        for name in ("timestep_fs", "tdamp_fs", "start_friction_per_fs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise InputError(None, None, f"aimd.ase.{name} must be a positive number, got {value!r}")
            object.__setattr__(self, name, float(value))  # 5 and 5.0 are one setting (stage.json compares them)
        for name, low in (("tchain", 1), ("sample_interval", 1), ("frame_interval", 1), ("start_steps", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(None, None, f"aimd.ase.{name} must be an integer ≥ {low}, got {value!r}")
        if self.frame_interval % self.sample_interval:
            raise InputError(
                None,
                None,
                f"aimd.ase.frame_interval ({self.frame_interval}) must be a multiple of sample_interval "
                f"({self.sample_interval}), so that every frame has its trace row",
            )
        if self.thermostat not in THERMOSTATS:
            raise InputError(
                None, None, f"aimd.ase.thermostat must be one of {', '.join(THERMOSTATS)}, got {self.thermostat!r}"
            )
        if not isinstance(self.device, str) or not _DEVICE.match(self.device):
            raise InputError(None, None, f"aimd.ase.device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if self.calculator in EMT_CALCULATORS and self.device != "cpu":
            raise InputError(None, None, f"aimd.ase.device: EMT runs on the CPU only, got {self.device!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> AseEngineSettings:
        """Settings from the config's ``aimd.ase`` mapping; an unknown key is an error in the engine's own words."""
        known = sorted(field_names(cls))
        unknown = sorted(set(values or {}) - set(known))
        if unknown:
            raise InputError(
                None, None, f"unknown aimd.ase setting(s): {', '.join(unknown)} (known: {', '.join(known)})"
            )
        return settings_from_mapping(cls, values, cls.SECTION)

    def as_json(self) -> dict[str, Any]:
        """The settings as JSON values (what stage.json records and compares)."""
        return json.loads(json.dumps(asdict(self), sort_keys=True))


# ---------------------------------------------------------------------------------------------------------
# Atoms ↔ CellState


def state_to_atoms(state: CellState) -> Atoms:
    """ASE Atoms (periodic) from a CellState; velocities in Å/fs become momenta in ASE units."""
    atoms = Atoms(
        symbols=list(state.symbols),
        positions=np.asarray(state.positions_A, dtype=float),
        cell=np.asarray(state.cell_A, dtype=float),
        pbc=True,
    )
    if state.velocities_A_per_fs is not None:
        # ASE's time unit is units.fs⁻¹ fs (≈ 10.18 fs): v[Å/ASE time] = v[Å/fs] / units.fs
        atoms.set_velocities(np.asarray(state.velocities_A_per_fs, dtype=float) / units.fs)
    return atoms


def atoms_to_state(atoms: Atoms) -> CellState:
    """CellState from ASE Atoms; velocities (Å/fs) only if the atoms carry momenta."""
    velocities = atoms.get_velocities() * units.fs if "momenta" in atoms.arrays else None
    return CellState(
        tuple(atoms.get_chemical_symbols()),
        np.array(atoms.get_positions(), dtype=float),
        np.array(atoms.get_cell(), dtype=float),
        velocities,
    )


# ---------------------------------------------------------------------------------------------------------
# Calculators


def _factory(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(
            None,
            None,
            f"aimd.ase.calculator {spec!r}: cannot import {module_name!r} ({error}); install the package that "
            "provides it (ML potentials are optional extras) or choose 'emt'",
        ) from None
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise InputError(None, None, f"aimd.ase.calculator {spec!r}: {module_name} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise InputError(None, None, f"aimd.ase.calculator {spec!r}: {attribute} is not callable")
    return obj


def _accepts_device(factory: Any) -> bool:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins and some C extensions have no signature
        return False
    return "device" in parameters


def build_calculator(settings: AseEngineSettings) -> BaseCalculator:
    """A new calculator for one stage (asap3 calculators must not be shared between Atoms objects)."""
    if settings.calculator in EMT_CALCULATORS:
        return make_calculator(EMT_CALCULATORS[settings.calculator])
    spec = settings.calculator
    factory = _factory(spec)
    kwargs = dict(settings.calculator_kwargs)
    if _accepts_device(factory):
        if "device" in kwargs:
            raise InputError(None, None, "set the device with aimd.ase.device, not in aimd.ase.calculator_kwargs")
        kwargs["device"] = settings.device
    elif settings.device != "cpu":
        raise InputError(
            None,
            None,
            f"aimd.ase.device is {settings.device!r} but {spec} takes no 'device' parameter; pass the device "
            "through calculator_kwargs under the factory's own name (e.g. use_device for CHGNet)",
        )
    try:
        calculator = factory(**kwargs)
    except Exception as error:  # any failure to build the model is a setup problem the user must fix
        raise InputError(
            None, None, f"aimd.ase.calculator {spec!r} failed to build: {type(error).__name__}: {error}"
        ) from error
    if not isinstance(calculator, BaseCalculator):
        raise InputError(
            None, None, f"aimd.ase.calculator {spec!r} returned {type(calculator).__name__}, not an ASE calculator"
        )
    return calculator


@functools.cache
def _module_distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()  # scans every installed package: once per process


def _distribution(module_name: str) -> tuple[str | None, str | None]:
    """(distribution, version) that installs a top-level module, or (None, None) for a module outside one."""
    top = module_name.split(".")[0]
    names = _module_distributions().get(top, [])
    for name in names:
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None, None


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def model_info(calculator: BaseCalculator) -> dict[str, Any] | None:
    """The calculator's optional ``hmixal_model`` mapping, with the sha256 of ``weights_path`` added."""
    raw = getattr(calculator, MODEL_ATTRIBUTE, None)
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InputError(None, None, f"calculator attribute {MODEL_ATTRIBUTE} must be a mapping, got {raw!r}")
    info = {str(k): v for k, v in raw.items()}
    if "weights_path" in info:
        path = Path(str(info["weights_path"]))
        if not path.is_file():
            raise InputError(path, None, f"{MODEL_ATTRIBUTE}['weights_path'] names no file")
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        info["weights_path"] = str(path)
        info["weights_sha256"] = digest.hexdigest()
    try:
        return json.loads(json.dumps(info, sort_keys=True))
    except (TypeError, ValueError) as error:
        raise InputError(
            None, None, f"calculator attribute {MODEL_ATTRIBUTE} must hold JSON values ({error})"
        ) from None


def _class_name(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def calculator_description(settings: AseEngineSettings, calculator: BaseCalculator) -> str:
    """The trace's engine text: potential, calculator class and versions (EMT: emt.engine_description)."""
    if settings.calculator in EMT_CALCULATORS:
        return engine_description(EMT_CALCULATORS[settings.calculator])
    distribution, version = _distribution(type(calculator).__module__)
    package = f"; {distribution} {version}" if distribution else ""
    model = model_info(calculator) or {}
    name = f"{model['name']} {model.get('version', '')}".strip() + ", " if "name" in model else ""
    return f"{name}{settings.calculator} ({_class_name(calculator)}; ASE {_version('ase')}{package})"


# ---------------------------------------------------------------------------------------------------------
# Diagnostics


@dataclass(frozen=True)
class ConservedEnergy:
    """How well a stage conserved the thermostat's conserved energy: linear drift and scatter about it."""

    drift_eV_per_atom_per_ps: float
    rms_eV_per_atom: float


def conserved_energy(trace: Trace) -> ConservedEnergy:
    """Least-squares drift of the conserved energy per atom and the RMS about that line (small, right timestep).

    The scatter grows as the timestep squared (velocity Verlet's error) and is the steadier of the two on a
    short stage; the drift shows a timestep that heats or cools the system steadily.
    """
    if CONSERVED_COLUMN not in trace.table:
        raise InputError(trace.source or None, None, f"trace has no {CONSERVED_COLUMN} column")
    time_ps = trace.table["time_fs"].to_numpy() / 1000.0
    energy = trace.table[CONSERVED_COLUMN].to_numpy() / trace.n_atoms
    slope, intercept = np.polyfit(time_ps, energy, 1)
    residual = energy - (slope * time_ps + intercept)
    return ConservedEnergy(float(slope), float(np.sqrt(np.mean(residual**2))))


def min_pair_distance_A(atoms: Atoms, cutoff_A: float = OVERLAP_DISTANCE_A) -> float:
    """Smallest periodic pair distance if below ``cutoff_A``, else ``inf`` (cheap: only close pairs are listed)."""
    distances = neighbor_list("d", atoms, cutoff_A)
    return float(distances.min()) if distances.size else math.inf


class _BlowUp(Exception):
    """Raised by the recorder to stop a stage whose dynamics have failed."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(f"step {step}: {reason}")
        self.step = step


# ---------------------------------------------------------------------------------------------------------
# Files


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(path, error.lineno, f"not JSON: {error.msg}") from None
    if not isinstance(value, dict):
        raise InputError(path, None, "expected a JSON object")
    return value


def _write_json(value: Mapping[str, Any], path: Path) -> None:
    write_text(json.dumps(value, sort_keys=True, indent=1) + "\n", path)


def _write_extxyz(images: list[Atoms], path: Path, columns: list[str]) -> None:
    from ase.io import write

    with atomic_path(path) as tmp:
        write(tmp, images, format="extxyz", columns=columns, write_results=False)


def _read_extxyz(path: Path) -> Atoms:
    from ase.io import read

    if not path.is_file():
        raise InputError(path, None, "file not found")
    try:
        atoms = read(path, format="extxyz", index=-1)
    except Exception as error:  # ASE's readers raise many types for damaged files; report them uniformly
        raise InputError(path, None, f"cannot read: {error}") from None
    return atoms


def _failed_dirs(stage_dir: Path) -> list[Path]:
    return sorted(p for p in stage_dir.glob(f"{FAILED_PREFIX}[0-9]*") if p.is_dir())


def _clear_outputs(stage_dir: Path) -> None:
    """Remove the outputs of an interrupted attempt, including temporary files a killed writer left behind."""
    for name in OUTPUT_FILES:
        (stage_dir / name).unlink(missing_ok=True)
        for tmp in stage_dir.glob(f".{name}.*.tmp"):
            tmp.unlink()


# ---------------------------------------------------------------------------------------------------------
# The engine


class AseEngine:
    """The protocol's engine for one run with an ASE calculator (see the module docstring)."""

    name = ENGINE_NAME

    def __init__(
        self, settings: AseEngineSettings = AseEngineSettings(), seed: int = 0, name: str = ENGINE_NAME
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise InputError(None, None, f"engine seed must be a non-negative integer, got {seed!r}")
        self.settings = settings
        self.seed = int(seed)
        self.name = name  # 'ase', or 'mlip' when hmixal.aimd.mlip runs a universal potential on this engine
        self._provenance: dict[str, Any] | None = None

    # -- provenance ------------------------------------------------------------------------------------

    def provenance(self) -> dict[str, Any]:
        """Calculator, class, package versions, model (name, version, weights sha256) and ``is_dft: False``."""
        if self._provenance is None:
            self._provenance = self._describe()
        return json.loads(json.dumps(self._provenance))  # a copy: callers may edit theirs

    def _describe(self) -> dict[str, Any]:
        settings = self.settings
        calculator = build_calculator(settings)  # an ML model loads once per engine for this, not per call
        versions: dict[str, str | None] = {"ase": _version("ase"), "asap3": _version("asap3")}
        distribution, version = _distribution(type(calculator).__module__)
        if distribution:
            versions[distribution] = version
        out: dict[str, Any] = {
            "engine": self.name,
            "calculator": settings.calculator,
            "calculator_class": _class_name(calculator),
            "calculator_kwargs": dict(settings.calculator_kwargs),
            "calculator_distribution": distribution,
            "description": calculator_description(settings, calculator),
            "versions": versions,
            "device": settings.device,
            "thermostat": settings.thermostat,
            "timestep_fs": settings.timestep_fs,
            "seed": self.seed,
            "is_dft": False,
        }
        if settings.calculator in EMT_CALCULATORS:
            out["potential"] = "EMT (Jacobsen, Stoltze, Nørskov, Surf. Sci. 366, 394 (1996)), fixed cutoff"
            out["cutoff_A"] = CUTOFF_A
        else:
            factory_module = settings.calculator.partition(":")[0]
            factory_distribution, factory_version = _distribution(factory_module)
            if factory_distribution:
                versions[factory_distribution] = factory_version
            out["model"] = model_info(calculator)
        return out

    # -- preparing -------------------------------------------------------------------------------------

    def _check_elements(self, symbols: tuple[str, ...]) -> None:
        unknown = sorted(set(symbols) - set(ELEMENTS))
        if unknown:
            raise InputError(None, None, f"unknown element symbol(s): {', '.join(unknown)}")
        if self.settings.calculator in EMT_CALCULATORS:
            outside = sorted(set(symbols) - set(EMT_ELEMENTS))
            if outside:
                raise InputError(
                    None,
                    None,
                    f"EMT has no parameters for {', '.join(outside)} (has {', '.join(EMT_ELEMENTS)}): "
                    "choose an ML potential (aimd.engine: mlip), or the VASP engine",
                )
            return
        model = self.provenance().get("model") or {}
        highest = model.get("max_atomic_number")
        beyond = sorted(s for s in set(symbols) if highest is not None and atomic_numbers[s] > int(highest))
        if beyond:
            raise InputError(
                None,
                None,
                f"{model.get('label', model.get('name'))} has no elements beyond Z = {highest}: {', '.join(beyond)}",
            )

    def stage_seed(self, stage_dir: Path) -> int:
        """Seed of a stage's random numbers: from the engine seed and the stage directory's name."""
        return derive_seed(self.seed, "aimd-ase", Path(stage_dir).name)

    def _n_steps(self, duration_fs: float) -> int:
        # whole blocks of sample_interval steps, so that the last trace row is the final state
        block_fs = self.settings.sample_interval * self.settings.timestep_fs
        return self.settings.sample_interval * math.ceil(duration_fs / block_fs - 1e-9)

    def prepare_stage(
        self, stage_dir: Path, state: CellState, temperature_K: float, duration_fs: float, label: str
    ) -> None:
        """Write stage.json and start.extxyz; the step count rounds ``duration_fs`` up to whole trace rows."""
        stage_dir = Path(stage_dir)
        for name, value in (("temperature_K", temperature_K), ("duration_fs", duration_fs)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise InputError(stage_dir, None, f"{name} must be a positive number, got {value!r}")
        self._check_elements(state.symbols)
        n_atoms = len(state.symbols)
        if n_atoms < 2:
            raise InputError(stage_dir, None, f"a liquid needs at least 2 atoms, got {n_atoms}")
        ran = [name for name in OUTPUT_FILES if (stage_dir / name).exists()] + [p.name for p in _failed_dirs(stage_dir)]
        if ran:
            raise InputError(
                stage_dir,
                None,
                f"stage has already run ({', '.join(ran)}); refusing to overwrite its inputs: "
                "delete the directory to redo it",
            )
        settings = self.settings
        n_steps = self._n_steps(duration_fs)
        atoms = state_to_atoms(state)
        _write_extxyz(
            [atoms],
            stage_dir / START_FILE,
            ["symbols", "positions", *(["momenta"] if "momenta" in atoms.arrays else [])],
        )
        counts: dict[str, int] = {}
        for symbol in sorted(state.symbols):
            counts[symbol] = counts.get(symbol, 0) + 1
        spec = {
            "format": STAGE_FORMAT,
            "label": str(label),
            "temperature_K": float(temperature_K),
            "thermostat_temperature_K": thermostat_temperature(float(temperature_K), n_atoms),
            "duration_fs": float(duration_fs),
            "n_steps": n_steps,
            "target_fs": n_steps * settings.timestep_fs,
            "timestep_fs": settings.timestep_fs,
            "composition": counts,
            "n_atoms": n_atoms,
            "volume_A3": state.volume_A3,
            "random_start": state.velocities_A_per_fs is None,
            "seed": self.stage_seed(stage_dir),
            "engine_seed": self.seed,
            "settings": settings.as_json(),
        }
        _write_json(spec, stage_dir / STAGE_FILE)  # last: a stage is prepared once its stage.json exists

    def extend_stage(self, stage_dir: Path, duration_fs: float) -> None:
        """Lengthen a prepared stage to ``duration_fs`` (never shorten); a finished stage then reruns from its start.

        Rerunning rather than continuing keeps a stage one uninterrupted trajectory (the thermostat's chain
        variables and the conserved energy carry on); with the same start and seed its first steps repeat exactly.
        """
        stage_dir = Path(stage_dir)
        spec = self._spec(stage_dir)
        if isinstance(duration_fs, bool) or not isinstance(duration_fs, int | float) or not duration_fs > 0:
            raise InputError(stage_dir, None, f"duration_fs must be a positive number, got {duration_fs!r}")
        n_steps = self._n_steps(duration_fs)
        if n_steps <= int(spec["n_steps"]):
            return
        timestep = float(spec["timestep_fs"])
        spec.update(duration_fs=float(duration_fs), n_steps=n_steps, target_fs=n_steps * timestep)
        _write_json(spec, stage_dir / STAGE_FILE)
        log.info("%s: extended to %d steps (%g fs)", stage_dir, n_steps, n_steps * timestep)

    # -- reading ---------------------------------------------------------------------------------------

    @staticmethod
    def _spec(stage_dir: Path) -> dict[str, Any]:
        spec = _read_json(stage_dir / STAGE_FILE)
        if spec is None:
            raise InputError(stage_dir / STAGE_FILE, None, "not found: prepare the stage first (prepare_stage)")
        if spec.get("format") != STAGE_FORMAT:
            raise InputError(stage_dir / STAGE_FILE, None, f"not an ASE-engine stage (format {spec.get('format')!r})")
        return spec

    def stage_status(self, stage_dir: Path) -> StageStatus:
        """FINISHED or FAILED from record.json; NOT_STARTED without one (an interrupted or extended stage reruns)."""
        stage_dir = Path(stage_dir)
        if not (stage_dir / STAGE_FILE).is_file():
            return StageStatus(StageState.NOT_STARTED, 0.0, 0.0, 0, f"no inputs yet (no {STAGE_FILE})")
        spec = self._spec(stage_dir)
        target = float(spec["target_fs"])
        n_failed = len(_failed_dirs(stage_dir))
        record = _read_json(stage_dir / RECORD_FILE)
        finished = record is not None and record.get("state") == StageState.FINISHED.value
        if finished and record is not None and record.get("n_steps") != spec["n_steps"]:
            reason = f"extended to {target:g} fs after {record.get('time_done_fs')} fs: reruns from its start"
            return StageStatus(StageState.NOT_STARTED, 0.0, target, n_failed, reason)
        if record is not None:
            try:
                state = StageState(record.get("state"))
            except ValueError:
                raise InputError(stage_dir / RECORD_FILE, None, f"unknown state {record.get('state')!r}") from None
            missing = [n for n in (TRACE_FILE, TRAJECTORY_FILE, FINAL_FILE) if not (stage_dir / n).is_file()]
            if state is StageState.FINISHED and missing:
                reason = f"{RECORD_FILE} says finished but {', '.join(missing)} is missing: reruns from its start"
                return StageStatus(StageState.NOT_STARTED, 0.0, target, n_failed, reason)
            return StageStatus(state, float(record["time_done_fs"]), target, n_failed + 1, str(record["reason"]))
        leftovers = [n for n in OUTPUT_FILES if (stage_dir / n).exists()]
        if leftovers:
            reason = f"interrupted ({', '.join(leftovers)} without {RECORD_FILE}): reruns from its start"
        else:
            reason = "not run yet" if not n_failed else f"reset after {n_failed} failed attempt(s)"
        return StageStatus(StageState.NOT_STARTED, 0.0, target, n_failed, reason)

    def stage_trace(self, stage_dir: Path) -> Trace:
        """The stage's trace (NVT) with its ``conserved_eV`` column (a failed stage: the rows before the failure)."""
        path = Path(stage_dir) / TRACE_FILE
        status = self.stage_status(stage_dir)
        if status.state is StageState.NOT_STARTED or not path.is_file():  # no trace, or one of a killed attempt
            raise InputError(path, None, f"no trace: stage is {status.state.value} ({status.reason})")
        trace = read_trace(path)
        if CONSERVED_COLUMN not in trace.table:
            raise InputError(path, None, f"no {CONSERVED_COLUMN} column: not a trace this engine wrote")
        return trace

    def stage_frames(self, stage_dir: Path) -> Frames:
        """The stage's frames (every ``frame_interval`` steps from step 0)."""
        path = Path(stage_dir) / TRAJECTORY_FILE
        status = self.stage_status(stage_dir)
        if status.state is StageState.NOT_STARTED or not path.is_file():
            raise InputError(path, None, f"no frames: stage is {status.state.value} ({status.reason})")
        return read_frames(path)

    def stage_record(self, stage_dir: Path) -> dict[str, Any]:
        """The stage's effective inputs (stage.json), its outcome (record.json) and any failed attempts (JSON).

        Wall times are logged, not recorded, so that a rerun writes the same files.
        """
        stage_dir = Path(stage_dir)
        spec = self._spec(stage_dir)
        return {
            "engine": self.name,
            "inputs": {k: v for k, v in spec.items() if k != "format"},
            "outcome": _read_json(stage_dir / RECORD_FILE),
            "failed_attempts": [
                {"directory": d.name, **(_read_json(d / RECORD_FILE) or {})} for d in _failed_dirs(stage_dir)
            ],
        }

    def start_state(self, stage_dir: Path) -> CellState:
        """The prepared stage's start configuration (velocities if it was given some)."""
        stage_dir = Path(stage_dir)
        self._spec(stage_dir)
        return atoms_to_state(_read_extxyz(stage_dir / START_FILE))

    def final_state(self, stage_dir: Path) -> CellState:
        """The finished stage's last positions and velocities (Å/fs), to start the next stage from."""
        stage_dir = Path(stage_dir)
        status = self.stage_status(stage_dir)
        if status.state is not StageState.FINISHED:
            raise InputError(stage_dir, None, f"stage is {status.state.value} ({status.reason}): no final state")
        return atoms_to_state(_read_extxyz(stage_dir / FINAL_FILE))

    # -- running ---------------------------------------------------------------------------------------

    def _check_spec_matches(self, stage_dir: Path, spec: Mapping[str, Any]) -> None:
        ours = self.settings.as_json()
        if spec["settings"] != ours or spec["engine_seed"] != self.seed:
            changed = sorted(k for k in ours if spec["settings"].get(k) != ours[k])
            if spec["engine_seed"] != self.seed:
                changed.append("seed")
            raise InputError(
                stage_dir / STAGE_FILE,
                None,
                f"stage was prepared with other engine settings ({', '.join(changed)}); restore them or delete "
                "the stage directory to prepare it again",
            )

    def run_stage(self, stage_dir: Path, job_start: dt.datetime, reset_failed: bool = False) -> StageStatus:
        """Run the stage in process from its start; FINISHED or FAILED (sticky until ``reset_failed``)."""
        stage_dir = Path(stage_dir)
        spec = self._spec(stage_dir)
        self._check_spec_matches(stage_dir, spec)
        status = self.stage_status(stage_dir)
        if status.state is StageState.FINISHED:
            return status
        if status.state is StageState.FAILED:
            if not reset_failed:
                return status
            archive = stage_dir / f"{FAILED_PREFIX}{len(_failed_dirs(stage_dir)) + 1}"
            archive.mkdir()
            for name in OUTPUT_FILES:
                if (stage_dir / name).exists():
                    shutil.move(stage_dir / name, archive / name)
            log.info("%s: failed attempt kept in %s; rerunning", stage_dir, archive.name)
        _clear_outputs(stage_dir)
        attempt = len(_failed_dirs(stage_dir))
        started = time.perf_counter()
        self._run(stage_dir, spec, attempt)
        status = self.stage_status(stage_dir)
        wall = time.perf_counter() - started
        since_job = (dt.datetime.now() - job_start).total_seconds()
        # wall times go to the log, not the files, so that reruns write identical bytes
        log.info(
            "%s: %s after %.1f s (%d steps; job running %.0f s)",
            stage_dir,
            status.state.value,
            wall,
            spec["n_steps"],
            since_job,
        )
        return status

    def _run(self, stage_dir: Path, spec: Mapping[str, Any], attempt: int) -> None:
        settings = self.settings
        atoms = _read_extxyz(stage_dir / START_FILE)
        temperature = float(spec["temperature_K"])
        target = float(spec["thermostat_temperature_K"])
        n_steps = int(spec["n_steps"])
        timestep = settings.timestep_fs * units.fs
        atoms.calc = build_calculator(settings)
        description = calculator_description(settings, atoms.calc)
        try:
            energy = float(atoms.get_potential_energy())
            atoms.get_forces()
            atoms.get_stress()
        except PropertyNotImplementedError as error:
            raise InputError(
                None,
                None,
                f"calculator {settings.calculator!r}: {error}; the protocol needs energy, forces and stress "
                "(the pressure decides the volume)",
            ) from None
        except Exception as error:  # an element the model lacks, a model that cannot load: the user must act
            raise InputError(
                stage_dir / START_FILE,
                None,
                f"calculator {settings.calculator!r} failed on the stage's start cell: {type(error).__name__}: {error}",
            ) from error
        seed = int(spec["seed"]) if attempt == 0 else derive_seed(int(spec["seed"]), "attempt", attempt)
        rows: list[tuple[float, ...]] = []
        images: list[Atoms] = []
        failure: _BlowUp | None = None
        # blow-ups are detected from the numbers themselves; numpy's overflow warnings would only interrupt
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                if not math.isfinite(energy):
                    raise _BlowUp(0, f"non-finite energy on the start cell ({energy})")
                if spec["random_start"]:
                    rng = np.random.default_rng(seed)
                    thermalize_momenta(atoms, temperature, rng=rng)
                    Stationary(atoms, preserve_temperature=False)
                    if settings.start_steps:
                        friction = settings.start_friction_per_fs / units.fs
                        # Langevin's random forces move the centre of mass (fixcm=True is deprecated since
                        # ASE 3.28); the total momentum is zeroed below
                        start = Langevin(
                            atoms, timestep, temperature_K=temperature, friction=friction, fixcm=False, rng=rng
                        )
                        start.run(settings.start_steps)
                    energy = float(atoms.get_potential_energy())
                    if not (math.isfinite(energy) and np.isfinite(atoms.get_momenta()).all()):
                        raise _BlowUp(0, f"the unrecorded Langevin start blew up (energy {energy})")
                Stationary(atoms, preserve_temperature=False)
                md = NoseHooverChainNVT(
                    atoms,
                    timestep,
                    temperature_K=target,
                    tdamp=settings.tdamp_fs * units.fs,
                    tchain=settings.tchain,
                )
                recorder = _Recorder(atoms, md, settings, temperature, rows, images)
                md.attach(recorder, interval=settings.sample_interval)
                md.run(n_steps)
            except _BlowUp as error:
                failure = error
            except Exception as error:  # the calculator worked on the start cell, so this is the dynamics failing
                log.exception("%s: MD raised", stage_dir)
                step = rows[-1][0] if rows else 0
                failure = _BlowUp(int(step), f"MD raised {type(error).__name__}: {error}")
        self._write_outputs(stage_dir, spec, atoms, rows, images, description, failure, attempt)

    def _write_outputs(
        self,
        stage_dir: Path,
        spec: Mapping[str, Any],
        atoms: Atoms,
        rows: list[tuple[float, ...]],
        images: list[Atoms],
        description: str,
        failure: _BlowUp | None,
        attempt: int,
    ) -> None:
        settings = self.settings
        n_rows = len(rows)
        conservation = None
        if n_rows >= 2:
            table = pd.DataFrame(rows, columns=[*TRACE_COLUMNS, "volume_A3", CONSERVED_COLUMN])
            table["step"] = table["step"].astype(np.int64)
            metadata = {
                "label": spec["label"],
                "calculator": settings.calculator,
                "thermostat": settings.thermostat,
                "thermostat_temperature_K": spec["thermostat_temperature_K"],
                "timestep_fs": settings.timestep_fs,
                "tdamp_fs": settings.tdamp_fs,
                "random_start": spec["random_start"],
                "start_steps": settings.start_steps if spec["random_start"] else 0,
                "seed": spec["seed"],
                "attempt": attempt,
                "outcome": "finished" if failure is None else f"failed: {failure}",
            }
            trace = make_trace(
                table,
                spec["composition"],
                float(spec["temperature_K"]),
                "NVT",
                description,
                str(stage_dir / TRACE_FILE),
                metadata,
            )
            write_trace(trace, stage_dir / TRACE_FILE)
            conservation = conserved_energy(trace)
        if images:
            _write_extxyz(images, stage_dir / TRAJECTORY_FILE, ["symbols", "positions"])
        timestep = settings.timestep_fs
        record: dict[str, Any] = {"attempt": attempt, "n_steps": spec["n_steps"], "rows": n_rows, "frames": len(images)}
        if conservation is not None:
            record["conserved_drift_meV_per_atom_per_ps"] = 1000.0 * conservation.drift_eV_per_atom_per_ps
            record["conserved_rms_meV_per_atom"] = 1000.0 * conservation.rms_eV_per_atom
        if failure is None:
            final = Atoms(
                atoms.get_chemical_symbols(), positions=atoms.get_positions(), cell=atoms.get_cell(), pbc=True
            )
            final.set_momenta(atoms.get_momenta())
            final.info["time_fs"] = spec["n_steps"] * timestep
            final.info["step"] = spec["n_steps"]
            _write_extxyz([final], stage_dir / FINAL_FILE, ["symbols", "positions", "momenta"])
            record |= {
                "state": StageState.FINISHED.value,
                "time_done_fs": spec["n_steps"] * timestep,
                "reason": "target time reached",
            }
        else:
            record |= {
                "state": StageState.FAILED.value,
                "time_done_fs": failure.step * timestep,
                "reason": f"blew up at {failure}",
            }
            log.warning("%s: stage failed: %s", stage_dir, failure)
        _write_json(record, stage_dir / RECORD_FILE)  # last: the stage counts as run once this exists


class _Recorder:
    """MD observer: one trace row every call, a frame every ``frame_interval`` steps, blow-up checks."""

    def __init__(
        self,
        atoms: Atoms,
        md: NoseHooverChainNVT,
        settings: AseEngineSettings,
        temperature_K: float,
        rows: list[tuple[float, ...]],
        images: list[Atoms],
    ) -> None:
        self.atoms = atoms
        self.md = md
        self.settings = settings
        self.temperature_K = temperature_K
        self.rows = rows
        self.images = images
        self.free_energy = True  # whether md.get_conserved_energy works (it asks for 'free_energy')

    def conserved(self, epot: float, ekin: float) -> float:
        """The chain's conserved energy: E_pot + E_kin + thermostat energy."""
        if self.free_energy:
            try:
                return float(self.md.get_conserved_energy())
            except PropertyNotImplementedError:
                self.free_energy = False
        # calculators without 'free_energy' (an ML potential has no electronic entropy: it equals the energy);
        # ASE 3.29 exposes the chain's own energy only on its private thermostat object
        return epot + ekin + float(self.md._thermostat.get_thermostat_energy())

    def __call__(self) -> None:
        atoms = self.atoms
        step = int(self.md.nsteps)
        epot = float(atoms.get_potential_energy())
        ekin = float(atoms.get_kinetic_energy())
        if not (math.isfinite(epot) and math.isfinite(ekin) and np.isfinite(atoms.positions).all()):
            raise _BlowUp(step, f"non-finite energy or positions (E_pot {epot}, E_kin {ekin})")
        temperature = true_temperature(atoms)
        stress = atoms.get_stress(voigt=False, include_ideal_gas=True)
        pressure_kbar = -float(np.trace(stress)) / 3.0 * _KBAR_PER_EV_A3
        conserved = self.conserved(epot, ekin)
        if not (math.isfinite(pressure_kbar) and math.isfinite(conserved)):
            raise _BlowUp(step, f"non-finite pressure or conserved energy ({pressure_kbar} kbar, {conserved} eV)")
        timestep = self.settings.timestep_fs
        self.rows.append(
            (step, step * timestep, temperature, epot + ekin, epot, pressure_kbar, float(atoms.get_volume()), conserved)
        )
        if step % self.settings.frame_interval == 0:
            image = Atoms(
                atoms.get_chemical_symbols(), positions=atoms.get_positions(), cell=atoms.get_cell(), pbc=True
            )
            image.info["time_fs"] = step * timestep
            image.info["step"] = step
            self.images.append(image)
            closest = min_pair_distance_A(atoms)
            if closest < OVERLAP_DISTANCE_A:
                raise _BlowUp(step, f"atoms overlap (pair at {closest:.2f} Å < {OVERLAP_DISTANCE_A} Å)")
        if temperature > BLOWUP_TEMPERATURE_FACTOR * self.temperature_K:
            raise _BlowUp(
                step,
                f"temperature {temperature:.0f} K > {BLOWUP_TEMPERATURE_FACTOR:g} × target {self.temperature_K:g} K",
            )
