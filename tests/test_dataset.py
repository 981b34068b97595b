"""Tests of dataset reading, validation, normalisation, merge and summary (and the merge script)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml

from hmixal.dataset import (
    DATASET_COLUMNS,
    REJECT_COLUMNS,
    SOURCE_TYPES,
    STATUSES,
    TooManyRejectsError,
    merge_dataset,
    read_dataset_csv,
    read_rejects_csv,
    rejects_frame,
    summary_json,
    summary_markdown,
)
from hmixal.elements import ELEMENTS
from hmixal.errors import InputError
from hmixal.io import write_csv

HEADER = "A,B,x_B,hmix_kJ_per_mol,T_K,source_type,source,reference\n"
# A reject as an upstream stage (the calorimetry reader) writes it.
UPSTREAM_REJECT = {
    "file": "x.json",
    "line": None,
    "location": "values[0][0][3]",
    "reason": "non-numeric value: v",
    "raw": "",
}


def write(tmp_path: Path, text: str, name: str = "user.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def reasons(table) -> dict[int, str]:
    """Reject reasons keyed by physical line."""
    return {int(r["line"]): r["reason"] for r in table.rejects.to_dict("records")}


# --- reading one file: good rows, defaults, comments, line numbers ---------------------------------------


def test_minimal_user_file_gets_defaults(tmp_path):
    path = write(tmp_path, "A,B,x_B,hmix_kJ_per_mol\nAl,Ni,0.5,-49.4\n")
    table = read_dataset_csv(path)
    row = table.rows.iloc[0]
    assert (row["A"], row["B"], row["x_B"], row["hmix_kJ_per_mol"]) == ("Al", "Ni", 0.5, -49.4)
    assert row["source_type"] == "user"  # default for a user table
    assert row["source"] == "user.csv"  # the file name, not the machine-dependent path
    assert row["reference"] == "" and math.isnan(row["T_K"]) and math.isnan(row["uncertainty_kJ_per_mol"])
    assert row["status"] == "value" and row["line"] == 2
    assert len(table.rejects) == 0 and table.n_read == 1


def test_comments_blank_lines_bom_and_quoted_multiline_keep_physical_lines(tmp_path):
    text = (
        "\ufeff# a comment before the header\n"
        "\n"
        "A,B,x_B,hmix_kJ_per_mol,reference\n"  # line 3
        'Cu,Zr,0.5,-22.7,"Author, A.\n(1999)"\n'  # lines 4-5
        "  # indented comment\n"  # line 6
        "\n"
        "Cu,Zr,0.4,bad,x\n"  # line 8
    )
    table = read_dataset_csv(write(tmp_path, text))
    assert list(table.rows["line"]) == [4]
    assert table.rows.iloc[0]["reference"] == "Author, A.\n(1999)"
    assert reasons(table) == {8: "non-numeric value: hmix_kJ_per_mol = 'bad'"}
    assert table.rejects.iloc[0]["raw"] == "Cu,Zr,0.4,bad,x"


def test_header_only_file_is_an_empty_table(tmp_path):
    table = read_dataset_csv(write(tmp_path, HEADER), default_source_type="aimd")
    assert len(table.rows) == 0 and len(table.rejects) == 0 and list(table.rows.columns)[:9] == list(DATASET_COLUMNS)


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# only a comment\n# and another\n"], ids=["zero bytes", "blank", "comments"]
)
def test_empty_file_is_an_input_error(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=re.escape(f"{path}: empty file")):
        read_dataset_csv(path)


def test_missing_columns_name_file_line_and_columns(tmp_path):
    path = write(tmp_path, "# c\nA,B,xB,hmix\nAl,Ni,0.5,-1\n")
    with pytest.raises(InputError) as error:
        read_dataset_csv(path)
    assert str(error.value).startswith(f"{path}:2: missing column(s): x_B, hmix_kJ_per_mol")
    assert error.value.line == 2


def test_repeated_column_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="repeated column"):
        read_dataset_csv(write(tmp_path, "A,B,x_B,hmix_kJ_per_mol,B\nAl,Ni,0.5,-1,Ni\n"))


def test_non_utf8_file_names_the_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER.encode() + "Al,Ni,0.5,-1,,user,Müller,x\n".encode("latin-1"))
    with pytest.raises(InputError, match=re.escape(f"{path}:2: not UTF-8")):
        read_dataset_csv(path)


# --- every bad row: a reject with file, line and reason; the good rows of the same file survive ----------

BAD_ROWS = {
    "Xx,Ni,0.5,-1,,,,": "unknown element: A = 'Xx' is not one of the 70 elements",
    "Al,H,0.5,-1,,,,": "unknown element: B = 'H' is not one of the 70 elements",
    "Ni,Ni,0.5,-1,,,,": "same element: A = B = Ni",
    "Al,Ni,0,-1,,,,": "x_B out of range: x_B = 0 is not in (0, 1)",
    "Al,Ni,1,-1,,,,": "x_B out of range: x_B = 1 is not in (0, 1)",
    "Al,Ni,1.5,-1,,,,": "x_B out of range: x_B = 1.5 is not in (0, 1)",
    "Al,Ni,-0.2,-1,,,,": "x_B out of range: x_B = -0.2 is not in (0, 1)",
    "Al,Ni,abc,-1,,,,": "non-numeric value: x_B = 'abc'",
    "Al,Ni,0.5,X,,,,": "non-numeric value: hmix_kJ_per_mol = 'X'",
    "Al,Ni,0.5,nan,,,,": "non-finite value: hmix_kJ_per_mol = nan",
    "Al,Ni,0.5,-inf,,,,": "non-finite value: hmix_kJ_per_mol = -inf",
    "Al,Ni,0.5,,,,,": "missing value: hmix_kJ_per_mol is empty",
    "Al,Ni,0.5,-1,0,,,": "T_K not positive: T_K = 0",
    "Al,Ni,0.5,-1,-300,,,": "T_K not positive: T_K = -300",
    "Al,Ni,0.5,-1,1e400,,,": "non-finite value: T_K = inf",
    "Al,Ni,0.5,-1,,dft,,": "unknown source_type: 'dft' (allowed: calphad, calorimetry, aimd, potential_md, user)",
    "Al,Ni,0.5,-1,,,": "wrong field count: 7 fields, header has 8",
    "Al,Ni,0.5,-1,,,,,extra": "wrong field count: 9 fields, header has 8",
}


def test_each_bad_row_is_rejected_and_good_rows_survive(tmp_path):
    good = ["Al,Ni,0.25,-30.1,1900,user,lab,ref1", "Cu,Zr,0.5,-22.7,,calorimetry,lab,ref2"]
    lines = [good[0], *BAD_ROWS, good[1]]
    path = write(tmp_path, HEADER + "\n".join(lines) + "\n")
    table = read_dataset_csv(path)
    expected = {i + 3: reason for i, reason in enumerate(BAD_ROWS.values())}  # header 1, first good 2
    assert reasons(table) == expected
    assert set(table.rejects["file"]) == {str(path)}
    assert list(table.rejects["raw"]) == list(BAD_ROWS)
    assert list(table.rows["line"]) == [2, len(lines) + 1]
    assert list(table.rows["hmix_kJ_per_mol"]) == [-30.1, -22.7]
    assert list(table.rows["source_type"]) == ["user", "calorimetry"]  # a user table may label its rows
    assert table.n_read == len(lines)


def test_duplicate_row_names_the_line_of_the_first(tmp_path):
    text = HEADER + "Al,Ni,0.5,-49.4,1923,,s,r\nAl,Ni,0.5,-49.4,1923,,s,r\nAl,Ni,0.5,-49.0,1923,,s,r\n"
    # The swapped spelling of the same point (Ni-Al at x_Al = 0.5) is a duplicate too.
    text += "Ni,Al,0.50,-49.4,1923.0,,s,r\n"
    table = read_dataset_csv(write(tmp_path, text))
    assert reasons(table) == {3: "duplicate: same as line 2", 5: "duplicate: same as line 2"}
    assert list(table.rows["line"]) == [2, 4]  # a different value at the same point is a distinct row


def test_swapped_order_is_normalised_not_rejected(tmp_path):
    table = read_dataset_csv(write(tmp_path, HEADER + "Ni,Al,0.3,-40,,,,\nal,NI,0.7,-41,,,,\n"))
    assert len(table.rejects) == 0
    first, second = table.rows.to_dict("records")
    assert (first["A"], first["B"], first["x_B"], first["swapped"]) == ("Al", "Ni", 0.7, True)
    assert (second["A"], second["B"], second["x_B"], second["swapped"]) == ("Al", "Ni", 0.7, False)


def test_status_column_keeps_x_and_na_apart_from_numbers(tmp_path):
    text = (
        "A,B,x_B,hmix_kJ_per_mol,T_K,status\n"
        "Ca,Os,0.5,,3300,phase_separation\n"
        "As,Os,0.5,,3300,not_computed\n"
        "Al,Os,0.5,-30.31,3300,value\n"
        "Mg,Os,0.5,-1.0,3300,phase_separation\n"  # a number with a non-value status: rejected
        "Al,Re,0.5,,3500,value\n"  # a value row without a value: rejected
        "Al,W,0.5,-3.0,3700,broken\n"
        "Al,Ir,0.5,-70.4,2750,\n"  # empty status means value
    )
    table = read_dataset_csv(write(tmp_path, text), default_source_type="aimd")
    assert list(table.rows["status"]) == ["phase_separation", "not_computed", "value", "value"]
    assert table.rows["hmix_kJ_per_mol"].isna().tolist() == [True, True, False, False]
    assert set(table.rows["source_type"]) == {"aimd"}
    assert reasons(table) == {
        5: "value with non-value status: status phase_separation must leave hmix_kJ_per_mol empty",
        6: "missing value: hmix_kJ_per_mol is empty",
        7: f"unknown status: 'broken' (allowed: {', '.join(STATUSES)})",
    }


def test_uncertainty_is_optional_and_non_negative(tmp_path):
    text = "A,B,x_B,hmix_kJ_per_mol,uncertainty_kJ_per_mol\nAl,Ni,0.5,-49,2\nAl,Ni,0.6,-48,-1\nAl,Ni,0.7,-45,\n"
    table = read_dataset_csv(write(tmp_path, text))
    assert reasons(table) == {3: "negative uncertainty: uncertainty_kJ_per_mol = -1"}
    assert table.rows["uncertainty_kJ_per_mol"].tolist()[0] == 2.0
    assert math.isnan(table.rows["uncertainty_kJ_per_mol"].tolist()[1])


def test_extra_columns_are_recorded_and_dropped(tmp_path):
    text = "A,B,x_B,hmix_kJ_per_mol,n_candidates,flag\nAl,Ni,0.5,-49,3,ok\n"
    table = read_dataset_csv(write(tmp_path, text, "calphad.csv"), default_source_type="calphad")
    assert table.extra_columns == ("n_candidates", "flag")
    merged = merge_dataset([table])
    assert list(merged.dataset.columns) == list(DATASET_COLUMNS)
    assert merged.summary["inputs"][0]["dropped_columns"] == ["n_candidates", "flag"]


# --- the published AIMD table ---------------------------------------------------------------------------


def test_aimd_seed_table_has_29_values_8_separations_3_not_computed(repo_dir):
    table = read_dataset_csv(repo_dir / "data" / "aimd_bizot2026.csv", default_source_type="aimd")
    assert len(table.rejects) == 0 and len(table.rows) == 40
    assert table.rows["status"].value_counts().to_dict() == {
        "value": 29,
        "phase_separation": 8,
        "not_computed": 3,
    }
    rows = table.rows.set_index(table.rows["A"] + "-" + table.rows["B"])
    assert (rows["A"] < rows["B"]).all() and (rows["x_B"] == 0.5).all() and not rows["swapped"].any()
    assert set(rows["source_type"]) == {"aimd"}
    # Spot checks against the seed's Table 1 and §4.2 temperatures.
    assert rows.loc["Ir-Sc", ["hmix_kJ_per_mol", "T_K"]].tolist() == [-86.65, 2750.0]
    assert rows.loc["Mo-W", ["hmix_kJ_per_mol", "T_K"]].tolist() == [1.88, 3700.0]
    assert rows.loc["Al-Re", ["hmix_kJ_per_mol", "T_K"]].tolist() == [-8.88, 3500.0]
    assert rows.loc["Ca-Os", "status"] == "phase_separation" and rows.loc["Mo-Re", "status"] == "phase_separation"
    assert rows.loc["As-W", "status"] == "not_computed" and math.isnan(rows.loc["As-W", "hmix_kJ_per_mol"])
    temperatures = {"Ir": 2750.0, "Os": 3300.0, "Re": 3500.0, "W": 3700.0}
    for _, row in rows.iterrows():
        refractory = row["comment"].split("-")[0]
        assert row["T_K"] == temperatures[refractory]


@pytest.mark.refdata
def test_aimd_seed_table_matches_every_entry_of_the_paper(repo_dir, refdata_dir):
    """Parse Table 1 from the seed text itself and compare all 40 entries."""
    seeds = sorted((refdata_dir.parent / "seed").glob("*.txt"))
    if not seeds:
        pytest.skip("seed text not found beside refdata")
    text = seeds[0].read_text(encoding="utf-8")
    block = text[text.index("Ir alloys") : text.index("Table 1: Mixing enthalpies")]
    printed = {}
    for system, value in re.findall(r"\b(\w+-\w+)\t(-?[\d.]+|X|N/A)", block):
        printed[system] = value
    assert len(printed) == 40
    table = read_dataset_csv(repo_dir / "data" / "aimd_bizot2026.csv", default_source_type="aimd")
    ours = {}
    for row in table.rows.to_dict("records"):
        value = {"phase_separation": "X", "not_computed": "N/A"}.get(row["status"])
        ours[row["comment"]] = value or row["hmix_kJ_per_mol"]
        a, b = row["comment"].split("-")
        assert (row["A"], row["B"]) == tuple(sorted((a, b)))
    assert ours.keys() == printed.keys()
    for system, value in printed.items():
        assert ours[system] == (value if value in ("X", "N/A") else float(value)), system


# --- merge, reject limit, determinism, summary ----------------------------------------------------------


def small_inputs(tmp_path: Path):
    calphad = write(
        tmp_path,
        "A,B,x_B,hmix_kJ_per_mol,T_K,source_type,source,reference,n_candidates,spread_kJ_per_mol,flag\n"
        "Al,Ni,0.5,-51.8,1900,calphad,mc_ni,doi:a,3,0.4,\n"
        "Cu,Zr,0.5,-22.0,1400,calphad,cost507,doi:b,1,0,\n"
        "Cu,Zr,0.5,-22.0,1400,calphad,cost507,doi:b,1,0,\n",  # duplicate within the file
        "calphad.csv",
    )
    calorimetry = write(
        tmp_path,
        "A,B,x_B,hmix_kJ_per_mol,T_K,source_type,source,reference,uncertainty_kJ_per_mol,status,comment\n"
        "Al,Ni,0.5,-50.2,1923,calorimetry,AL-NI.json,71San,,value,\n"
        "Cr,V,0.5,,298.15,calorimetry,CR-V.json,estimated,,estimated,\n",
        "calorimetry.csv",
    )
    user = write(
        tmp_path,
        "# a lab's own points\nA,B,x_B,hmix_kJ_per_mol,reference\nNi,Al,0.5,-49.0,lab\nZr,Cu,0.25,-18.5,lab\n"
        "Qq,Cu,0.5,1,lab\n",
        "lab.csv",
    )
    aimd = write(
        tmp_path,
        "A,B,x_B,hmix_kJ_per_mol,T_K,source,status\nAl,Ir,0.5,-70.4,2750,t1,value\nCa,Os,0.5,,3300,t1,"
        "phase_separation\n",
        "aimd.csv",
    )
    return calphad, calorimetry, user, aimd


def read_all(paths):
    calphad, calorimetry, user, aimd = paths
    return [
        read_dataset_csv(calphad, "calphad"),
        read_dataset_csv(calorimetry, "calorimetry"),
        read_dataset_csv(user, "user"),
        read_dataset_csv(aimd, "aimd"),
    ]


def test_merge_keeps_value_rows_sorted_and_counts_everything(tmp_path):
    tables = read_all(small_inputs(tmp_path))
    merged = merge_dataset(tables, max_rejects=10)
    data = merged.dataset
    assert list(data.columns) == list(DATASET_COLUMNS)
    assert list(zip(data["A"], data["B"], data["x_B"], data["source_type"], strict=True)) == [
        ("Al", "Ir", 0.5, "aimd"),
        ("Al", "Ni", 0.5, "calorimetry"),
        ("Al", "Ni", 0.5, "calphad"),
        ("Al", "Ni", 0.5, "user"),
        ("Cu", "Zr", 0.5, "calphad"),
        ("Cu", "Zr", 0.75, "user"),
    ]
    summary = merged.summary
    assert summary["points"] == 6 and summary["binaries"] == 3
    assert summary["elements"] == ["Al", "Ni", "Cu", "Zr", "Ir"]  # in ELEMENTS order
    assert summary["by_source_type"]["calphad"] == {"points": 2, "binaries": 2}
    assert summary["by_source_type"]["user"] == {"points": 2, "binaries": 2}
    assert summary["swapped_normalised"] == 2
    assert [(e["A"], e["B"]) for e in summary["excluded_by_status"]["phase_separation"]] == [("Ca", "Os")]
    assert [(e["A"], e["B"]) for e in summary["excluded_by_status"]["estimated"]] == [("Cr", "V")]
    # Al-Ni at x = 0.5 from three sources: all three rows kept, one shared composition counted.
    assert summary["shared_compositions"] == {"compositions": 1, "across_source_types": 1, "rows": 3}
    assert summary["rejects"] == {"total": 2, "by_reason": {"duplicate": 1, "unknown element": 1}}
    assert list(merged.rejects.columns) == list(REJECT_COLUMNS)
    assert set(zip(merged.rejects["file"], merged.rejects["line"], strict=True)) == {
        (str(tmp_path / "calphad.csv"), 4),
        (str(tmp_path / "lab.csv"), 5),
    }
    markdown = summary_markdown(summary)
    assert "phase_separation (1): Ca-Os x_B=0.5 (t1)" in markdown and "| calphad | 2 | 2 |" in markdown
    assert json.loads(summary_json(summary)) == summary


def test_merge_output_is_byte_identical_whatever_the_input_order(tmp_path):
    tables = read_all(small_inputs(tmp_path))
    first = merge_dataset(tables, max_rejects=10).dataset
    second = merge_dataset(list(reversed(tables)), max_rejects=10).dataset
    write_csv(first, tmp_path / "a.csv")
    write_csv(second, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert "0.75," in (tmp_path / "a.csv").read_text()  # 1 − 0.25 prints as 0.75, not 0.7500000000000001


def test_duplicate_across_files_names_the_other_file(tmp_path):
    one = write(tmp_path, HEADER + "Al,Ni,0.5,-49,,,same,r\n", "one.csv")
    two = write(tmp_path, "# c\n" + HEADER + "Al,Ni,0.5,-49,,,same,r\n", "two.csv")
    merged = merge_dataset([read_dataset_csv(one), read_dataset_csv(two)], max_rejects=5)
    assert len(merged.dataset) == 1
    reject = merged.rejects.iloc[0]
    assert (reject["file"], reject["line"], reject["reason"]) == (
        str(two),
        3,
        f"duplicate: same as {one}:line 2",
    )


def test_too_many_rejects_fails_listing_the_first_reasons(tmp_path):
    bad = "".join(f"Xx,Ni,0.{i},-1,,,,\n" for i in range(1, 8))
    path = write(tmp_path, HEADER + bad + "Al,Ni,0.5,-1,,,,\n")
    upstream = rejects_frame([UPSTREAM_REJECT])
    with pytest.raises(TooManyRejectsError) as error:
        merge_dataset([read_dataset_csv(path)], [upstream], max_rejects=7)
    message = str(error.value)
    assert message.startswith("8 input rows rejected, more than the limit max_rejects = 7")
    assert f"{path}:2: unknown element: A = 'Xx'" in message and f"{path}:7:" not in message  # first five
    assert len(error.value.rejects) == 8
    assert len(merge_dataset([read_dataset_csv(path)], [upstream], max_rejects=8).rejects) == 8


def test_rejects_table_round_trips(tmp_path):
    frame = rejects_frame(
        [
            {"file": "a.csv", "line": 3, "location": "", "reason": "r: x", "raw": "Al,Ni"},
            {"file": "b.json", "line": None, "location": "values[0][0][1]", "reason": "r: y", "raw": "{}"},
        ]
    )
    write_csv(frame, tmp_path / "rejects.csv")
    back = read_rejects_csv(tmp_path / "rejects.csv")
    assert back["line"].tolist()[0] == 3 and pd.isna(back["line"].tolist()[1])
    assert back["location"].tolist() == ["", "values[0][0][1]"]
    (tmp_path / "bad.csv").write_text("file,reason\n")
    with pytest.raises(InputError, match="missing column"):
        read_rejects_csv(tmp_path / "bad.csv")


def test_row_schema_accepts_merged_rows_and_matches_the_constants(tmp_path, repo_dir):
    schema = yaml.safe_load((repo_dir / "workflow" / "schemas" / "dataset.schema.yaml").read_text())
    assert tuple(schema["properties"]) == DATASET_COLUMNS
    assert tuple(schema["properties"]["source_type"]["enum"]) == SOURCE_TYPES
    assert tuple(schema["properties"]["A"]["enum"]) == ELEMENTS
    data = merge_dataset(read_all(small_inputs(tmp_path)), max_rejects=10).dataset
    for record in data.astype(object).where(data.notna(), None).to_dict("records"):
        jsonschema.validate(record, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**record, "x_B": 1.0}, schema)


# --- the Snakemake script, run as Snakemake would (a `snakemake` object in its globals) -----------------


def test_merge_script_writes_dataset_rejects_and_summary(tmp_path, run_script):
    calphad, calorimetry, user, aimd = small_inputs(tmp_path)
    upstream = tmp_path / "calorimetry_rejects.csv"
    write_csv(rejects_frame([UPSTREAM_REJECT]), upstream)
    out = tmp_path / "out"
    spec = {
        "input": {
            "calphad": str(calphad),
            "calorimetry": str(calorimetry),
            "user": [str(user)],
            "aimd": str(aimd),
            "rejects": [str(upstream)],
        },
        "output": {
            "dataset": str(out / "dataset.csv"),
            "rejected": str(out / "rejected.csv"),
            "summary": str(out / "summary.json"),
            "summary_md": str(out / "summary.md"),
        },
        "params": {"max_rejects": 3, "max_abs_hmix": 200.0},
        "log": str(tmp_path / "merge.log"),
    }
    done = run_script("merge_dataset.py", spec)
    assert done.returncode == 0, done.stderr + (tmp_path / "merge.log").read_text()
    dataset = pd.read_csv(out / "dataset.csv")
    assert len(dataset) == 6 and list(dataset.columns) == list(DATASET_COLUMNS)
    assert len(pd.read_csv(out / "rejected.csv")) == 3
    assert json.loads((out / "summary.json").read_text())["rejects"]["total"] == 3
    assert (out / "summary.md").read_text().startswith("# Dataset summary")
    assert "6 points, 3 binaries" in (tmp_path / "merge.log").read_text()

    spec["params"]["max_rejects"] = 2
    spec["output"] = {k: str(tmp_path / "fail" / Path(v).name) for k, v in spec["output"].items()}
    failed = run_script("merge_dataset.py", spec)
    log = (tmp_path / "merge.log").read_text()
    assert failed.returncode != 0 and "3 input rows rejected, more than the limit max_rejects = 2" in log
    assert "all rejects:" in log and not (tmp_path / "fail" / "dataset.csv").exists()


def test_the_documented_example_loads_as_described(tmp_path, repo_dir):
    text = (repo_dir / "docs" / "dataset.md").read_text(encoding="utf-8")
    example = text.split("```csv\n", 1)[1].split("```", 1)[0]
    table = read_dataset_csv(write(tmp_path, example, "lab_x.csv"))
    assert len(table.rejects) == 0
    rows = table.rows[["A", "B", "x_B", "hmix_kJ_per_mol", "swapped", "source", "line"]].values.tolist()
    assert rows == [
        ["Al", "Ni", 0.25, -38.2, False, "lab_x.csv", 3],
        ["Al", "Ni", 0.6, -47.9, True, "lab_x.csv", 4],
        ["Cu", "Zr", 0.5, -22.1, False, "lab_x.csv", 5],
    ]
    assert math.isnan(table.rows["T_K"].iloc[2]) and table.rows["reference"].iloc[2] == "Doe, J. (2024) Thesis, p. 12"
