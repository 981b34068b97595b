"""An engine's Table 1 results side by side with the paper's (hmixal.aimd.table1)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hmixal.aimd.table1 import NOT_RUN, calibration_table, compare, engine_row, engine_table, reference_systems
from hmixal.errors import InputError

REPO = Path(__file__).resolve().parent.parent
ENGINE = {"engine": "mlip", "is_dft": False, "model": {"name": "chgnet", "label": "CHGNet 0.3.0", "version": "0.4.2"}}


def write_binary(folder: Path, a: str, b: str, h: dict[str, float], status: str = "value") -> None:
    """A binary's aimd_hmix outputs: the row and details with the three runs' H (kJ/mol) and zero-P moves."""
    runs = {}
    for label, composition in ((f"{a}32{b}32", {a: 32, b: 32}), (f"{a}64", {a: 64}), (f"{b}64", {b: 64})):
        outcome = {"composition": composition, "engine": ENGINE, "production": {"pressure_kbar": -3.5},
                   "stages": {"production": {"inputs": {"target_fs": 999.0}}}}  # fmt: skip
        runs[label] = {"outcome": outcome, "enthalpy": {"h_kJ_per_mol": h[label], "sem_kJ_per_mol": 0.3},
                       "zero_pressure": {"correction_kJ_per_mol": 0.5, "sem_kJ_per_mol": 0.4}}  # fmt: skip
    (folder / f"{a}-{b}.json").write_text(json.dumps({"runs": runs}), encoding="utf-8")
    row = {"A": a, "B": b, "x_B": 0.5, "hmix_kJ_per_mol": None, "T_K": 2750.0, "source_type": "potential_md",
           "source": "x", "reference": "engine=chgnet; not DFT", "uncertainty_kJ_per_mol": None, "status": status,
           "comment": "phase separation" if status == "phase_separation" else "ok"}  # fmt: skip
    pd.DataFrame([row]).to_csv(folder / f"{a}-{b}.csv", index=False)


def test_reference_systems_are_table_1() -> None:
    systems = reference_systems(REPO / "data" / "aimd_bizot2026.csv")
    assert len(systems) == 37 and (systems["aimd_status"] == "value").sum() == 29
    assert systems.set_index("system").loc["Ir-Ti", "aimd_kJ_per_mol"] == pytest.approx(-79.87)


def test_engine_row_keeps_the_value_of_a_demixed_alloy(tmp_path: Path) -> None:
    write_binary(tmp_path, "Ca", "W", {"Ca32W32": -400.0, "Ca64": -200.0, "W64": -590.0}, "phase_separation")
    row = engine_row(tmp_path / "Ca-W.csv", tmp_path / "Ca-W.json")
    # every run moved by +0.5 to P = 0: ΔH = (−400 + 0.5) − ½(−200 + 0.5) − ½(−590 + 0.5) = +(395 − 400) = −5
    assert row["hmix_kJ_per_mol"] == pytest.approx(-5.0)
    assert row["uncertainty_kJ_per_mol"] == pytest.approx(np.sqrt(0.25 + 2 * 0.25 * 0.25), abs=1e-4)
    assert row["phase_separation"] and row["n_atoms"] == 64 and row["production_ps"] == pytest.approx(0.999)
    assert row["model"] == "CHGNet 0.3.0 (chgnet 0.4.2)" and row["mean_pressure_kbar"] == -3.5


def test_compare_scores_values_and_separations(tmp_path: Path) -> None:
    systems = reference_systems(REPO / "data" / "aimd_bizot2026.csv")
    write_binary(tmp_path, "Ir", "Ti", {"Ir32Ti32": -100.0, "Ir64": -60.0, "Ti64": -60.0})  # ΔH = −40 (AIMD −79.87)
    write_binary(tmp_path, "Os", "Zr", {"Os32Zr32": -100.0, "Os64": -90.0, "Zr64": -90.0})  # ΔH = −10 (AIMD −42.73)
    write_binary(tmp_path, "Mg", "Re", {"Mg32Re32": -50.0, "Mg64": -60.0, "Re64": -60.0}, "phase_separation")
    write_binary(tmp_path, "Ca", "W", {"Ca32W32": -50.0, "Ca64": -40.0, "W64": -40.0})  # missed: −10 and mixed
    write_binary(tmp_path, "Os", "Si", {"Os32Si32": -90.0, "Os64": -60.0, "Si64": -60.0}, "not_computed")
    engine = engine_table(tmp_path, systems)
    assert sorted(engine["system"]) == ["Ca-W", "Ir-Ti", "Mg-Re", "Os-Si", "Os-Zr"]
    table = calibration_table(systems, engine)
    assert (table["status"] == NOT_RUN).sum() == 32
    summary = compare(table, ["hmix_kJ_per_mol"])
    overall = summary["overall"]["hmix_kJ_per_mol"]
    assert overall["n"] == 2 and overall["bias"] == pytest.approx((39.87 + 32.73) / 2)
    assert overall["sign_agreement"] == 1.0 and summary["Ir"]["hmix_kJ_per_mol"]["n"] == 1
    assert summary["values_not_computed"] == ["Os-Si"]  # its −30 kJ/mol is kept in the table, not scored
    separations = summary["phase_separations"]
    assert separations["flagged"] == ["Mg-Re"] and separations["positive_hmix"] == ["Mg-Re"]
    assert separations["missed"] == ["Ca-W"] and separations["n_computed"] == 2 and separations["false_alarms"] == []
    assert separations["not_computed"] == []


def test_broken_details_name_the_file(tmp_path: Path) -> None:
    write_binary(tmp_path, "Ir", "Ti", {"Ir32Ti32": -100.0, "Ir64": -60.0, "Ti64": -60.0})
    (tmp_path / "Ir-Ti.json").write_text('{"runs": ', encoding="utf-8")
    with pytest.raises(InputError, match=r"Ir-Ti\.json.*not JSON"):
        engine_row(tmp_path / "Ir-Ti.csv", tmp_path / "Ir-Ti.json")
