"""Tests of the `hmixal` command line."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pandas as pd
import pytest

from hmixal.cli import build_parser, main


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for command in build_parser()._subparsers._group_actions[0].choices:
        assert command in text


def test_miedema_csv():
    code, out, _ = run("miedema", "Al-Ni", "Zr-Cu", "--x", "0.5", "--format", "csv")
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["A", "B", "x_B", "hmix_kJ_per_mol"]
    assert list(frame["A"] + "-" + frame["B"]) == ["Al-Ni", "Cu-Zr"]
    assert frame["hmix_kJ_per_mol"].tolist() == pytest.approx([-22.68, -22.70], abs=0.01)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("miedema", "Al-Xx"), "unknown element 'Xx'"),
        (("miedema", "Al-Ni", "--x", "1.2"), "strictly between 0 and 1"),
        (("miedema", "AlNi"), "write it as A-B"),
    ],
)
def test_miedema_bad_input(argv, message):
    code, out, err = run(*argv)
    assert code == 2 and out == "" and message in err


def test_aimd_import_writes_the_run_and_refuses_truncated(tmp_path):
    from test_aimd_vasp import write_vasp_dir

    run_dir = write_vasp_dir(tmp_path / "vasp_run")
    code, out, err = run("aimd", "import", str(run_dir), "--results", str(tmp_path / "results"), "--format", "csv")
    assert code == 0, err
    row = pd.read_csv(io.StringIO(out)).iloc[0]
    assert row["run_id"] == "Al2Ni2_2000K" and row["steps"] == 3
    imported = tmp_path / "results" / "aimd" / "imported" / "Al2Ni2_2000K"
    assert (imported / "trace.csv").is_file() and (imported / "trajectory.extxyz").is_file()
    code, _, err = run("aimd", "import", str(run_dir), "--results", str(tmp_path / "results"))
    assert code == 2 and "--force" in err
    cut = write_vasp_dir(tmp_path / "killed", outcar_steps=2, footer=False)
    code, _, err = run("aimd", "import", str(cut), "--results", str(tmp_path / "r2"))
    assert code == 2 and "truncat" in err.lower()
    assert list((tmp_path / "r2" / "aimd" / "imported").iterdir()) == []


def test_predict_names_the_command_when_the_model_is_missing(tmp_path):
    code, out, err = run("predict", "Al-Ni", "--results", str(tmp_path))
    assert code == 2 and out == ""
    assert "no trained model" in err and "snakemake" in err and "bootstrap.py run" in err


def test_plan_names_the_command_when_missing_and_prints_the_top(tmp_path):
    code, _, err = run("plan", "--results", str(tmp_path))
    assert code == 2 and "acquisition_plan.csv" in err and "snakemake" in err
    folder = tmp_path / "uncertainty"
    folder.mkdir()
    pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "A": ["Ir", "Os", "Al"],
            "B": ["Ti", "Zr", "W"],
            "max_variance": [60.0, 55.0, 40.0],
            "mean_variance": [50.0, 45.0, 30.0],
            "x_at_max": [0.5, 0.4, 0.6],
            "cluster": [2, 2, 3],
            "n_points_in_dataset": [0, 0, 9],
        }
    ).to_csv(folder / "acquisition_plan.csv", index=False)
    code, out, err = run("plan", "--top", "2", "--results", str(tmp_path), "--format", "csv")
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert list(table["A"] + "-" + table["B"]) == ["Ir-Ti", "Os-Zr"]
