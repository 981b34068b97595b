"""Tests of the acquisition plan: ranking, excluded elements, spreading over clusters, and the AIMD hand-off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hmixal.aimd.systems import read_plan
from hmixal.errors import InputError, MissingArtifactError
from hmixal.io import write_csv
from hmixal.plan import (
    BATCH_COLUMNS,
    DISPLAY_COLUMNS,
    BatchSettings,
    acquisition_plan,
    excluded_systems,
    format_plan,
    load_plan,
)


@pytest.fixture()
def gp_map() -> pd.DataFrame:
    """A small clustered map; C-W is the most uncertain binary, Al-Ni and Cu-Ni tie."""
    return pd.DataFrame(
        {
            "A": ["Al", "C", "Cu", "Ir", "Li", "Ni", "Os", "Al", "Bi"],
            "B": ["Ni", "W", "Ni", "W", "Pb", "Ti", "Ti", "Zr", "Li"],
            "max_variance": [3.0, 20.0, 3.0, 12.0, 1.0, 5.0, 11.0, 4.0, 6.0],
            "x_at_max": [0.3, 0.5, 0.2, 0.6, 0.5, 0.4, 0.5, 0.7, 0.25],
            "cluster": [3, 1, 3, 2, 3, 4, 2, 4, 4],
            "n_points_in_dataset": [9, 0, 9, 0, 4, 5, 0, 0, 2],
            "max_std_kJ_per_mol": np.sqrt([3.0, 20.0, 3.0, 12.0, 1.0, 5.0, 11.0, 4.0, 6.0]),
            "miedema_group": ["TM-nonTM"] * 9,
        }
    )


def _names(plan: pd.DataFrame) -> list[str]:
    return list(plan["A"] + "-" + plan["B"])


def test_plan_ranks_by_variance_and_excludes_carbon(gp_map):
    plan = acquisition_plan(gp_map)
    assert _names(plan) == ["Ir-W", "Os-Ti", "Bi-Li", "Ni-Ti", "Al-Zr", "Al-Ni", "Cu-Ni", "Li-Pb"]
    assert list(plan["rank"]) == list(range(1, 9))
    assert list(plan.columns[:5]) == ["rank", "A", "B", "max_variance", "x_at_max"]
    # Without exclusions the paper's most uncertain binary comes first.
    assert _names(acquisition_plan(gp_map, exclude=[]))[0] == "C-W"
    # Several excluded elements; every binary with any of them leaves the plan.
    plan = acquisition_plan(gp_map, exclude=["C", "W", "Li"])
    assert not plan[["A", "B"]].isin(["C", "W", "Li"]).any().any()
    assert len(plan) == 5


def test_plan_top_and_determinism(gp_map):
    plan = acquisition_plan(gp_map, top=3)
    assert _names(plan) == ["Ir-W", "Os-Ti", "Bi-Li"]
    pd.testing.assert_frame_equal(acquisition_plan(gp_map), acquisition_plan(gp_map.copy()))
    # Ties keep the map's row order: Al-Ni (row 0) before Cu-Ni (row 2); reversing the rows reverses the tie.
    names = _names(acquisition_plan(gp_map))
    assert names.index("Al-Ni") < names.index("Cu-Ni")
    names = _names(acquisition_plan(gp_map.iloc[::-1].reset_index(drop=True)))
    assert names.index("Cu-Ni") < names.index("Al-Ni")


def test_spread_takes_clusters_round_robin(gp_map):
    plan = acquisition_plan(gp_map, order="spread")
    # Clusters in order of their most uncertain eligible binary (C excluded: cluster 1 is empty):
    # 2 (Ir-W 12), 4 (Bi-Li 6), 3 (Al-Ni 3, tie with Cu-Ni broken by row order); then the next of each.
    assert _names(plan) == ["Ir-W", "Bi-Li", "Al-Ni", "Os-Ti", "Ni-Ti", "Cu-Ni", "Al-Zr", "Li-Pb"]
    assert list(plan["cluster"][:3]) == [2, 4, 3]
    assert sorted(_names(plan)) == sorted(_names(acquisition_plan(gp_map)))  # same binaries, other order
    assert _names(acquisition_plan(gp_map, order="spread", top=4)) == ["Ir-W", "Bi-Li", "Al-Ni", "Os-Ti"]


def test_plan_by_mean_variance_and_ties_broken_by_the_other_key(gp_map):
    gp_map["mean_variance"] = [2.0, 15.0, 2.5, 4.0, 0.5, 4.5, 9.0, 1.0, 3.0]
    plan = acquisition_plan(gp_map, rank_by="mean_variance")
    assert _names(plan) == ["Os-Ti", "Ni-Ti", "Ir-W", "Bi-Li", "Cu-Ni", "Al-Ni", "Al-Zr", "Li-Pb"]
    # Al-Ni and Cu-Ni tie on max_variance (3.0); the mean variance (2.0 < 2.5) now puts Cu-Ni first.
    names = _names(acquisition_plan(gp_map))
    assert names.index("Cu-Ni") < names.index("Al-Ni")
    with pytest.raises(InputError, match="rank_by"):
        acquisition_plan(gp_map, rank_by="variance_at_equimolar")
    with pytest.raises(InputError, match="lacks column mean_variance"):
        acquisition_plan(gp_map.drop(columns="mean_variance"), rank_by="mean_variance")


def test_plan_rejects_bad_arguments(gp_map):
    with pytest.raises(InputError, match="unknown excluded element"):
        acquisition_plan(gp_map, exclude=["Xx"])
    with pytest.raises(InputError, match="list of symbols"):
        acquisition_plan(gp_map, exclude="C")
    with pytest.raises(InputError, match="order must be one of batch, ranked, spread"):
        acquisition_plan(gp_map, order="random")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InputError, match="top"):
            acquisition_plan(gp_map, top=bad)
    with pytest.raises(InputError, match="cluster"):
        acquisition_plan(gp_map.drop(columns="cluster"))


def test_written_plan_feeds_the_aimd_stage(gp_map, tmp_path):
    path = tmp_path / "acquisition_plan.csv"
    write_csv(acquisition_plan(gp_map, order="spread"), path)
    assert read_plan(path, 2) == [("Ir", "W", 0.5), ("Bi", "Li", 0.5)]
    assert read_plan(path, 2, composition="x_at_max") == [("Ir", "W", 0.6), ("Bi", "Li", 0.25)]
    loaded = load_plan(path)
    assert _names(loaded)[:3] == ["Ir-W", "Bi-Li", "Al-Ni"]


def test_format_plan_for_the_cli(gp_map, tmp_path):
    shown = format_plan(acquisition_plan(gp_map), top=2)
    # Display columns the plan does not have (here mean_variance and the batch columns) are left out.
    absent = {"mean_variance", *BATCH_COLUMNS}
    assert list(shown.columns) == [c for c in DISPLAY_COLUMNS if c not in absent]
    assert _names(shown) == ["Ir-W", "Os-Ti"]
    assert len(format_plan(acquisition_plan(gp_map), top=100)) == 8
    for bad in (0, 1.5, False):
        with pytest.raises(InputError, match="top"):
            format_plan(acquisition_plan(gp_map), top=bad)


def test_load_plan_errors(tmp_path):
    with pytest.raises(MissingArtifactError, match="snakemake"):
        load_plan(tmp_path / "absent.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("rank,A,B,max_variance,x_at_max,cluster,n_points_in_dataset\n1,Al,Ni,1,0.5,1,0\nx,Cu,Ni,1,0.5,1,0\n")
    with pytest.raises(InputError, match=r"bad.csv:3: rank 'x'"):
        load_plan(bad)
    bad.write_text("rank,A,B\n1,Al,Ni\n")
    with pytest.raises(InputError, match=r"bad.csv:1: missing column"):
        load_plan(bad)


def test_plan_readers_check_the_manifest(gp_map, tmp_path):
    plan = acquisition_plan(gp_map, order="spread")
    path = tmp_path / "results" / "uncertainty" / "acquisition_plan.csv"
    write_csv(plan, path)
    # (Whole-number variances come back as integers: %.10g writes 3.0 as 3.)
    pd.testing.assert_frame_equal(load_plan(path), plan, check_dtype=False)
    assert read_plan(path, 3) == [("Ir", "W", 0.5), ("Bi", "Li", 0.5), ("Al", "Ni", 0.5)]
    # Cut after three binaries: still a valid plan, so only the manifest tells (the AIMD stage asks for the top 3).
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:4]))
    for reader in (load_plan, lambda p: read_plan(p, 3)):
        with pytest.raises(InputError, match=rf"{path}: has 3 data rows but its writer recorded 8 .*cut or edited"):
            reader(path)
    # Two rows swapped by hand: same rows, other bytes.
    path.write_text("".join([lines[0], lines[2], lines[1], *lines[3:]]))
    for reader in (load_plan, lambda p: read_plan(p, 3)):
        with pytest.raises(InputError, match=rf"{path}: has the 8 data rows its writer recorded but different"):
            reader(path)
    # Inside results/ a plan without a manifest is refused; a plan of your own elsewhere is read unchecked.
    path.with_name(path.name + ".manifest.json").unlink()
    with pytest.raises(InputError, match=rf"{path}: has no manifest"):
        load_plan(path)
    with pytest.raises(InputError, match=rf"{path}: has no manifest"):
        read_plan(path, 1)
    own = tmp_path / "my_plan.csv"
    plan.to_csv(own, index=False)
    pd.testing.assert_frame_equal(load_plan(own), plan)  # to_csv writes 3.0, read back as a float
    assert read_plan(own, 1) == [("Ir", "W", 0.5)]


# ---------------------------------------------------------------------------- batch plans (order="batch")

TRAIN = [("Al", "Ni"), ("Cu", "Zr"), ("Fe", "Ni"), ("Bi", "Sn"), ("Mg", "Zn")]
MAP = sorted({*TRAIN, ("Al", "Cu"), ("Co", "Ni"), ("Ir", "W"), ("Os", "Ti"), ("Li", "U"), ("Cs", "Li"), ("C", "W")})


@pytest.fixture(scope="module")
def batch_setup():
    """A GP with fixed hyper-parameters on five binaries, and its map of twelve binaries (clusters by hand)."""
    from hmixal.features import PAPER_AL_FEATURES, FeatureSource
    from hmixal.gp import GPHyper
    from hmixal.gp_map import condition_gp, uncertainty_table
    from hmixal.miedema_model import hmix
    from hmixal.model import model_data
    from hmixal.systems import binary_grid

    source = FeatureSource()
    dataset = binary_grid(TRAIN, np.round(np.arange(1, 10) * 0.1, 10))
    dataset["hmix_kJ_per_mol"] = hmix(dataset["A"], dataset["B"], dataset["x_B"].to_numpy())
    dataset["source_type"] = "calphad"
    hyper = GPHyper((float(np.log(0.3)), 0.0, float(np.log(2.0)), float(np.log(4.0))), n_dim=10)
    gp = condition_gp(model_data(dataset, source), PAPER_AL_FEATURES, hyper)
    table = uncertainty_table(gp, dataset, source, PAPER_AL_FEATURES, step=0.25, pairs=MAP)
    table.insert(4, "cluster", np.arange(len(table)) % 3 + 1)
    return table, BatchSettings(gp, source, PAPER_AL_FEATURES, batch_size=4, objective_step=0.25)


def test_batch_plan_picks_jointly_and_reports_the_reduction(batch_setup):
    table, batch = batch_setup
    plan = acquisition_plan(table, order="batch", rank_by="mean_variance", batch=batch)
    assert len(plan) == len(MAP) - 1 and "C-W" not in _names(plan)
    assert list(plan["rank"]) == list(range(1, len(plan) + 1))
    assert list(plan["in_batch"]) == [True] * 4 + [False] * (len(plan) - 4)
    # The first pick is the one binary whose simulation alone removes most of the map's summed variance: no other
    # row, weighed alone right at the start, removes more (a ranked plan's first row is weighed alone).
    for rank_by in ("max_variance", "mean_variance"):
        ranked = acquisition_plan(table, order="ranked", rank_by=rank_by, batch=batch)
        assert plan["variance_reduction"].iloc[0] >= ranked["variance_reduction"].iloc[0]
    # Shares are over the map's summed variance before the plan, so reduction / share is one number for all rows.
    total = plan["variance_reduction"] / plan["variance_reduction_share"]
    np.testing.assert_allclose(total, total.iloc[0], rtol=1e-12)
    # Every pick is at least as good, when it is made, as the rows after the batch would be right after it.
    assert plan["variance_reduction"].iloc[4:].is_monotonic_decreasing
    assert (plan["variance_before_pick"] <= table["max_variance"].max() + 1e-9).all()
    # The batch plan is the map's rows, reordered: the map's own columns are untouched.
    merged = plan.merge(table, on=["A", "B"], suffixes=("", "_map"))
    np.testing.assert_array_equal(merged["x_at_max"], merged["x_at_max_map"])
    again = acquisition_plan(table.copy(), order="batch", rank_by="mean_variance", batch=batch)
    pd.testing.assert_frame_equal(plan, again)


def test_batch_columns_for_the_other_orders_and_top(batch_setup):
    table, batch = batch_setup
    ranked = acquisition_plan(table, order="ranked", batch=batch)
    plain = acquisition_plan(table, order="ranked")
    # The same rows in the same order; the batch settings only add their columns.
    assert _names(ranked) == _names(plain)
    assert set(ranked.columns) - set(plain.columns) == set(BATCH_COLUMNS)
    assert not set(BATCH_COLUMNS) & set(plain.columns)
    spread = acquisition_plan(table, order="spread", batch=batch)
    assert _names(spread) == _names(acquisition_plan(table, order="spread"))
    # top cuts the listing, not the batch.
    short = acquisition_plan(table, order="batch", batch=batch, top=2)
    assert _names(short) == _names(acquisition_plan(table, order="batch", batch=batch))[:2]
    with pytest.raises(InputError, match="order 'batch' needs"):
        acquisition_plan(table, order="batch")


def test_excluded_systems_either_order(batch_setup, gp_map):
    table, batch = batch_setup
    plan = acquisition_plan(table, order="batch", batch=batch, exclude_systems=["U-Li", "Ir-W"])
    assert not {"Li-U", "Ir-W", "C-W"} & set(_names(plan))
    assert len(plan) == len(MAP) - 3
    # Systems and elements together; a system already excluded through an element is no error.
    plan = acquisition_plan(gp_map, exclude=["C", "Li"], exclude_systems=["Os-Ti", "W-C", "Li-Pb"])
    assert _names(plan) == ["Ir-W", "Ni-Ti", "Al-Zr", "Al-Ni", "Cu-Ni"]
    with pytest.raises(InputError, match=r"excluded system: unknown element 'Xx' in 'Li-Xx'"):
        acquisition_plan(gp_map, exclude_systems=["Li-Xx"])
    with pytest.raises(InputError, match="names the same element twice"):
        acquisition_plan(gp_map, exclude_systems=["Li-Li"])
    with pytest.raises(InputError, match="unknown element 'LiU'"):
        acquisition_plan(gp_map, exclude_systems=["LiU"])
    with pytest.raises(InputError, match="not a binary system"):
        acquisition_plan(gp_map, exclude_systems=["Li-U-Na"])
    with pytest.raises(InputError, match="list of A-B"):
        acquisition_plan(gp_map, exclude_systems="Li-U")
    with pytest.raises(InputError, match="not written A-B"):
        acquisition_plan(gp_map, exclude_systems=[["Li", "U"]])
    assert excluded_systems(["U-Li", "Li-U", "Ir-Os"]) == {("Li", "U"), ("Ir", "Os")}
    with pytest.raises(InputError, match="no batch to choose"):
        acquisition_plan(table, order="batch", batch=batch, exclude=sorted({*table["A"], *table["B"]}))


def test_batch_settings_are_checked(batch_setup):
    _, batch = batch_setup
    for bad in (0, 2.5, True):
        with pytest.raises(InputError, match="batch_size"):
            BatchSettings(batch.gp, batch.source, batch.features, batch_size=bad)
    with pytest.raises(InputError, match=r"objective_step: composition step 0\.3"):
        BatchSettings(batch.gp, batch.source, batch.features, objective_step=0.3)


def test_batch_plan_feeds_the_aimd_stage_and_the_cli(batch_setup, tmp_path):
    table, batch = batch_setup
    plan = acquisition_plan(table, order="batch", batch=batch)
    path = tmp_path / "results" / "uncertainty" / "acquisition_plan.csv"
    write_csv(plan, path)
    first = list(zip(plan["A"], plan["B"], plan["x_at_max"], strict=True))[:3]
    assert read_plan(path, 3, composition="x_at_max") == [(a, b, float(x)) for a, b, x in first]
    assert read_plan(path, 3) == [(a, b, 0.5) for a, b, _ in first]
    loaded = load_plan(path)
    assert _names(loaded) == _names(plan) and loaded["in_batch"].tolist() == plan["in_batch"].tolist()
    shown = format_plan(loaded, top=3)
    assert {"variance_reduction_share", "variance_before_pick"} <= set(shown.columns)
