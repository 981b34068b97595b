"""Universal machine-learned interatomic potentials (CHGNet, SevenNet-0) as an MD engine: ``aimd.engine: mlip``.

A universal potential trained on PBE(+U) relaxation trajectories of the Materials Project (MPtrj: 1.58 M
structures, 89 elements; Deng et al., Nat. Mach. Intell. 5, 1031 (2023)) gives energies, forces and stresses
for any of hmixal's 70 elements in milliseconds per atom, so the AIMD protocol (volume loop, production,
analysis, checks) runs on an ordinary machine with it. It runs on ``hmixal.aimd.ase_engine`` (the potential is
an ASE calculator); this module knows the models, loads the weights their wheels ship — never a download at
run time —, records what makes the numbers what they are (model, package version, weights sha256) and builds
the engine. Rows it makes are ``potential_md``, never ``aimd`` (``is_dft: False``). Docs: docs/aimd_mlip.md.

Install: ``pip install 'hmixal[mlip]'`` (torch, chgnet, sevenn).
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from hmixal.aimd.ase_engine import AseEngine, AseEngineSettings
from hmixal.errors import InputError
from hmixal.settings import FromMapping

ENGINE_NAME = "mlip"
FACTORY = "hmixal.aimd.mlip:make_calculator"  # the ASE engine's calculator setting for every model here


@dataclass(frozen=True)
class ModelCard:
    """What a universal potential is: its package, the weights its wheel ships, training data and elements."""

    name: str  # the config's aimd.mlip.model
    label: str  # for people: tables, figures
    distribution: str  # the package that ships code and weights
    weights: str  # path of the weights inside that package
    trained_on: str
    max_atomic_number: int  # the model's element embedding reaches Z = 1 … this
    reference: str


# Both models are trained on the same data with the paper's functional (PBE; +U on some oxides and fluorides
# only, so not on any metallic liquid here) and ship their weights in their wheels.
MODELS: dict[str, ModelCard] = {
    "chgnet": ModelCard(
        name="chgnet",
        label="CHGNet 0.3.0",
        distribution="chgnet",
        weights="pretrained/0.3.0/chgnet_0.3.0_e29f68s314m37.pth.tar",
        trained_on="MPtrj (Materials Project relaxation trajectories, PBE/PBE+U), 1.58 M structures, 89 elements",
        max_atomic_number=94,
        reference="B. Deng et al., Nat. Mach. Intell. 5, 1031 (2023)",
    ),
    "sevennet-0": ModelCard(
        name="sevennet-0",
        label="SevenNet-0 (11 Jul 2024)",
        distribution="sevenn",
        weights="pretrained_potentials/SevenNet_0__11Jul2024/checkpoint_sevennet_0.pth",
        trained_on="MPtrj (Materials Project relaxation trajectories, PBE/PBE+U), 1.58 M structures, 89 elements",
        max_atomic_number=89,
        reference="Y. Park et al., J. Chem. Theory Comput. 20, 4857 (2024)",
    ),
}


def model_card(name: str) -> ModelCard:
    """The card of a model by its config name; an unknown name is an InputError listing the known ones."""
    if name not in MODELS:
        raise InputError(None, None, f"aimd.mlip.model must be one of {', '.join(MODELS)}, got {name!r}")
    return MODELS[name]


def _package_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise InputError(
            None, None,
            f"the ML potential needs the '{distribution}' package: pip install 'hmixal[mlip]' (docs/aimd_mlip.md)",
        ) from None  # fmt: skip


def weights_path(card: ModelCard) -> Path:
    """The weights file the model's installed wheel ships (an InputError if the package or the file is missing)."""
    version = _package_version(card.distribution)
    path = Path(str(importlib.resources.files(card.distribution).joinpath(card.weights)))  # package = module name
    if not path.is_file():
        raise InputError(
            path, None,
            f"{card.label}: the weights are not in the installed {card.distribution} "
            f"{version} (hmixal never downloads weights at run time)",
        )  # fmt: skip
    return path


def make_calculator(model: str, device: str = "cpu") -> Any:
    """An ASE calculator of the named model on ``device``, with its ``hmixal_model`` provenance attached."""
    card = model_card(model)
    path = weights_path(card)
    if card.distribution == "chgnet":
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator

        network = CHGNet.from_file(str(path), verbose=False)
        calculator = CHGNetCalculator(model=network, use_device=device)
    else:
        from sevenn.calculator import SevenNetCalculator

        calculator = SevenNetCalculator(model=str(path), device=device)
    calculator.hmixal_model = {
        "name": card.name,
        "label": card.label,
        "version": _package_version(card.distribution),
        "weights_path": str(path),
        "trained_on": card.trained_on,
        "reference": card.reference,
        "max_atomic_number": card.max_atomic_number,
    }
    return calculator


@dataclass(frozen=True)
class MlipSettings(FromMapping):
    """Config section ``aimd.mlip``: the model, the device and the MD settings of the ASE engine it runs on."""

    SECTION: ClassVar[str] = "aimd.mlip settings"

    model: str = "chgnet"
    device: str = "cpu"
    # The paper's VASP timestep (seed §4.2). Light atoms (Al, Mg, Si) at 3700 K move ≈ 0.02 Å/fs, 0.06 Å per step;
    # the conserved-energy drift check (aimd.checks) tells when a step is too long.
    timestep_fs: float = 3.0
    tdamp_fs: float = 100.0
    # Steps cost ~0.1–0.3 s here, so record often: short stages (0.3 ps = 100 steps) need ≥ 16 trace rows after
    # equilibration for the pressure's block average, and the production ≥ 5 frames for the liquid checks.
    sample_interval: int = 2
    frame_interval: int = 10
    start_steps: int = 200  # unrecorded Langevin steps from a random start (AseEngineSettings.start_steps)

    def __post_init__(self) -> None:
        model_card(self.model)
        for name in ("timestep_fs", "tdamp_fs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise InputError(None, None, f"aimd.mlip.{name} must be a positive number, got {value!r}")

    def engine_settings(self) -> AseEngineSettings:
        """The ASE-engine settings that run this model (device and MD settings checked there)."""
        return AseEngineSettings(
            calculator=FACTORY,
            calculator_kwargs={"model": self.model},
            device=self.device,
            timestep_fs=self.timestep_fs,
            tdamp_fs=self.tdamp_fs,
            sample_interval=self.sample_interval,
            frame_interval=self.frame_interval,
            start_steps=self.start_steps,
        )


def make_engine(values: Mapping[str, Any] | None, seed: int) -> AseEngine:
    """The engine of ``aimd.engine: mlip``: the ASE engine running the configured potential, named 'mlip'."""
    return AseEngine(MlipSettings.from_mapping(values).engine_settings(), seed, name=ENGINE_NAME)
