"""The ML-potential engine (aimd.engine: mlip): settings, provenance, and a real run of each model on a tiny cell.

The runs need the optional extra (pip install 'hmixal[mlip]'); without it they are skipped, unless
HMIXAL_MLIP_TESTS=1 (set by .ci/run, which installs the extra), where a missing extra is a failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import os
from pathlib import Path

import pytest

from hmixal.aimd import mlip
from hmixal.aimd.campaign import make_engine
from hmixal.errors import InputError

HAVE_MLIP = all(importlib.util.find_spec(name) is not None for name in ("torch", "chgnet", "sevenn"))
needs_mlip = pytest.mark.skipif(
    not HAVE_MLIP and os.environ.get("HMIXAL_MLIP_TESTS") != "1",
    reason="the mlip extra is not installed (pip install 'hmixal[mlip]')",
)


def test_settings_reject_unknown_keys_and_models() -> None:
    with pytest.raises(InputError, match=r"aimd.mlip settings: unknown key.*modell"):
        mlip.MlipSettings.from_mapping({"modell": "chgnet"})
    with pytest.raises(InputError, match=r"chgnet, sevennet-0.*'mace'"):
        mlip.MlipSettings.from_mapping({"model": "mace"})
    with pytest.raises(InputError, match="timestep_fs must be a positive"):
        mlip.MlipSettings.from_mapping({"timestep_fs": 0})
    with pytest.raises(InputError, match="device"):
        mlip.MlipSettings.from_mapping({"device": "gpu"}).engine_settings()


def test_settings_run_the_ase_engine_with_the_model() -> None:
    settings = mlip.MlipSettings.from_mapping({"model": "sevennet-0", "device": "cuda:1", "timestep_fs": 2})
    engine_settings = settings.engine_settings()
    assert engine_settings.calculator == mlip.FACTORY
    assert engine_settings.calculator_kwargs == {"model": "sevennet-0"}
    assert engine_settings.device == "cuda:1" and engine_settings.timestep_fs == 2.0
    assert mlip.MlipSettings().timestep_fs == 3.0  # the paper's VASP timestep (seed §4.2)


def test_campaign_builds_the_mlip_engine() -> None:
    engine = make_engine({"engine": "mlip", "mlip": {"model": "chgnet"}}, seed=5)
    assert engine.name == "mlip" and engine.seed == 5
    with pytest.raises(InputError, match="vasp, ase, mlip"):
        make_engine({"engine": "lammps"}, seed=5)


def test_missing_package_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    with pytest.raises(InputError, match=r"pip install 'hmixal\[mlip\]'"):
        mlip.weights_path(mlip.model_card("chgnet"))


@needs_mlip
@pytest.mark.parametrize("model", sorted(mlip.MODELS))
def test_weights_ship_in_the_wheel_and_are_recorded(model: str) -> None:
    card = mlip.model_card(model)
    path = mlip.weights_path(card)
    engine = make_engine({"engine": "mlip", "mlip": {"model": model}}, seed=1)
    provenance = engine.provenance()
    assert provenance["engine"] == "mlip" and provenance["is_dft"] is False
    recorded = provenance["model"]
    assert recorded["name"] == model and recorded["version"] == provenance["versions"][card.distribution]
    assert recorded["weights_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert str(path).startswith(str(Path(importlib.util.find_spec(card.distribution).origin).parent))


@needs_mlip
def test_elements_beyond_the_model_are_refused(tmp_path: Path) -> None:
    import numpy as np

    from hmixal.aimd.engine import CellState

    engine = make_engine({"engine": "mlip", "mlip": {"model": "sevennet-0"}}, seed=1)
    state = CellState(("Pu", "U"), np.array([[0.0, 0.0, 0.0], [1.5, 1.5, 1.5]]), np.eye(3) * 3.0)
    with pytest.raises(InputError, match=r"beyond Z = 89: Pu, U"):
        engine.prepare_stage(tmp_path / "vol_00", state, 2000.0, 30.0, "test")


@pytest.mark.slow
@needs_mlip
def test_sevennet_runs_a_stage(tmp_path: Path) -> None:
    """SevenNet-0 through the engine: 30 steps of a 16-atom Ir–Ti liquid, finite and near its temperature."""
    import numpy as np

    from hmixal.aimd.engine import CellState
    from hmixal.aimd.structure import random_liquid_cell, start_volume_A3
    from hmixal.elements import load_element_table

    table = load_element_table()
    counts = {"Ir": 8, "Ti": 8}
    volume = start_volume_A3(counts, {s: float(table.loc[s, "MolarVolume"]) for s in counts})
    cell = random_liquid_cell(counts, volume, 2.1, 3)
    state = CellState(tuple(cell.symbols), np.array(cell.positions), np.eye(3) * cell.cell_length_A)
    engine = make_engine({"engine": "mlip", "mlip": {"model": "sevennet-0", "start_steps": 50}}, seed=2)
    stage = tmp_path / "vol_00"
    engine.prepare_stage(stage, state, 2750.0, 90.0, "test")
    status = engine.run_stage(stage, dt.datetime.now())
    assert status.state.value == "finished", status.reason
    table = engine.stage_trace(stage).table
    n_rows = 30 // mlip.MlipSettings().sample_interval + 1  # 30 steps of 3 fs, a row every sample_interval, and step 0
    assert len(table) == n_rows and np.isfinite(table[["temperature_K", "pressure_kbar"]].to_numpy()).all()
    assert 1000.0 < table["temperature_K"].mean() < 5000.0


@pytest.mark.slow
@needs_mlip
@pytest.mark.parametrize("model", ["chgnet"])
def test_rule_scripts_run_a_binary_with_the_model(tmp_path: Path, aimd_jobs, model: str) -> None:
    """aimd_run for the alloy and the two pure liquids, as the pipeline calls it, on a 16-atom cell."""
    from hmixal.aimd.results import reference_text, source_type

    # A tiny cell and a few dozen steps: the engine for real, not a converged number.
    protocol = {"volume_run_ps": 0.09, "production_ps": 0.09, "max_production_ps": 0.09,
                "volume": {"max_iterations": 2}}  # fmt: skip
    aimd = {"engine": "mlip", "protocol": protocol, "reset_failed": False,
            "mlip": {"model": model, "start_steps": 50, "sample_interval": 1, "frame_interval": 4}}  # fmt: skip
    plan, outcomes = aimd_jobs.runs({"system": "Ir-Ti", "T_K": 2750}, 16, aimd)
    run = aimd_jobs.run
    for outcome in outcomes.values():
        recorded = json.loads(Path(outcome).read_text())
        assert recorded["engine"]["engine"] == "mlip" and recorded["engine"]["model"]["name"] == model
    # The row's reference names the model and its weights (results.reference_text, what aimd_hmix writes) …
    recorded = [json.loads(Path(path).read_text()) for path in outcomes.values()]
    reference = reference_text(recorded[0]["engine"], recorded)
    assert reference.startswith(f"engine={model};") and "weights sha256" in reference and "not DFT" in reference
    assert source_type(recorded[0]["engine"]) == "potential_md"
    # … but a 16-atom cell is too small for the liquid checks: aimd_hmix says so instead of making a row.
    system = plan.systems.iloc[0]
    inputs = {"alloy": outcomes[system["alloy_run"]], "pure_a": outcomes[system["pure_A_run"]],
              "pure_b": outcomes[system["pure_B_run"]]}  # fmt: skip
    outputs = {"row": str(tmp_path / "IrTi.csv"), "details": str(tmp_path / "IrTi.json")}
    report = run("aimd_hmix.py", {"input": inputs, "output": outputs,
                                  "params": {"checks": {}, "protocol": protocol}}, "hmix")  # fmt: skip
    assert report.startswith("1\n") and "too small for the liquid checks, use more atoms" in report, report
    assert not Path(outputs["row"]).exists()
