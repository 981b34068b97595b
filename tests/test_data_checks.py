"""Bad input must not pass the data stage silently: each case goes through the real reader or rule script.

Plausibility bound and scale flags (J/mol, kJ/mol in ESPEI files), tables that add no row, wrong delimiters,
the CALPHAD single low-quality source rule, and CALPHAD database files that do not load.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hmixal.calphad.consensus import SINGLE_SOURCE_EXCLUDED, excluded_binaries, single_source_exclusion
from hmixal.calphad.loading import load_liquid_database
from hmixal.calphad.table import derive_calphad_table
from hmixal.dataset import (
    DEFAULT_MAX_ABS_HMIX_KJ,
    NOT_LOADED,
    merge_dataset,
    read_dataset_csv,
    read_load_report,
    summary_markdown,
)
from hmixal.errors import InputError
from hmixal.espei import read_espei_folder
from hmixal.io import write_csv
from hmixal.miedema_model import hmix_grid
from hmixal.resources import element_table_path

REPO = Path(__file__).resolve().parents[1]
DERIVED = REPO / "data" / "derived"
J_PER_MOL_REASON = (
    "implausible value: |hmix| = 45000 kJ/mol exceeds 200 kJ/mol: the value looks like J/mol (divide by 1000)"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def merge_spec(tmp_path: Path, user: list[Path], **extra: object) -> dict:
    """A merge_dataset.py spec over the committed CALPHAD/calorimetry tables plus the given user tables."""
    out = tmp_path / "out"
    spec = {
        "input": {
            "calphad": str(DERIVED / "calphad_hmix.csv"),
            "calorimetry": str(DERIVED / "calorimetry.csv"),
            "rejects": [str(DERIVED / "calorimetry_rejects.csv")],
            "load_report": str(DERIVED / "calphad_load_report.csv"),
            "user": [str(p) for p in user],
        },
        "output": {
            "dataset": str(out / "dataset.csv"),
            "rejected": str(out / "rejected.csv"),
            "summary": str(out / "summary.json"),
            "summary_md": str(out / "summary.md"),
        },
        "params": {"max_rejects": 50, "max_abs_hmix": DEFAULT_MAX_ABS_HMIX_KJ},
        "log": str(tmp_path / "merge.log"),
    }
    spec["input"].update(extra.pop("input", {}))  # type: ignore[arg-type]
    spec["params"].update(extra.pop("params", {}))  # type: ignore[arg-type]
    return spec


def run_merge(run_script, spec: dict) -> tuple[dict, str]:
    """Run the merge script; return the summary and the log (fails the test when the script fails)."""
    done = run_script("merge_dataset.py", spec)
    log = Path(spec["log"]).read_text()
    assert done.returncode == 0, done.stderr + log
    return json.loads(Path(spec["output"]["summary"]).read_text()), log


# --- 1. plausibility bound and scale -----------------------------------------------------------------------


def test_bound_is_justified_by_the_data_and_miedema() -> None:
    grid = hmix_grid()["hmix_miedema_kJ_per_mol"]
    calphad = pd.read_csv(DERIVED / "calphad_hmix.csv", keep_default_na=False, na_values=[""])["hmix_kJ_per_mol"]
    # docs/dataset.md: Miedema −135.3 … +140.4 over the 2415 binaries, data −77.5 … +54.1 kJ/mol.
    assert grid.min() == pytest.approx(-135.3, abs=0.05) and grid.max() == pytest.approx(140.4, abs=0.05)
    assert calphad.min() == pytest.approx(-77.5, abs=0.05) and calphad.max() == pytest.approx(54.1, abs=0.05)
    assert max(grid.abs().max(), calphad.abs().max()) < DEFAULT_MAX_ABS_HMIX_KJ


def test_user_table_in_j_per_mol_is_rejected_by_the_merge(tmp_path, run_script) -> None:
    user = write(
        tmp_path / "lab.csv",
        "A,B,x_B,hmix_kJ_per_mol,T_K\nAl,Ni,0.5,-45000,1923\nCu,Zr,0.5,-22.1,\nAl,Ni,0.3,-4.5e7,1923\n",
    )
    spec = merge_spec(tmp_path, [user])
    summary, log = run_merge(run_script, spec)
    rejected = pd.read_csv(spec["output"]["rejected"], keep_default_na=False)
    mine = rejected[rejected["file"] == str(user)]
    assert mine[["line", "reason"]].values.tolist() == [
        [2, J_PER_MOL_REASON],
        [
            4,
            "implausible value: |hmix| = 4.5e+07 kJ/mol exceeds 200 kJ/mol: far beyond any liquid alloy, "
            "check the column and the unit",
        ],
    ]
    dataset = pd.read_csv(spec["output"]["dataset"], keep_default_na=False, na_values=[""])
    assert dataset["hmix_kJ_per_mol"].abs().max() < 100  # neither row entered the dataset
    assert (dataset["source"] == "lab.csv").sum() == 1  # the good row did
    assert summary["rejects"]["by_reason"] == {"implausible value": 2}
    assert "WARNING" in log and J_PER_MOL_REASON in log
    # A tighter configured bound rejects more; below 1000 no unit explains the value, so none is suggested.
    table = read_dataset_csv(user, max_abs_hmix=20.0)
    assert table.rejects["reason"].tolist()[1] == (
        "implausible value: |hmix| = 22.1 kJ/mol exceeds 20 kJ/mol (dataset.max_abs_hmix_kJ_per_mol): "
        "check the value and its unit"
    )


def test_espei_file_written_in_kj_per_mol_is_rejected_as_wrong_unit(tmp_path, run_script) -> None:
    folder = tmp_path / "espei"
    dataset = {
        "components": ["AL", "NI"],
        "phases": ["LIQUID"],
        "solver": {
            "mode": "manual",
            "sublattice_site_ratios": [1],
            "sublattice_configurations": [[["AL", "NI"]]] * 3,
            "sublattice_occupancies": [[[0.75, 0.25]], [[0.5, 0.5]], [[0.25, 0.75]]],
        },
        "conditions": {"P": 101325, "T": 1923},
        "output": "HM_MIX",
        "values": [[[-38.2, -45.0, -35.1]]],  # kJ/mol, where ESPEI expects J/mol
        "reference": "lab2025",
    }
    write(folder / "AL-NI-kj.json", json.dumps(dataset))
    good = {**dataset, "values": [[[-38200, -45000, -35100]]], "reference": "lab2025b"}
    write(folder / "AL-NI-j.json", json.dumps(good))
    table, _ = read_espei_folder(folder)
    assert table.rows["hmix_kJ_per_mol"].tolist() == [-38.2, -45.0, -35.1]  # the J/mol file loads
    rejects = table.rejects
    assert rejects["location"].tolist() == ["values[0][0][0]", "values[0][0][1]", "values[0][0][2]"]
    assert set(rejects["file"]) == {str(folder / "AL-NI-kj.json")}
    assert (
        rejects["reason"]
        .iloc[0]
        .startswith(
            "wrong unit: the file's values look like kJ/mol, but ESPEI's HM_MIX is J/mol: median |value| 38.2 J/mol"
        )
    )
    assert "AL-NI-kj.json: adds no row: all 3 point(s) rejected" in table.notes
    # Through the calorimetry rule script: the stage rejects carry the reason, the log warns.
    out = tmp_path / "out"
    spec = {
        "input": {},
        "output": {"table": str(out / "cal.csv"), "rejects": str(out / "rej.csv")},
        "params": {"folder": str(folder)},
        "log": str(tmp_path / "cal.log"),
    }
    done = run_script("read_calorimetry.py", spec)
    log = (tmp_path / "cal.log").read_text()
    assert done.returncode == 0, done.stderr + log
    assert pd.read_csv(out / "rej.csv")["reason"].str.startswith("wrong unit").sum() == 3
    assert "WARNING" in log and "adds no row" in log


def test_source_off_in_scale_is_flagged_in_summary_and_log(tmp_path, run_script) -> None:
    # As an ESPEI file in kJ/mol would come out if it reached the merge: Al–Ni 1000 times too small; and
    # Ag–Cu (Miedema ≈ +2, CALPHAD ≈ +3.5 kJ/mol) some 50–100 times too large, still under the 200 kJ/mol bound.
    small = write(
        tmp_path / "small.csv",
        "A,B,x_B,hmix_kJ_per_mol,source_type\nAl,Ni,0.25,-0.0382,calorimetry\nAl,Ni,0.5,-0.045,calorimetry\n",
    )
    large = write(tmp_path / "large.csv", "A,B,x_B,hmix_kJ_per_mol\nAg,Cu,0.5,195\nAg,Cu,0.3,190\n")
    spec = merge_spec(tmp_path, [small, large])
    summary, log = run_merge(run_script, spec)
    flagged = {(w["source"], w["check"]) for w in summary["warnings"]}
    assert flagged == {
        ("small.csv", "scale vs Miedema"),
        ("small.csv", "scale vs other sources for the same binaries"),
        ("large.csv", "scale vs Miedema"),
        ("large.csv", "scale vs other sources for the same binaries"),
    }
    by_source = {w["source"]: w["message"] for w in summary["warnings"] if w["check"] == "scale vs Miedema"}
    assert by_source["small.csv"].startswith("scale: median |value| / |Miedema| = 0.00")
    assert "too small: kJ/mol written where J/mol is expected" in by_source["small.csv"]
    assert "too large: J/mol written where kJ/mol is expected" in by_source["large.csv"]
    markdown = Path(spec["output"]["summary_md"]).read_text()
    assert "## Warnings: 4" in markdown and f"{small} (small.csv): scale:" in markdown
    assert log.count("WARNING hmixal.dataset") == 4


def test_committed_data_raise_no_flag(tmp_path, run_script) -> None:
    summary, log = run_merge(run_script, merge_spec(tmp_path, []))
    assert summary["warnings"] == [] and summary["sources_not_loaded"] == []
    assert summary["rejects"]["total"] == 0 and "WARNING" not in log


# --- 2. tables that add no row; wrong delimiter ------------------------------------------------------------


def test_tables_that_add_no_row_are_warned_about(tmp_path, run_script) -> None:
    header_only = write(tmp_path / "header_only.csv", "A,B,x_B,hmix_kJ_per_mol\n")
    all_bad = write(tmp_path / "all_bad.csv", "A,B,x_B,hmix_kJ_per_mol\nXx,Ni,0.5,-4\nAl,Al,0.5,-3\n")
    spec = merge_spec(tmp_path, [header_only, all_bad])
    summary, log = run_merge(run_script, spec)
    notes = {w["file"]: w["message"] for w in summary["warnings"] if w["check"] == "no rows"}
    assert notes == {
        str(header_only): "adds no row: no data row (header only)",
        str(all_bad): "adds no row: all 2 row(s) rejected",
    }
    assert f"WARNING hmixal.dataset: {header_only}: adds no row: no data row (header only)" in log
    assert f"- {all_bad}: adds no row: all 2 row(s) rejected" in Path(spec["output"]["summary_md"]).read_text()


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("A;B;x_B;hmix_kJ_per_mol\nAl;Ni;0.5;-45\n", "the header looks ';'-separated: hmixal reads comma-separated"),
        (
            "A\tB\tx_B\thmix_kJ_per_mol\nAl\tNi\t0.5\t-45\n",
            "the header looks tab-separated: hmixal reads comma-separated",
        ),
    ],
)
def test_wrong_delimiter_gets_a_hint(tmp_path, run_script, text: str, hint: str) -> None:
    path = write(tmp_path / "lab.csv", text)
    with pytest.raises(InputError, match=hint) as error:
        read_dataset_csv(path)
    assert str(error.value).startswith(f"{path}:1: missing column(s): A, B, x_B, hmix_kJ_per_mol")
    spec = merge_spec(tmp_path, [path])
    done = run_script("merge_dataset.py", spec)
    assert done.returncode != 0 and hint in Path(spec["log"]).read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file: no header line"),
        ("# only a comment\n", "empty file: no header line"),
        ("A,B,x_B\nAl,Ni,0.5\n", ":1: missing column(s): hmix_kJ_per_mol (required: A, B, x_B, hmix_kJ_per_mol)"),
    ],
)
def test_empty_file_and_missing_column_stay_clear(tmp_path, text: str, message: str) -> None:
    with pytest.raises(InputError) as error:
        read_dataset_csv(write(tmp_path / "lab.csv", text))
    assert message in str(error.value) and "separated" not in str(error.value)


# --- 3. CALPHAD: single low-quality source rule -------------------------------------------------------------

GA_ND = """\
ELEMENT VA VACUUM 0 0 0 !
ELEMENT GA ORTHORHOMBIC_GA 69.723 5572 40.828 !
ELEMENT ND DHCP 144.24 7133 71.086 !
PHASE LIQUID:L % 1 1.0 !
CONSTITUENT LIQUID:L :GA,ND: !
PARAMETER G(LIQUID,GA;0) 298.15 +5491-18.07*T; 6000 N !
PARAMETER G(LIQUID,ND;0) 298.15 +7000-5.2*T; 6000 N !
PARAMETER L(LIQUID,GA,ND;0) 298.15 {L0}; 6000 N !
"""
TM = {"Ga": 302.91, "Nd": 1294.0}


def test_single_source_rule_decisions() -> None:
    miedema = np.array([-30.0, -40.0, -30.0])
    weak = np.array([-0.9, -1.25, -0.9])
    test_file = "nims_examples/test/Nd-mag.TDB"
    reason = single_source_exclusion(test_file, weak, miedema)
    assert reason is not None and reason.startswith(SINGLE_SOURCE_EXCLUDED)
    assert "max |ΔH| 1.25 kJ/mol, less than 0.2 × Miedema's 40 kJ/mol" in reason
    assert single_source_exclusion("cost507/COST507.tdb", weak, miedema) is None  # not a test/example file
    assert single_source_exclusion(test_file, miedema * 3, miedema) is None  # stronger than Miedema: kept
    assert single_source_exclusion(test_file, miedema * 0.5, miedema) is None  # within the factor
    assert single_source_exclusion(test_file, weak * 0.1, miedema * 0.2) is None  # less than 10 kJ/mol apart
    assert single_source_exclusion(test_file, weak, miedema, factor=0.0) is None  # rule off


def test_placeholder_from_a_single_test_file_is_excluded(tmp_path, run_script, repo_dir) -> None:
    root = tmp_path / "refdata"
    write(root / "student_examples/test/Ga-Nd/placeholder.TDB", GA_ND.replace("{L0}", "-5000"))
    chosen, candidates, report = derive_calphad_table(root, TM, x_grid=[0.25, 0.5, 0.75], verify_plain_load=False)
    assert chosen.empty
    assert candidates["chosen"].tolist() == [False] * 3
    assert candidates["reason"].str.startswith(SINGLE_SOURCE_EXCLUDED).all()
    assert excluded_binaries(candidates) == [("Ga", "Nd", "student_examples/test/Ga-Nd/placeholder.TDB")]
    notes = report.set_index("file").loc["student_examples/test/Ga-Nd/placeholder.TDB", "notes"]
    assert "excluded by the single low-quality source rule: Ga-Nd" in notes
    # The same parameters in an assessed database's folder, or a real assessment in a test folder, are kept.
    other = tmp_path / "other"
    write(other / "assessed/GaNd.TDB", GA_ND.replace("{L0}", "-5000"))
    write(other / "examples/test/Ga-Nd/real.TDB", GA_ND.replace("{L0}", "-160000"))
    chosen, candidates, _ = derive_calphad_table(other, TM, x_grid=[0.25, 0.5, 0.75], verify_plain_load=False)
    assert candidates["reason"].str.startswith(SINGLE_SOURCE_EXCLUDED).sum() == 0
    assert len(chosen) == 3
    # Through the rule script: the log names the excluded binary.
    out = tmp_path / "out"
    spec = {
        "input": {"elements": str(element_table_path())},
        "output": {
            "table": str(out / "calphad_hmix.csv"),
            "candidates": str(out / "calphad_candidates.csv"),
            "load_report": str(out / "calphad_load_report.csv"),
        },
        "params": {
            "folder": str(root),
            "calphad": {
                "x_grid": [0.25, 0.5, 0.75],
                "t_offset_K": 50,
                "t_cap_K": 2000,
                "disagreement_threshold_kJ_per_mol": 5.0,
                "single_source_factor": 0.2,
                "single_source_gap_kJ_per_mol": 10.0,
            },
        },
        "log": str(tmp_path / "derive.log"),
    }
    done = run_script("derive_calphad.py", spec)
    log = (tmp_path / "derive.log").read_text()
    assert done.returncode == 0, done.stderr + log
    assert "WARNING derive_calphad: Ga-Nd excluded: its only source student_examples/test/Ga-Nd/placeholder.TDB" in log
    assert "1 excluded by the single low-quality source rule (Ga-Nd)" in log


def test_committed_candidates_exclude_exactly_dy_ga_and_ga_nd() -> None:
    candidates = pd.read_csv(DERIVED / "calphad_candidates.csv", keep_default_na=False)
    chosen = pd.read_csv(DERIVED / "calphad_hmix.csv", keep_default_na=False)
    source = "by_student_opencalphad_examples/test/B-Fe-Nd/4-system/Nd-mag-STAM_en.TDB"
    assert excluded_binaries(candidates) == [("Dy", "Ga", source), ("Ga", "Nd", source)]
    pairs = set(zip(chosen["A"], chosen["B"], strict=True))
    assert ("Dy", "Ga") not in pairs and ("Ga", "Nd") not in pairs
    assert len(pairs) == 234 and len(chosen) == 2106
    report = pd.read_csv(DERIVED / "calphad_load_report.csv", keep_default_na=False).set_index("file")
    assert "excluded by the single low-quality source rule: Dy-Ga, Ga-Nd" in report.loc[source, "notes"]


# --- 4. CALPHAD database files that do not load -------------------------------------------------------------

UNDECLARED = """\
ELEMENT VA VACUUM 0 0 0 !
ELEMENT AL FCC_A1 26.98 4577.3 28.32 !
PHASE LIQUID:L % 1 1.0 !
CONSTITUENT LIQUID:L :AL,NI: !
PARAMETER G(LIQUID,AL;0) 298.15 +11000-11.8*T; 6000 N !
PARAMETER G(LIQUID,NI;0) 298.15 +12000-10*T; 6000 N !
PARAMETER L(LIQUID,AL,NI;0) 298.15 -40000+5*T; 6000 N !
"""
BAD_EXPRESSION = """\
ELEMENT VA VACUUM 0 0 0 !
ELEMENT AL FCC_A1 26.98 4577.3 28.32 !
ELEMENT NI FCC_A1 58.69 4787 29.796 !
PHASE LIQUID:L % 1 1.0 !
CONSTITUENT LIQUID:L :AL,NI: !
PARAMETER G(LIQUID,AL;0) 298.15 +11000-11.8*T; 6000 N !
PARAMETER G(LIQUID,NI;0) 298.15 +12000-10*T; 6000 N !

PARAMETER L(LIQUID,AL,NI;0) 298.15 -40000+*5*T; 6000 N !
"""
BAD_SPECIES = """\
ELEMENT VA VACUUM 0 0 0 !
ELEMENT AL FCC_A1 26.98 4577.3 28.32 !
ELEMENT NI FCC_A1 58.69 4787 29.796 !
SPECIES ALNI AL1NI1/++ !
PHASE LIQUID:L % 1 1.0 !
CONSTITUENT LIQUID:L :AL,ALNI,NI: !
PARAMETER G(LIQUID,AL;0) 298.15 +11000-11.8*T; 6000 N !
PARAMETER G(LIQUID,NI;0) 298.15 +12000-10*T; 6000 N !
PARAMETER L(LIQUID,AL,NI;0) 298.15 -40000+5*T; 6000 N !
"""


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (UNDECLARED, 4, "CONSTITUENT LIQUID lists NI, but no ELEMENT or SPECIES command declares NI"),
        (
            BAD_EXPRESSION,
            9,
            "PARAMETER L(LIQUID,AL,NI;0): the expression '-40000+*5*T' is not valid arithmetic (invalid syntax",
        ),
        # Not caught by the checks before pycalphad: the failing command is found by loading prefixes.
        (BAD_SPECIES, 4, "pycalphad cannot read the command 'SPECIES ALNI AL1NI1/++ !': ValueError"),
    ],
)
def test_load_failure_names_file_line_and_problem(tmp_path, text: str, line: int, problem: str) -> None:
    path = write(tmp_path / "bad.tdb", text)
    with pytest.raises(InputError) as error:
        load_liquid_database(path)
    assert error.value.path == str(path) and error.value.line == line
    assert str(error.value).startswith(f"{path}:{line}: {problem}")


def test_not_loaded_databases_are_reported_by_the_merge_not_counted(tmp_path, run_script) -> None:
    root = tmp_path / "refdata"
    write(root / "a/undeclared.tdb", UNDECLARED)
    write(root / "b/bad_expression.TDB", BAD_EXPRESSION)
    tm = {"Al": 933.47, "Ni": 1728.0}
    _, _, report = derive_calphad_table(root, tm, x_grid=[0.5], verify_plain_load=False)
    failed = report[report["status"] == "failed"].set_index("file")
    assert failed["error_line"].to_dict() == {"a/undeclared.tdb": 4, "b/bad_expression.TDB": 9}
    assert failed.loc["a/undeclared.tdb", "error"].startswith("CONSTITUENT LIQUID lists NI")
    write_csv(report, tmp_path / "calphad_load_report.csv")
    rejects = read_load_report(tmp_path / "calphad_load_report.csv")
    assert rejects[["file", "line"]].values.tolist() == [["a/undeclared.tdb", 4], ["b/bad_expression.TDB", 9]]
    # Through the merge script with max_rejects = 0: the run succeeds, the files are listed.
    spec = merge_spec(
        tmp_path,
        [],
        input={"load_report": str(tmp_path / "calphad_load_report.csv")},
        params={"max_rejects": 0},
    )
    summary, log = run_merge(run_script, spec)
    rejected = pd.read_csv(spec["output"]["rejected"], keep_default_na=False)
    assert rejected["file"].tolist() == ["a/undeclared.tdb", "b/bad_expression.TDB"]
    assert rejected["line"].tolist() == [4, 9]
    assert rejected["reason"].str.startswith(f"{NOT_LOADED}: CALPHAD database not read").all()
    assert "declares NI" in rejected["reason"].iloc[0]
    assert summary["rejects"]["total"] == 0
    assert [(s["file"], s["line"]) for s in summary["sources_not_loaded"]] == [
        ("a/undeclared.tdb", 4),
        ("b/bad_expression.TDB", 9),
    ]
    assert "## Sources not loaded: 2 (not counted as rejects)" in Path(spec["output"]["summary_md"]).read_text()
    assert "WARNING hmixal.dataset: a/undeclared.tdb:4: source not loaded" in log


def test_merge_library_keeps_not_loaded_apart_from_rejects(tmp_path) -> None:
    frame = pd.DataFrame(
        [
            {"file": "x.tdb", "status": "failed", "error": "no liquid phase", "error_line": ""},
            {"file": "y.tdb", "status": "loaded", "error": "", "error_line": ""},
        ]
    )
    frame.to_csv(tmp_path / "report.csv", index=False)
    not_loaded = read_load_report(tmp_path / "report.csv")
    user = read_dataset_csv(write(tmp_path / "u.csv", "A,B,x_B,hmix_kJ_per_mol\nAl,Ni,0.5,-20\n"))
    merged = merge_dataset([user], max_rejects=0, not_loaded=not_loaded)
    assert merged.rejects["file"].tolist() == ["x.tdb"] and pd.isna(merged.rejects["line"].iloc[0])
    assert merged.summary["rejects"]["total"] == 0
    assert merged.summary["sources_not_loaded"] == [
        {
            "file": "x.tdb",
            "line": None,
            "reason": f"{NOT_LOADED}: CALPHAD database not read, its binaries are missing (no liquid phase)",
        }
    ]
    assert "- x.tdb: source not loaded" in summary_markdown(merged.summary)
