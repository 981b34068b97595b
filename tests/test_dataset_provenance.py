"""Provenance of simulated rows in the merge: DFT (aimd) vs interatomic-potential (potential_md) rows, and one
rule for a point that has both a published and a recomputed determination (docs/dataset.md)."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from hmixal.dataset import (
    POTENTIAL_MD,
    SIMULATION_SOURCE_TYPES,
    SOURCE_TYPES,
    TABLE_COLUMNS,
    ProvenancePolicy,
    engine_reference,
    merge_dataset,
    provenance_policy,
    read_dataset_csv,
    reference_engine,
    same_point,
    summary_json,
    summary_markdown,
)
from hmixal.errors import InputError
from hmixal.io import write_csv

REPO = Path(__file__).resolve().parents[1]
TABLE1 = REPO / "data" / "aimd_bizot2026.csv"
HEADER = ",".join(TABLE_COLUMNS) + "\n"
# References in the form the AIMD stage writes them (hmixal.aimd.results.reference_text).
VASP_REF = (
    '"hmixal VASP AIMD (PAW-PBE PBE_54: Ir, Zr_sv; ENCUT 400.0 eV; fermi smearing, σ = k_B·T; NVT Nosé–Hoover, '
    'Γ only; H corrected to P = 0)"'
)
EMT_REF = (
    '"engine=emt; hmixal MD with emt (asap3 3.13.11, ase 3.29.0), not DFT: NVT volume loop + production, '
    'H corrected to P = 0"'
)


def runs(alloy: str, a: str, b: str, t: int) -> str:
    """The results table's ``source``: the three run directories joined by ';'."""
    return f"results/aimd/runs/{alloy}_{t}K;results/aimd/runs/{a}100_{t}K;results/aimd/runs/{b}100_{t}K"


# A results table as the AIMD stage writes it after rerunning part of Table 1 and two new systems:
# Ir-Ti (published -79.87 at 2750 K), Mo-Re (published phase separation at 3500 K, here a value),
# Ir-Mo at 2900 K (published at 2750 K: another temperature, another point), As-Os (published N/A),
# Hf-Ir (new), Ca-W (phase separation reproduced), and an EMT Ag-Cu row.
RESULTS = HEADER + "".join(
    [
        f"Ir,Ti,0.5,-78.9,2750,aimd,{runs('Ir50Ti50', 'Ir', 'Ti', 2750)},{VASP_REF},0.6,value,dH -78.900 ± 0.600\n",
        f"Mo,Re,0.5,-6.2,3500,aimd,{runs('Mo50Re50', 'Mo', 'Re', 3500)},{VASP_REF},0.8,value,dH -6.200 ± 0.800\n",
        f"Ir,Mo,0.5,-27.4,2900,aimd,{runs('Ir50Mo50', 'Ir', 'Mo', 2900)},{VASP_REF},0.7,value,dH -27.400 ± 0.700\n",
        f"As,Os,0.5,-12.5,3300,aimd,{runs('As50Os50', 'As', 'Os', 3300)},{VASP_REF},0.9,value,dH -12.500 ± 0.900\n",
        f"Hf,Ir,0.5,-95.1,2750,aimd,{runs('Hf50Ir50', 'Hf', 'Ir', 2750)},{VASP_REF},0.7,value,dH -95.100 ± 0.700\n",
        f"Ca,W,0.5,,3700,aimd,{runs('Ca50W50', 'Ca', 'W', 3700)},{VASP_REF},,phase_separation,phase separation\n",
        f"Ag,Cu,0.5,2.31,1400,{POTENTIAL_MD},{runs('Ag32Cu32', 'Ag', 'Cu', 1400)},{EMT_REF},0.4,value,dH +2.31\n",
    ]
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_results(path: Path, text: str = RESULTS) -> Path:
    """A results table written as the stage writes it (hmixal.io.write_csv: with its manifest, as results/ needs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False), path)
    return path


@pytest.fixture()
def tables(tmp_path):
    """Table 1 as published and the stage's results table (recomputed)."""
    published = read_dataset_csv(TABLE1, "aimd")
    results = read_dataset_csv(write_results(tmp_path / "results" / "aimd" / "aimd_results.csv"), "aimd")
    results.recomputed = True
    assert published.rejects.empty and results.rejects.empty
    return published, results


def rows_of(dataset: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    return dataset[(dataset["A"] == a) & (dataset["B"] == b)]


# --- the row contract --------------------------------------------------------------------------------------------


def test_engine_is_written_and_read_at_the_start_of_the_reference():
    text = engine_reference("EMT", "hmixal EMT (ASE 3.23.0), not DFT ")
    assert text == "engine=emt; hmixal EMT (ASE 3.23.0), not DFT"
    assert reference_engine(text) == "emt"
    assert reference_engine("engine=mace-mp-0; ASE + MACE-MP-0 medium, not DFT") == "mace-mp-0"
    assert reference_engine("engine=mace.calculators:mace_mp; ASE calculator factory") == "mace.calculators:mace_mp"
    # Not at the start, or no ';' after the name: not an engine reference.
    assert reference_engine("hmixal VASP AIMD (PAW-PBE)") is None
    assert reference_engine("see engine=emt; above") is None
    assert reference_engine("engine=emt") is None
    with pytest.raises(InputError, match="engine name 'EMT potential'"):
        engine_reference("EMT potential", "x")
    assert POTENTIAL_MD in SOURCE_TYPES and set(SIMULATION_SOURCE_TYPES) == {"aimd", POTENTIAL_MD}


def test_a_potential_md_row_without_its_engine_is_rejected(tmp_path):
    path = write(
        tmp_path / "sim.csv",
        HEADER
        + f'Ag,Cu,0.5,2.31,1400,{POTENTIAL_MD},run,"hmixal EMT (ASE 3.23.0), not DFT",0.4,value,\n'
        + f"Ag,Cu,0.25,1.9,1400,{POTENTIAL_MD},run,{EMT_REF},0.4,value,\n",
    )
    table = read_dataset_csv(path, "aimd")
    assert len(table.rows) == 1 and table.rows["x_B"].tolist() == [0.25]
    assert table.rejects["line"].tolist() == [2]
    assert (
        table.rejects["reason"]
        .iloc[0]
        .startswith("missing engine: a potential_md row's reference must start with 'engine=<name>;'")
    )


# --- 1. DFT rows train, potential_md rows only when their engine is named ------------------------------------------


def test_dft_rows_of_new_points_enter_the_dataset_as_aimd(tables):
    merged = merge_dataset(list(tables))
    hf_ir = rows_of(merged.dataset, "Hf", "Ir")
    assert hf_ir[["hmix_kJ_per_mol", "source_type", "uncertainty_kJ_per_mol"]].values.tolist() == [[-95.1, "aimd", 0.7]]
    # A published N/A is no determination: the recomputed As-Os value is new data and trains.
    assert rows_of(merged.dataset, "As", "Os")["hmix_kJ_per_mol"].tolist() == [-12.5]
    # Ir-Mo at 2900 K is another point than the published 2750 K one: both train.
    assert sorted(rows_of(merged.dataset, "Ir", "Mo")["T_K"]) == [2750.0, 2900.0]


def test_potential_md_rows_are_kept_out_unless_their_engine_is_named(tables, caplog):
    with caplog.at_level(logging.WARNING, logger="hmixal.dataset"):
        merged = merge_dataset(list(tables))
    assert rows_of(merged.dataset, "Ag", "Cu").empty
    assert POTENTIAL_MD not in set(merged.dataset["source_type"])
    out = merged.summary["excluded_by_engine"]
    assert (out["train_on_potential_md"], out["total"], out["values"], out["by_engine"]) == ([], 1, 1, {"emt": 1})
    assert out["rows"][0] | {"source": ""} == {
        "A": "Ag",
        "B": "Cu",
        "x_B": 0.5,
        "T_K": 1400.0,
        "status": "value",
        "hmix_kJ_per_mol": 2.31,
        "engine": "emt",
        "source": "",
    }
    assert "1 potential_md row(s) of engine emt kept out of the dataset" in caplog.text
    # Kept out is not rejected: the rejects limit does not see it.
    assert merged.summary["rejects"]["total"] == 0 and merged.rejects.empty

    named = merge_dataset(list(tables), policy=ProvenancePolicy(train_on_potential_md=("EMT",)))
    ag_cu = rows_of(named.dataset, "Ag", "Cu")
    assert ag_cu["source_type"].tolist() == [POTENTIAL_MD] and ag_cu["reference"].str.startswith("engine=emt;").all()
    assert named.summary["excluded_by_engine"]["total"] == 0
    assert named.summary["by_source_type"][POTENTIAL_MD] == {"points": 1, "binaries": 1}
    # Another engine named does not let EMT in.
    other = merge_dataset(list(tables), policy=ProvenancePolicy(train_on_potential_md=("mace-mp-0",)))
    assert rows_of(other.dataset, "Ag", "Cu").empty


def test_potential_md_rows_of_a_user_table_follow_the_same_rule(tmp_path):
    user = read_dataset_csv(
        write(tmp_path / "lab_sim.csv", HEADER + f"Al,Ni,0.5,-45.0,1800,{POTENTIAL_MD},mine,{EMT_REF},,value,\n")
    )
    assert merge_dataset([user]).dataset.empty
    assert len(merge_dataset([user], policy=ProvenancePolicy(train_on_potential_md=("emt",))).dataset) == 1


# --- 2. a published and a recomputed determination of one point ----------------------------------------------------


def test_the_published_value_trains_and_the_recomputed_one_is_reported_beside_it(tables, caplog):
    with caplog.at_level(logging.INFO, logger="hmixal.dataset"):
        merged = merge_dataset(list(tables))
    ir_ti = rows_of(merged.dataset, "Ir", "Ti")
    assert ir_ti[["hmix_kJ_per_mol", "source"]].values.tolist() == [[-79.87, "Bizot et al. 2026 Table 1"]]
    # The paper saw Mo-Re separate: its recomputed value does not train while the published determination is kept.
    assert rows_of(merged.dataset, "Mo", "Re").empty
    recomputed = merged.summary["recomputed"]
    assert (recomputed["prefer"], recomputed["rows"], recomputed["pairs"], recomputed["kept_out_of_training"]) == (
        "published",
        7,
        3,
        2,
    )
    pairs = {(c["A"], c["B"]): c for c in recomputed["comparisons"]}
    assert set(pairs) == {("Ir", "Ti"), ("Mo", "Re"), ("Ca", "W")}
    ir_ti_pair = pairs[("Ir", "Ti")]
    assert ir_ti_pair["difference_kJ_per_mol"] == pytest.approx(-78.9 - -79.87)
    assert ir_ti_pair["published"]["hmix_kJ_per_mol"] == -79.87 and ir_ti_pair["recomputed"]["hmix_kJ_per_mol"] == -78.9
    # Table 1 gives no uncertainty: both are reported, the combined one only when both exist.
    assert ir_ti_pair["published"]["uncertainty_kJ_per_mol"] is None
    assert ir_ti_pair["recomputed"]["uncertainty_kJ_per_mol"] == 0.6
    assert ir_ti_pair["combined_uncertainty_kJ_per_mol"] is None
    assert ir_ti_pair["status_agrees"] and ir_ti_pair["kept"] == "published"
    assert ir_ti_pair["published"]["file"] == str(TABLE1) and ir_ti_pair["recomputed"]["line"] == 2
    assert not pairs[("Mo", "Re")]["status_agrees"] and pairs[("Mo", "Re")]["difference_kJ_per_mol"] is None
    assert pairs[("Ca", "W")]["status_agrees"]  # a phase separation reproduced
    assert "Mo-Re x_B=0.5: published phase_separation (Bizot et al. 2026 Table 1) but recomputed value" in caplog.text
    # Published Table 1 values all still train: 29, plus As-Os, Hf-Ir and Ir-Mo at 2900 K from the rerun.
    assert merged.summary["by_source_type"]["aimd"] == {"points": 32, "binaries": 31}


def test_prefer_recomputed_swaps_which_one_trains(tables):
    merged = merge_dataset(list(tables), policy=ProvenancePolicy(prefer="recomputed"))
    assert rows_of(merged.dataset, "Ir", "Ti")["hmix_kJ_per_mol"].tolist() == [-78.9]
    assert rows_of(merged.dataset, "Mo", "Re")["hmix_kJ_per_mol"].tolist() == [-6.2]
    recomputed = merged.summary["recomputed"]
    # Ir-Ti's published value leaves training; Mo-Re and Ca-W had no published value to remove.
    assert (recomputed["pairs"], recomputed["kept_out_of_training"]) == (3, 1)
    assert {c["kept"] for c in recomputed["comparisons"]} == {"recomputed"}
    assert merged.summary["by_source_type"]["aimd"] == {"points": 33, "binaries": 32}


def test_the_published_value_of_a_point_recomputed_as_separated_leaves_training_only_when_preferred(tmp_path):
    published = read_dataset_csv(TABLE1, "aimd")
    rerun = read_dataset_csv(
        write(
            tmp_path / "aimd_results.csv",
            HEADER + f"Ir,Zr,0.5,,2750,aimd,{runs('Ir50Zr50', 'Ir', 'Zr', 2750)},{VASP_REF},,phase_separation,\n",
        ),
        "aimd",
    )
    rerun.recomputed = True
    kept = merge_dataset([published, rerun])
    assert rows_of(kept.dataset, "Ir", "Zr")["hmix_kJ_per_mol"].tolist() == [-84.22]
    assert kept.summary["recomputed"]["kept_out_of_training"] == 0
    replaced = merge_dataset([published, rerun], policy=ProvenancePolicy(prefer="recomputed"))
    assert rows_of(replaced.dataset, "Ir", "Zr").empty
    assert replaced.summary["recomputed"]["kept_out_of_training"] == 1


def test_measurements_and_calphad_are_not_paired_with_recomputed_simulations(tmp_path):
    # Only published simulations pair: a calorimetric point at the same x and T stays a distinct determination.
    lab = read_dataset_csv(
        write(tmp_path / "lab.csv", HEADER + "Al,Ni,0.5,-49.0,1800,calorimetry,lab,doi:10.0000/x,1.5,value,\n")
    )
    rerun = read_dataset_csv(
        write(tmp_path / "aimd_results.csv", HEADER + f"Al,Ni,0.5,-47.2,1800,aimd,run,{VASP_REF},0.5,value,\n"), "aimd"
    )
    rerun.recomputed = True
    merged = merge_dataset([lab, rerun])
    assert len(merged.dataset) == 2 and merged.summary["recomputed"]["pairs"] == 0
    assert merged.summary["shared_compositions"]["across_source_types"] == 1


def test_an_excluded_engine_never_replaces_a_published_value(tmp_path):
    published = read_dataset_csv(TABLE1, "aimd")
    rerun = read_dataset_csv(
        write(tmp_path / "aimd_results.csv", HEADER + f"Ir,Ti,0.5,-70.0,2750,{POTENTIAL_MD},run,{EMT_REF},,value,\n"),
        "aimd",
    )
    rerun.recomputed = True
    merged = merge_dataset([published, rerun], policy=ProvenancePolicy(prefer="recomputed"))
    assert rows_of(merged.dataset, "Ir", "Ti")["hmix_kJ_per_mol"].tolist() == [-79.87]
    assert merged.summary["recomputed"]["pairs"] == 0 and merged.summary["excluded_by_engine"]["total"] == 1


@pytest.mark.parametrize(
    ("x_b", "t_k", "same"),
    [
        (0.5, 2750.0, True),
        (0.495, 2750.0, True),  # within half a 100-atom step
        (0.49, 2750.0, False),  # the neighbouring 100-atom cell
        (0.5, 2759.0, True),
        (0.5, 2800.0, False),  # the next 50 K step
        (0.5, None, True),  # no temperature: cannot be told apart
    ],
)
def test_same_point_tolerances(x_b, t_k, same):
    published = {"A": "Ir", "B": "Ti", "x_B": 0.5, "T_K": 2750.0}
    recomputed = {"A": "Ir", "B": "Ti", "x_B": x_b, "T_K": t_k}
    assert same_point(published, recomputed, ProvenancePolicy()) is same
    assert not same_point(published, {**recomputed, "B": "V"}, ProvenancePolicy())


def test_policy_from_config_and_its_errors():
    policy = provenance_policy(
        {"train_on_potential_md": ["EMT", "emt"], "recomputed": {"prefer": "recomputed", "T_tolerance_K": 25}}
    )
    assert policy == ProvenancePolicy(("emt",), "recomputed", 0.005, 25)
    assert provenance_policy({}) == ProvenancePolicy()
    with pytest.raises(InputError, match=r"dataset\.recomputed\.prefer must be published or recomputed, got 'newest'"):
        provenance_policy({"recomputed": {"prefer": "newest"}})
    with pytest.raises(InputError, match=r"dataset\.recomputed: unknown key"):
        provenance_policy({"recomputed": {"prefer": "published", "x_tolerance": 0.01}})
    with pytest.raises(InputError, match="must be a list of engine names"):
        provenance_policy({"train_on_potential_md": "emt"})
    with pytest.raises(InputError, match=r"x_B_tolerance must be a number in \[0, 0.5\)"):
        ProvenancePolicy(x_B_tolerance=0.5)


# --- 3. the summary and the rule script ------------------------------------------------------------------------


def test_summary_json_and_markdown_show_both_rules(tables):
    merged = merge_dataset(list(tables))
    summary = json.loads(summary_json(merged.summary))
    assert summary["recomputed"]["comparisons"][0]["A"] == "Ca"  # sorted by A, B
    assert [i["recomputed"] for i in summary["inputs"]] == [False, True]
    text = summary_markdown(merged.summary)
    assert "## Interatomic-potential rows kept out of training: 1 (1 with a value)" in text
    assert "Engines whose `potential_md` rows may train (dataset.train_on_potential_md): none." in text
    assert "## Published and recomputed values of one point: 3 pair(s)" in text
    assert "| Ir | Ti | 0.5 | 2750 | -79.87 |  | -78.9 | 0.6 | +0.970 |  | published |" in text
    assert "| Mo | Re | 0.5 | 3500 | phase_separation |  | -6.2 | 0.8 |  |  | published |" in text


def test_the_merge_script_reads_published_and_simulated_inputs_apart(tmp_path, run_script):
    results = write_results(tmp_path / "results" / "aimd" / "aimd_results.csv")
    out = tmp_path / "out"
    spec = {
        "input": {"aimd": [str(TABLE1)], "simulated": [str(results)]},
        "output": {
            "dataset": str(out / "dataset.csv"),
            "rejected": str(out / "rejected.csv"),
            "summary": str(out / "summary.json"),
            "summary_md": str(out / "summary.md"),
        },
        "params": {
            "max_rejects": 0,
            "max_abs_hmix": 200.0,
            "train_on_potential_md": ["emt"],
            "recomputed": {"prefer": "published", "x_B_tolerance": 0.005, "T_tolerance_K": 10},
        },
        "log": str(tmp_path / "merge.log"),
    }
    done = run_script("merge_dataset.py", spec)
    log = Path(spec["log"]).read_text()
    assert done.returncode == 0, done.stderr + log
    dataset = pd.read_csv(out / "dataset.csv", keep_default_na=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["points"] == len(dataset) == 29 + 3 + 1  # Table 1, three new DFT points, the EMT row
    assert summary["recomputed"]["files"] == [str(results)] and summary["recomputed"]["pairs"] == 3
    assert summary["excluded_by_engine"]["total"] == 0
    assert "Ir-Ti x_B=0.5: published -79.87 (Bizot et al. 2026 Table 1) vs recomputed -78.9" in log
    assert "3 published/recomputed pair(s), 2 value row(s) left out" in log
    assert "Published and recomputed values of one point: 3 pair(s)" in (out / "summary.md").read_text()
