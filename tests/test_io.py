"""Tests of the atomic writers."""

from __future__ import annotations

import stat

import pandas as pd
import pytest

from hmixal.io import atomic_path, write_csv


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
