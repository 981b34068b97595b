"""One protocol, every engine: a run's volume loop, production and outcome on the ASE engine (EMT) and on VASP
(the stand-in executable under custodian); failures that end as not_computed rows; exit codes; the commands.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import SETTINGS

from hmixal.aimd.ase_engine import AseEngine, AseEngineSettings
from hmixal.aimd.campaign import EX_OK, EX_TEMPFAIL, campaign_status, make_engine, run_job
from hmixal.aimd.engine import StageState
from hmixal.aimd.protocol import (
    FINISHED,
    NOT_COMPUTED,
    ProtocolSettings,
    advance_run,
    prepare_run,
    read_outcome,
)
from hmixal.aimd.results import binary_result
from hmixal.aimd.systems import melting_points, plan_runs
from hmixal.aimd.trace import read_trace
from hmixal.cli import main
from hmixal.dataset import POTENTIAL_MD, reference_engine
from hmixal.elements import load_element_table
from hmixal.errors import InputError

FAKE_VASP = Path(__file__).parent / "fake_vasp" / "fake_vasp.py"
SCRIPTS = Path(__file__).parents[1] / "scripts"
FAST_RUNNER = {"vasp_cmd": [sys.executable, str(FAKE_VASP)], "polling_time_step_s": 0.02, "monitor_freq": 1}
ELEMENTS = load_element_table()
# Small EMT cells: a whole binary (three runs, each a volume loop and a production) in well under a minute.
EMT = AseEngineSettings(calculator="emt", sample_interval=5, frame_interval=20, start_steps=100)
EMT_PROTOCOL = ProtocolSettings(volume_run_ps=1.0, production_ps=3.0)


def emt_run(tmp_path: Path, counts: dict[str, int], seed: int = 1, protocol: ProtocolSettings = EMT_PROTOCOL) -> Path:
    engine = AseEngine(EMT, seed)
    label = "".join(f"{k}{v}" for k, v in counts.items())
    run_dir = prepare_run(tmp_path / label, engine, counts, 1400.0, protocol, seed, ELEMENTS)
    progress = advance_run(run_dir, engine, protocol)
    assert progress.state in (FINISHED, NOT_COMPUTED), progress
    return run_dir


@pytest.fixture(scope="module")
def emt_binary(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Ag32Cu32, Ag64 and Cu64 at 1400 K through the whole protocol with asap3 EMT (the CI EMT loop)."""
    root = tmp_path_factory.mktemp("emt")
    return (
        emt_run(root, {"Ag": 32, "Cu": 32}, 1),
        emt_run(root, {"Ag": 64}, 2),
        emt_run(root, {"Cu": 64}, 3),
    )


# ---------------------------------------------------------------------------------------------------------
# the ASE engine through the protocol (real dynamics in CI)


def test_emt_runs_go_through_the_nvt_volume_loop(emt_binary: tuple[Path, Path, Path]) -> None:
    for run_dir in emt_binary:
        outcome = read_outcome(run_dir)
        assert outcome["state"] == FINISHED, outcome
        volume = json.loads((run_dir / "volume.json").read_text())
        assert volume["state"] == "converged"
        # every stage's mean pressure and H are recorded for the zero-pressure correction
        assert all({"pressure_kbar", "h_kJ_per_mol", "volume_A3"} <= set(p) for p in volume["history"])
        trace = read_trace(run_dir / "trace.csv")
        assert trace.ensemble == "NVT" and "conserved_eV" in trace.table
        assert abs(outcome["production"]["pressure_kbar"]) < 15.0  # the loop found the liquid near P = 0
        assert outcome["engine"]["is_dft"] is False and outcome["engine"]["engine"] == "ase"


def test_emt_binary_row_is_potential_md_with_corrections_and_checks(emt_binary: tuple[Path, Path, Path]) -> None:
    result = binary_result(*emt_binary, protocol=EMT_PROTOCOL)
    row = result.row
    assert (row["A"], row["B"], row["x_B"], row["T_K"]) == ("Ag", "Cu", 0.5, 1400.0)
    assert row["status"] == "value" and np.isfinite(row["hmix_kJ_per_mol"]) and 0 < row["uncertainty_kJ_per_mol"] < 3
    # not DFT: its own source type, the engine named first in the reference
    assert row["source_type"] == POTENTIAL_MD and reference_engine(row["reference"]) == "emt"
    assert "(asap3 " in row["reference"] and "{" not in row["reference"]  # versions as text, not a dict
    for details in result.details["runs"].values():
        assert details["zero_pressure"]["method"] in ("stages", "bound")
        assert {"drift", "order", "cavity"} <= set(details["checks"])


def test_a_run_the_engine_gives_up_on_is_not_computed_and_the_binary_says_why(tmp_path: Path) -> None:
    # 20 fs is far beyond what EMT copper conserves (docs/aimd_emt.md): the stage blows up or fails a check
    engine = AseEngine(AseEngineSettings(calculator="emt", timestep_fs=40.0, start_steps=20), 4)
    run_dir = prepare_run(tmp_path / "Cu32", engine, {"Cu": 32}, 1400.0, EMT_PROTOCOL, 4, ELEMENTS)
    progress = advance_run(run_dir, engine, EMT_PROTOCOL)
    assert progress.state == NOT_COMPUTED and "vol_00" in progress.reason
    outcome = read_outcome(run_dir)
    assert outcome["state"] == NOT_COMPUTED and outcome["reason"] == progress.reason
    # a rerun gives the same answer at once (failures are sticky), no exception
    assert advance_run(run_dir, engine, EMT_PROTOCOL).state == NOT_COMPUTED


def test_settings_changed_under_a_run_are_refused(emt_binary: tuple[Path, Path, Path]) -> None:
    run_dir = emt_binary[1]
    with pytest.raises(InputError, match="engine settings changed since this run started"):
        advance_run(run_dir, AseEngine(AseEngineSettings(calculator="emt", timestep_fs=4.0), 2), EMT_PROTOCOL)
    with pytest.raises(InputError, match="protocol settings changed"):
        advance_run(run_dir, AseEngine(EMT, 2), ProtocolSettings(volume_run_ps=0.5, production_ps=2.0))


# ---------------------------------------------------------------------------------------------------------
# the campaign: one irrecoverable run does not block the others


def run_script(name: str, **sections: object) -> None:
    """Run a rule script as Snakemake would, with a stand-in for its ``snakemake`` object."""
    namespaces = {k: SimpleNamespace(**v) if isinstance(v, dict) else v for k, v in sections.items()}
    saved = sys.stderr  # the scripts send stderr to the rule's log, as the repository's scripts do
    try:
        runpy.run_path(str(SCRIPTS / name), init_globals={"snakemake": SimpleNamespace(**namespaces)})
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise
    finally:
        if sys.stderr is not saved:
            sys.stderr.close()
        sys.stderr = saved
        for handler in logging.getLogger().handlers[:]:  # basicConfig bound a handler to the closed log file
            logging.getLogger().removeHandler(handler)


def test_campaign_with_one_irrecoverable_run_completes_with_a_not_computed_row(
    emt_binary: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    # Ag–Cu finished; Au–Cu's gold run "failed": its outcome says so, and both binaries still get their rows.
    root = tmp_path / "runs"
    _, _, cu = emt_binary
    failed = root / "Au64_1400K"
    failed.mkdir(parents=True)
    engine = {"engine": "ase", "is_dft": False, "calculator": "emt"}
    (failed / "outcome.json").write_text(json.dumps(
        {"run": failed.name, "state": NOT_COMPUTED, "reason": "vol_00: temperature above 3 × target",
         "composition": {"Au": 64}, "temperature_K": 1400.0, "engine": engine}))  # fmt: skip
    au_cu = root / "Au32Cu32_1400K"
    au_cu.mkdir()
    (au_cu / "outcome.json").write_text(json.dumps(
        {"run": au_cu.name, "state": FINISHED, "reason": "ok", "composition": {"Au": 32, "Cu": 32},
         "temperature_K": 1400.0, "engine": engine}))  # fmt: skip
    log = str(tmp_path / "log.txt")
    rows = []
    for name, dirs in (("Ag-Cu", emt_binary), ("Au-Cu", (au_cu, failed, cu))):
        row = tmp_path / "binaries" / f"{name}.csv"
        inputs = dict(zip(("alloy", "pure_a", "pure_b"), (str(d / "outcome.json") for d in dirs), strict=True))
        run_script(
            "aimd_hmix.py",
            input=inputs,
            output={"row": str(row), "details": str(row.with_suffix(".json"))},
            params={"checks": {}, "protocol": {"volume_run_ps": 1.0, "production_ps": 2.0}},
            log=[log],
        )  # fmt: skip
        rows.append(str(row))
    table_path = tmp_path / "aimd_results.csv"
    run_script("aimd_collect.py", input={"rows": rows}, output={"table": str(table_path)}, log=[log])
    table = pd.read_csv(table_path, keep_default_na=False)
    assert list(table["status"]) == ["value", "not_computed"]
    assert "Au64_1400K: vol_00: temperature above 3 × target" in table["comment"].iloc[1]
    assert table["hmix_kJ_per_mol"].iloc[1] == ""


# ---------------------------------------------------------------------------------------------------------
# VASP through the same protocol (the stand-in VASP under custodian)


@pytest.fixture
def psp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PMG_VASP_PSP_DIR with tiny fake POTCARs (header keywords only) for Ir and Ti."""
    folder = tmp_path / "psp" / "POT_GGA_PAW_PBE_54"
    folder.mkdir(parents=True)
    for symbol, zval in (("Ir", 9.0), ("Ti_pv", 10.0)):
        element = symbol.split("_")[0]
        (folder / f"POTCAR.{symbol}").write_text(
            f"  PAW_PBE {symbol} 06Sep2000\n {zval}\n parameters from PSCTR are:\n   VRHFIN ={element}: fake\n"
            f"   LEXCH  = PE\n   TITEL  = PAW_PBE {symbol} 06Sep2000\n"
            f"   POMASS =  100.000; ZVAL   =    {zval:.3f}    mass and valenz\n"
            "   ENMAX  =  222.000; ENMIN  =  150.000 eV\n   LPAW   =      T    paw PP\n"
            " END of PSCTR-controll parameters\n local part\n  0.1 0.2 0.3\n End of Dataset\n"
        )
    monkeypatch.setitem(SETTINGS, "PMG_VASP_PSP_DIR", str(tmp_path / "psp"))
    return tmp_path / "psp"


def fake_vasp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **config: object) -> None:
    path = tmp_path / "fake_vasp.json"
    path.write_text(json.dumps(config))
    monkeypatch.setenv("FAKE_VASP_CONFIG", str(path))


def vasp_config(**protocol: float) -> dict:
    return {
        "engine": "vasp",
        "protocol": {"volume_run_ps": 0.3, "production_ps": 0.45, **protocol},
        "reset_failed": False,
        "vasp": {"incar": {}, "runner": dict(FAST_RUNNER)},
    }


IR_TI = {"run_id": "Ir4Ti4_2750K", "kind": "alloy", "A": "Ir", "B": "Ti", "n_A": 4, "n_B": 4, "T_K": 2750.0}


def test_vasp_run_through_the_protocol_records_potcars_and_custodian(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path
) -> None:
    fake_vasp(tmp_path, monkeypatch, eos={"v0_per_atom": 19.5, "b0_kbar": 1200.0, "b0_prime": 5.0}, p_noise_kbar=2.0)
    run_dir = tmp_path / "runs" / "Ir4Ti4_2750K"
    code = run_job(run_dir, IR_TI, vasp_config(), 7, ELEMENTS)
    assert code == EX_OK
    outcome = read_outcome(run_dir)
    assert outcome["state"] == FINISHED, outcome
    assert outcome["engine"]["is_dft"] is True and outcome["engine"]["md_settings"]["encut_eV"] == 400.0
    production = outcome["stages"]["production"]
    assert [p["symbol"] for p in production["potcars"]] == ["Ir", "Ti_pv"]
    assert all(len(p["sha256"]) == 64 for p in production["potcars"])
    assert production["effective_incar"]["IBRION"] == 0 and production["segments"][0]["outcome"] == "completed"
    trace = read_trace(run_dir / "trace.csv")
    assert trace.engine == "vasp" and len(trace.table) == 150
    # the status command reads it back: one finished run
    status = campaign_status(tmp_path / "runs", make_engine(vasp_config(), 0), 0.1)
    assert list(status["state"]) == [FINISHED]


@pytest.mark.slow
@pytest.mark.parametrize("b0_GPa", [5.0, 120.0, 300.0])
def test_vasp_loop_converges_on_hot_stand_in_dynamics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path, b0_GPa: float
) -> None:
    # Correlated pressure noise (AR(1), 15 kbar per step, 20-step correlation), a drifting conserved energy and
    # 2 % of steps at NELM, from a soft to a refractory liquid; V0 12 % away from the start volume.
    start = 19.5 * 1.12
    fake_vasp(
        tmp_path, monkeypatch, eos={"v0_per_atom": 19.5, "b0_GPa": b0_GPa, "b0_prime": 4.5}, p_noise_kbar=15.0,
        p_corr_steps=20, drift_eV_per_ps=0.05, nelm_fraction=0.02, seed=int(b0_GPa),
    )  # fmt: skip
    run_dir = tmp_path / "runs" / "Ir4Ti4_2750K"
    config = vasp_config(volume_run_ps=0.6, production_ps=1.2, max_production_ps=1.2)
    monkeypatch.setattr("hmixal.aimd.protocol.liquid_start_volume_A3", lambda *args: 8 * start)
    assert run_job(run_dir, IR_TI, config, 11, ELEMENTS) == EX_OK
    outcome = read_outcome(run_dir)
    assert outcome["state"] == FINISHED, outcome["reason"]
    volume = json.loads((run_dir / "volume.json").read_text())
    assert volume["state"] == "converged" and 2 <= len(volume["history"]) <= 10
    # the stand-in's true mean pressure at the chosen volume (its EOS plus the ions' kinetic pressure) is small
    v0, v, b0 = 8 * 19.5, volume["volume_A3"], 10.0 * b0_GPa
    eta = (v0 / v) ** (2.0 / 3.0)
    static = 1.5 * b0 * (eta**3.5 - eta**2.5) * (1.0 + 0.75 * (4.5 - 4.0) * (eta - 1.0))
    kinetic = 8 * 8.617333262e-5 * 2750.0 / v * 1602.1766208  # N k_B T / V in kbar
    assert abs(static + kinetic) < 10.0, (static + kinetic, volume["reason"])
    trace = read_trace(run_dir / "trace.csv")
    assert {"conserved_eV", "scf_steps"} <= set(trace.table.columns)


def test_vasp_failure_exits_and_fast_fail_on_resubmission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(SETTINGS, "PMG_VASP_PSP_DIR", raising=False)  # no POTCARs: the job cannot run
    fake_vasp(tmp_path, monkeypatch)
    run_dir = tmp_path / "runs" / "Ir4Ti4_2750K"
    with pytest.raises(InputError, match="VASP cannot run here"):
        run_job(run_dir, IR_TI, vasp_config(), 7, ELEMENTS, attempt=1)
    assert json.loads((run_dir / "error.json").read_text())["attempt"] == 1
    # the resubmitted job (Snakemake's retry) stops at once with the first job's message
    with pytest.raises(InputError, match="attempt 1 stopped with an error a new job would repeat"):
        run_job(run_dir, IR_TI, vasp_config(), 7, ELEMENTS, attempt=2)
    assert not (run_dir / "outcome.json").exists()


def test_vasp_walltime_exit_75_then_the_next_job_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path
) -> None:
    fake_vasp(tmp_path, monkeypatch, eos={"v0_per_atom": 19.5, "b0_kbar": 1200.0, "b0_prime": 5.0}, p_noise_kbar=2.0)
    run_dir = tmp_path / "runs" / "Ir4Ti4_2750K"
    config = vasp_config()
    config["vasp"]["runner"] = {**FAST_RUNNER, "walltime_s": 1.0, "walltime_buffer_s": 1.0}
    started = dt.datetime.now() - dt.timedelta(seconds=10)  # the job's time is already used up
    assert run_job(run_dir, IR_TI, config, 7, ELEMENTS, job_start=started) == EX_TEMPFAIL
    assert not (run_dir / "outcome.json").exists()
    assert run_job(run_dir, IR_TI, vasp_config(), 7, ELEMENTS, attempt=2) == EX_OK
    assert read_outcome(run_dir)["state"] == FINISHED


def test_a_custodian_failure_ends_the_run_as_not_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path
) -> None:
    # VASP dies at every start with a fatal error custodian cannot fix: the stage fails, the run is not_computed
    fake_vasp(tmp_path, monkeypatch, errors=[{"message": "segmentation fault", "at_step": 1, "fatal": True}])
    run_dir = tmp_path / "runs" / "Ir4Ti4_2750K"
    config = vasp_config()
    config["vasp"]["runner"] = {**FAST_RUNNER, "max_errors": 1}
    assert run_job(run_dir, IR_TI, config, 7, ELEMENTS) == EX_OK
    outcome = read_outcome(run_dir)
    assert outcome["state"] == NOT_COMPUTED and outcome["reason"].startswith("vol_00")


# ---------------------------------------------------------------------------------------------------------
# commands a user needs during a campaign


def test_aimd_inputs_writes_every_file_of_a_system_without_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(SETTINGS, "PMG_VASP_PSP_DIR", raising=False)
    out = tmp_path / "irti"
    code = main(["aimd", "inputs", "ir-ti", "--config", "config/aimd_paper.yaml", "--out", str(out), "--format", "csv"])
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert list(table["run_id"]) == ["Ir50Ti50_2750K", "Ir100_2750K", "Ti100_2750K"]
    for run_id in table["run_id"]:
        stage = out / run_id / "vol_00"
        assert {"INCAR", "KPOINTS", "POSCAR", "POTCAR.spec"} <= {p.name for p in stage.iterdir()}
    assert (out / "Ir50Ti50_2750K" / "vol_00" / "POTCAR.spec").read_text().split() == ["Ir", "Ti_pv"]
    # a second call never mixes runs into an existing folder
    assert main(["aimd", "inputs", "Ir-Ti", "--config", "config/aimd_paper.yaml", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_the_paper_plan_shares_pure_runs_and_the_status_of_a_fresh_campaign(tmp_path: Path) -> None:
    plan = plan_runs({"binaries": [{"system": "Ir-Mo", "T_K": 2750}]}, melting_points(ELEMENTS))
    assert set(plan.runs["run_id"]) == {"Ir50Mo50_2750K", "Ir100_2750K", "Mo100_2750K"}
    with pytest.raises(InputError, match="no runs here yet"):
        campaign_status(tmp_path / "absent", None, 0.1)
    (tmp_path / "runs" / "Ir100_2750K").mkdir(parents=True)
    status = campaign_status(tmp_path / "runs", None, 0.1)
    assert status["state"].iloc[0] == "not prepared"


def test_stage_state_vocabulary_is_shared() -> None:
    assert {s.value for s in StageState} == {"not_started", "needs_continuation", "finished", "failed"}


def test_vasp_reference_names_the_settings_that_made_the_numbers() -> None:
    # the ENCUT actually used (the old text always said 400 eV), the POTCARs, the smearing, custodian's changes
    from hmixal.aimd.results import reference_text
    from hmixal.aimd.vasp.engine import VaspEngine
    from hmixal.aimd.vasp.inputs import MDSettings
    from hmixal.aimd.vasp.run import RunnerSettings

    engine = VaspEngine(MDSettings(encut_eV=520.0), RunnerSettings(vasp_cmd=("vasp",))).provenance()
    stages = {"production": {"potcars": [{"symbol": "Ir"}, {"symbol": "Ti_pv"}],
                             "segments": [{"incar_changes": {"LREAL": ["Auto", False]}}]}}  # fmt: skip
    text = reference_text(engine, [{"run": "Ir50Ti50_2750K", "stages": stages}])
    assert "PBE_54: Ir, Ti_pv" in text and "ENCUT 520.0 eV" in text and "fermi smearing" in text
    assert text.endswith("custodian changed LREAL Auto→False (Ir50Ti50_2750K/production)")
