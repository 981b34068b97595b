"""Tests of the atomic writers and of the manifests their consumers check."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pandas as pd
import pytest

from hmixal.dataset import read_table
from hmixal.errors import InputError
from hmixal.io import atomic_path, write_csv, write_text
from hmixal.manifest import (
    in_pipeline_tree,
    load_manifest,
    manifest_path,
    read_verified_csv,
    read_verified_text,
    verify_file,
)


def test_write_csv_is_stable_and_readable(tmp_path):
    frame = pd.DataFrame({"a": [0.1 + 0.2, 1e-12], "b": ["x", "y"]})
    write_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == "a,b\n0.3,x\n1e-12,y\n"
    mode = stat.S_IMODE((tmp_path / "t.csv").stat().st_mode)
    assert mode & stat.S_IRGRP and mode & stat.S_IROTH


def test_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list((tmp_path / "sub").iterdir()) == []


# --- manifests: what a consumer checks before it trusts a table (hmixal.manifest) ------------------------------


def small_table(rows: int = 5) -> pd.DataFrame:
    """A table like the pipeline's: element symbols (Na stays text), numbers, an empty cell."""
    return pd.DataFrame(
        {
            "A": ["Al", "Cu", "Fe", "Na", "Ni"][:rows] * (rows // 5 or 1),
            "B": ["Ni", "Zr", "Na", "Zn", "Ti"][:rows] * (rows // 5 or 1),
            "x_B": [0.5] * rows,
            "hmix_kJ_per_mol": [-20.0 + i for i in range(rows)],
            "comment": ["", "x", "", "y", ""][:rows] * (rows // 5 or 1),
        }
    )


def results_dir(tmp_path: Path) -> Path:
    """A folder named like the pipeline's output tree, where a manifest is required by default."""
    folder = tmp_path / "results" / "data"
    folder.mkdir(parents=True)
    return folder


def test_write_csv_records_a_manifest_beside_the_table(tmp_path):
    frame = small_table()
    write_csv(frame, tmp_path / "t.csv")
    data = (tmp_path / "t.csv").read_bytes()
    record = json.loads(manifest_path(tmp_path / "t.csv").read_text())
    assert manifest_path(tmp_path / "t.csv").name == "t.csv.manifest.json"
    assert record["format"] == "hmixal-manifest/1" and record["file"] == "t.csv"
    assert record["rows"] == 5 and record["columns"] == list(frame.columns)
    assert record["bytes"] == len(data) and record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["writer"].startswith("hmixal ")
    # Equal tables give byte-identical manifests (no time stamp): reruns are compared byte for byte.
    write_csv(frame, tmp_path / "again.csv")
    again = json.loads(manifest_path(tmp_path / "again.csv").read_text())
    assert {**again, "file": "t.csv"} == record


def test_verified_table_reads_back_like_the_pipeline_reader(tmp_path):
    folder = results_dir(tmp_path)
    write_csv(small_table(), folder / "t.csv")
    back = read_table(folder / "t.csv")
    assert list(back["A"]) == ["Al", "Cu", "Fe", "Na", "Ni"] and back["comment"].isna().sum() == 3
    assert load_manifest(folder / "t.csv").rows == 5
    assert verify_file(folder / "t.csv").sha256 == hashlib.sha256((folder / "t.csv").read_bytes()).hexdigest()


def test_table_cut_at_a_line_boundary_is_refused_naming_file_and_counts(tmp_path):
    folder = results_dir(tmp_path)
    write_csv(small_table(), folder / "dataset_final.csv")
    lines = (folder / "dataset_final.csv").read_text().splitlines(keepends=True)
    (folder / "dataset_final.csv").write_text("".join(lines[:4]))
    with pytest.raises(InputError) as caught:
        read_table(folder / "dataset_final.csv")
    message = str(caught.value)
    assert message.startswith(str(folder / "dataset_final.csv"))
    assert "has 3 data rows but its writer recorded 5 (content hash differs)" in message
    assert "cut or edited after the rule wrote it; delete it and rerun snakemake" in message


def test_table_cut_mid_line_or_edited_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    write_csv(small_table(), path)
    text = path.read_text()
    path.write_text(text[: len(text) - 7])
    with pytest.raises(InputError, match="has 5 data rows, the last one cut mid-line, where its writer recorded 5"):
        read_verified_csv(path)
    # Same rows, one value changed: only the hash can tell.
    path.write_text(text.replace("-20", "-21"))
    with pytest.raises(InputError, match="has the 5 data rows its writer recorded but different content"):
        read_verified_csv(path)
    # Another header.
    path.write_text(text.replace("hmix_kJ_per_mol", "hmix"))
    with pytest.raises(InputError, match="its columns are not the recorded A, B, x_B, hmix_kJ_per_mol, comment"):
        read_verified_csv(path)


def test_stale_manifest_never_validates_a_new_file(tmp_path):
    # A user (or Snakemake after a failed job) deletes the table but not its manifest, and another file appears.
    path = tmp_path / "t.csv"
    write_csv(small_table(), path)
    path.unlink()
    small_table(3).to_csv(path, index=False)
    with pytest.raises(InputError, match="has 3 data rows but its writer recorded 5"):
        read_verified_csv(path)
    write_csv(small_table(3), path)  # the rule rerun rewrites both
    assert len(read_verified_csv(path)) == 3


def test_missing_manifest_is_refused_inside_results_and_allowed_elsewhere(tmp_path):
    folder = results_dir(tmp_path)
    small_table().to_csv(folder / "t.csv", index=False)
    with pytest.raises(InputError, match=r"has no manifest \(t.csv.manifest.json\).*delete it and rerun snakemake"):
        read_table(folder / "t.csv")
    assert len(read_verified_csv(folder / "t.csv", required=False)) == 5
    small_table().to_csv(tmp_path / "mine.csv", index=False)
    assert len(read_table(tmp_path / "mine.csv")) == 5  # not in a results/ tree: read, unchecked
    with pytest.raises(InputError, match="has no manifest"):
        read_verified_csv(tmp_path / "mine.csv", required=True)
    assert in_pipeline_tree(folder / "t.csv") and not in_pipeline_tree(tmp_path / "mine.csv")


def test_damaged_manifest_is_an_error_naming_it(tmp_path):
    path = tmp_path / "t.csv"
    write_csv(small_table(), path)
    manifest_path(path).write_text("{not json")
    with pytest.raises(InputError, match=r"t.csv.manifest.json: not a valid manifest"):
        read_verified_csv(path)
    manifest_path(path).write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputError, match="not a valid manifest"):
        read_verified_csv(path)


def test_reader_options_that_drop_rows_are_caught(tmp_path):
    write_csv(small_table(), tmp_path / "t.csv")
    with pytest.raises(InputError, match="read as 4 rows but its writer recorded 5"):
        read_verified_csv(tmp_path / "t.csv", skiprows=[1])


def test_text_manifest_is_opt_in_and_counts_lines(tmp_path):
    write_text("a\nb\n", tmp_path / "plain.txt")
    assert not manifest_path(tmp_path / "plain.txt").exists()
    write_text("Fe\nNi\nAl\n", tmp_path / "features.txt", manifest=True)
    assert json.loads(manifest_path(tmp_path / "features.txt").read_text())["rows"] == 3
    assert read_verified_text(tmp_path / "features.txt") == "Fe\nNi\nAl\n"
    (tmp_path / "features.txt").write_text("Fe\nNi\n")
    with pytest.raises(InputError, match="has 2 lines but its writer recorded 3"):
        read_verified_text(tmp_path / "features.txt")


def test_failed_table_write_leaves_no_manifest(tmp_path):
    class Broken(pd.DataFrame):
        def to_csv(self, *args, **kwargs):
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_csv(Broken(small_table()), tmp_path / "sub" / "t.csv")
    assert list((tmp_path / "sub").iterdir()) == []
