"""Tests of the active-learning benchmark: splits, the five approaches' bookkeeping, the gather and the scripts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hmixal.active_learning import (
    APPROACHES,
    UNITS,
    BenchmarkSettings,
    CommitteeOptions,
    GPOptions,
    RTALOptions,
    al_feature_list,
    default_iterations,
    equimolar_rows,
    learning_curves,
    make_splits,
    read_feature_list,
    read_references,
    read_results,
    read_split_hypers,
    read_splits,
    reference_rmse,
    run_block,
    run_split,
    split_hypers,
    split_masks,
    summarise,
)
from hmixal.errors import InputError
from hmixal.features import PAPER_AL_FEATURES as AL_FEATURES
from hmixal.features import FeatureSource
from hmixal.io import write_csv, write_text
from hmixal.miedema_model import hmix
from hmixal.model import ModelData, model_data
from hmixal.resources import element_table_path
from hmixal.systems import all_binaries

FAST = {"n_estimators": 20, "learning_rate": 0.2, "num_leaves": 7, "min_child_samples": 5, "max_bin": 31}
SEED = 20251125


@pytest.fixture(scope="module")
def source() -> FeatureSource:
    return FeatureSource()


def synthetic_frame(n_binaries: int = 24, seed: int = 0) -> pd.DataFrame:
    """Binaries at x_B = .1 .3 .5 .7 .9 (one at .4/.6 only, one with two rows at .5); data = Miedema + signal."""
    rng = np.random.default_rng(seed)
    pairs = [all_binaries()[i] for i in np.sort(rng.choice(2415, n_binaries, replace=False))]
    rows = []
    for k, (a, b) in enumerate(pairs):
        xs = (0.2, 0.4, 0.6, 0.8) if k == 0 else (0.1, 0.3, 0.5, 0.5, 0.7) if k == 1 else (0.1, 0.3, 0.5, 0.7, 0.9)
        rows += [(a, b, x) for x in xs]
    frame = pd.DataFrame(rows, columns=["A", "B", "x_B"])
    x = frame["x_B"].to_numpy()
    frame["hmix_kJ_per_mol"] = hmix(frame["A"], frame["B"], x) + 20 * x * (1 - x) * rng.normal(0, 1, n_binaries).repeat(
        frame.groupby(["A", "B"], sort=False).size().to_numpy()
    )
    frame["source_type"] = "calphad"
    return frame


@pytest.fixture(scope="module")
def data(source) -> ModelData:
    return model_data(synthetic_frame(), source)


@pytest.fixture(scope="module")
def splits(data) -> pd.DataFrame:
    return make_splits(data.groups, 3, 0.25, 0.25, SEED)


def settings(**changes: object) -> BenchmarkSettings:
    base = BenchmarkSettings(
        al_features=AL_FEATURES,
        lgbm=FAST,
        root_seed=SEED,
        batch_size=2,
        n_iterations=3,
        gp=GPOptions(n_starts=1),
        rtal=RTALOptions(min_samples_leaf=3),
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="module")
def runs(data, splits) -> dict[str, pd.DataFrame]:
    """Every approach on split 1 with the test settings."""
    return {a: run_split(data, splits, 1, a, settings()) for a in APPROACHES}


def acquired(table: pd.DataFrame) -> list[int]:
    return [int(r) for cell in table["acquired_rows"] for r in str(cell).split(";") if r]


def test_splits_partition_the_binaries_reproducibly(data, splits):
    binaries = sorted(set(data.groups))
    assert len(binaries) == 24
    for s in range(3):
        part = splits[splits["split"] == s]
        assert sorted(part["binary"]) == binaries
        assert part["role"].value_counts().to_dict() == {"pool": 12, "train": 6, "test": 6}
    assert not splits[splits["split"] == 0]["role"].equals(splits[splits["split"] == 1]["role"].reset_index(drop=True))
    pd.testing.assert_frame_equal(splits, make_splits(data.groups, 3, 0.25, 0.25, SEED))
    for bad in ((0.0, 0.25), (0.6, 0.5), (0.25, 1.0)):
        with pytest.raises(ValueError, match="train"):
            make_splits(data.groups, 3, *bad, SEED)
    with pytest.raises(ValueError, match="too few"):
        make_splits(["A-B", "A-C"], 1, 0.3, 0.3, SEED)
    with pytest.raises(ValueError, match="n_splits"):
        make_splits(data.groups, 0, 0.25, 0.25, SEED)


def test_splits_table_is_checked_against_the_dataset(data, splits, tmp_path):
    path = tmp_path / "splits.csv"
    write_csv(splits, path)
    table = read_splits(path)
    train, test, pool = split_masks(table, 2, data.groups, path)
    assert not np.any(train & test) and not np.any(train & pool) and not np.any(test & pool)
    assert np.all(train | test | pool)
    with pytest.raises(InputError, match="split 7 is not"):
        split_masks(table, 7, data.groups, path)
    with pytest.raises(InputError, match="lacks binaries"):
        split_masks(table[table["binary"] != data.groups[0]], 0, data.groups, path)
    with pytest.raises(InputError, match="absent from the dataset"):
        split_masks(table, 0, data.groups[data.groups != data.groups[0]], path)
    bad = splits.copy()
    bad.loc[4, "role"] = "holdout"
    write_csv(bad, path)
    with pytest.raises(InputError, match=r"splits.csv:6: role 'holdout'"):
        read_splits(path)
    write_csv(pd.concat([splits, splits.iloc[[0]]]), path)
    with pytest.raises(InputError, match="appears twice"):
        read_splits(path)
    write_csv(splits.drop(columns="role"), path)
    with pytest.raises(InputError, match="missing column"):
        read_splits(path)


def test_equimolar_rows_prefer_half_then_lower_x_then_first_row(data):
    rows = equimolar_rows(data.frame, np.arange(len(data.frame)))
    x = data.frame["x_B"].to_numpy()
    odd, double = data.groups[0], data.groups[4]  # binary 0 has 0.4/0.6 only; binary 1 has two rows at 0.5
    assert x[rows[odd]] == 0.4
    assert rows[double] == 4 + 2  # the first of its two x_B = 0.5 rows
    assert all(x[r] == 0.5 for b, r in rows.items() if b != odd)
    assert len(rows) == 24


def test_feature_list_reader(tmp_path, data):
    path = tmp_path / "features_al.txt"
    path.write_text("# the AL set\n" + "\n".join(AL_FEATURES) + "\n\n")
    assert read_feature_list(path, data.feature_names) == AL_FEATURES
    path.write_text("Column_avgdev\nNotAFeature\n")
    with pytest.raises(InputError, match=r"features_al.txt:2: unknown feature 'NotAFeature'"):
        read_feature_list(path, data.feature_names)
    path.write_text("Column_avgdev\nColumn_avgdev\n")
    with pytest.raises(InputError, match=":2: feature 'Column_avgdev' listed twice"):
        read_feature_list(path, data.feature_names)
    path.write_text("# nothing\n")
    with pytest.raises(InputError, match="no feature names"):
        read_feature_list(path, data.feature_names)


def test_every_approach_shares_iteration_zero_and_acquires_from_the_pool_only(data, splits, runs):
    _, _, pool = split_masks(splits, 1, data.groups)
    starts = {a: t["rmse"].iloc[0] for a, t in runs.items()}
    assert len(set(starts.values())) == 1  # same split, same evaluator, same seed: identical starting point
    for approach, table in runs.items():
        assert table["iteration"].tolist() == [0, 1, 2, 3]
        rows = acquired(table)
        assert len(rows) == len(set(rows)), approach  # a point is never acquired twice
        assert pool[rows].all(), approach  # never a train or test row
        assert table["n_acquired"].iloc[-1] == len(rows)
        assert table["n_binaries"].iloc[-1] == len(set(data.groups[rows]))
        if UNITS[approach] == "whole curve":
            assert table["n_binaries"].tolist() == [0, 2, 4, 6], approach  # two binaries per iteration
            binaries = set(data.groups[rows])
            assert sorted(rows) == [int(r) for r in np.flatnonzero(pool & np.isin(data.groups, list(binaries)))]
        else:
            assert table["n_acquired"].tolist() == [0, 2, 4, 6], approach


def test_binary_level_approaches_remove_binaries_and_take_equimolar_points(data, splits, runs):
    _, _, pool = split_masks(splits, 1, data.groups)
    equimolar = equimolar_rows(data.frame, np.flatnonzero(pool))
    for approach in [a for a in APPROACHES if "point" in UNITS[a] and UNITS[a] != "point"]:
        rows = acquired(runs[approach])
        binaries = data.groups[rows]
        assert len(set(binaries)) == len(rows), approach  # the binary left the pool once picked
        if UNITS[approach] == "equimolar point":
            assert all(equimolar[b] == r for b, r in zip(binaries, rows, strict=True)), approach


def test_oracle_reads_pool_labels_and_the_strategies_do_not(data, splits, runs):
    """Changing the targets of pool points nobody acquired yet moves the oracle's first picks; the label-free
    strategies' first batch (before any pool label is seen) stays."""
    _, _, pool = split_masks(splits, 1, data.groups)
    y = data.y.copy()
    y[pool] = np.random.default_rng(11).normal(0, 30, pool.sum())
    perturbed = dataclasses.replace(data, y=y)
    oracle = run_split(perturbed, splits, 1, "oracle_equimolar", settings())
    assert oracle["acquired_rows"].iloc[1] != runs["oracle_equimolar"]["acquired_rows"].iloc[1]
    for approach in ("random", "gp_equimolar", "gp_ard_equimolar", "committee_equimolar", "rtal_binaries"):
        again = run_split(perturbed, splits, 1, approach, settings(n_iterations=1))
        assert again["acquired_rows"].iloc[1] == runs[approach]["acquired_rows"].iloc[1], approach


def test_reference_lines(data, splits, tmp_path):
    table = reference_rmse(data, splits, 1, settings()).set_index("reference")
    _, test, pool = split_masks(splits, 1, data.groups)
    assert table.loc["miedema", "rmse"] == pytest.approx(float(np.sqrt(np.mean(data.y[test] ** 2))))
    assert table.loc["miedema", "n_points"] == 0
    assert table.loc["whole_pool", "n_points"] == pool.sum() and table.loc["whole_pool", "n_binaries"] == 12
    assert table.loc["whole_pool_equimolar", "n_points"] == 12
    # The whole-pool evaluator is the last point of an approach that acquires everything.
    everything = run_split(data, splits, 1, "random_curves", settings(n_iterations=None))
    assert everything["rmse"].iloc[-1] == pytest.approx(table.loc["whole_pool", "rmse"])
    path = tmp_path / "references.csv"
    write_csv(table.reset_index()[["split", "reference", "rmse", "n_points", "n_binaries"]], path)
    assert len(read_references([path])) == 3
    write_csv(table.reset_index().assign(reference="oracle"), path)
    with pytest.raises(InputError, match=r"references.csv:2: unknown reference 'oracle'"):
        read_references([path])


def test_acquisition_feature_lists(tmp_path, data):
    assert al_feature_list("paper", None, data.feature_names) == AL_FEATURES
    assert al_feature_list(["Column_mean", "Sfus_mean"], None, data.feature_names) == ("Column_mean", "Sfus_mean")
    path = tmp_path / "features_al.txt"
    write_text("Density_avgdev\nColumn_mean\n", path, manifest=True)
    assert al_feature_list("rfe", path, data.feature_names) == ("Density_avgdev", "Column_mean")
    with pytest.raises(ValueError, match="needs the RFE"):
        al_feature_list("rfe", None, data.feature_names)
    with pytest.raises(ValueError, match="one of"):
        al_feature_list("best", None, data.feature_names)
    with pytest.raises(ValueError, match="unknown, repeated"):
        al_feature_list(["Column_mean", "Nope"], None, data.feature_names)


def test_default_benchmark_chooses_its_features_without_any_split_s_test_binaries(repo_dir, data):
    """The default acquisition features are fixed before any split exists (the seed's ten); the RFE list, chosen on
    the whole dataset and so with every split's test binaries, is read only when a config asks for it."""
    from hmixal.config import read_config_file

    config = read_config_file(repo_dir / "config" / "config.yaml")["active_learning"]
    assert config["features"] == "paper"
    y = np.random.default_rng(3).normal(0, 10, data.y.size)  # any labels: the list cannot depend on them
    assert al_feature_list(config["features"], None, dataclasses.replace(data, y=y).feature_names) == AL_FEATURES


def test_committee_is_reproducible_and_its_size_matters(data, splits, runs):
    again = run_split(data, splits, 1, "committee_equimolar", settings())
    pd.testing.assert_frame_equal(again, runs["committee_equimolar"])
    bigger = run_split(data, splits, 1, "committee_equimolar", settings(committee=CommitteeOptions(n_members=6)))
    assert acquired(bigger) != acquired(runs["committee_equimolar"])
    with pytest.raises(ValueError, match="n_members"):
        settings(committee=CommitteeOptions(n_members=1))


def test_acquisitions_never_depend_on_test_targets(data, splits, runs):
    _, test, _ = split_masks(splits, 1, data.groups)
    y = data.y.copy()
    y[test] += np.random.default_rng(5).normal(0, 50, test.sum())
    perturbed = dataclasses.replace(data, y=y)
    for approach in APPROACHES:
        again = run_split(perturbed, splits, 1, approach, settings())
        assert acquired(again) == acquired(runs[approach]), approach
        assert not np.allclose(again["rmse"], runs[approach]["rmse"])  # the evaluator does see the change


def test_same_seed_same_bytes_other_seed_other_picks(data, splits, runs, tmp_path):
    block = run_block(data, splits, "gp_points", [1, 2], settings())
    again = run_block(data, splits, "gp_points", [1, 2], settings())
    write_csv(block, tmp_path / "a.csv")
    write_csv(again, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    pd.testing.assert_frame_equal(block[block["split"] == 1].reset_index(drop=True), runs["gp_points"])
    other = run_split(data, splits, 1, "random", settings(root_seed=SEED + 1))
    assert acquired(other) != acquired(runs["random"])


def test_pool_exhaustion_and_default_iterations(data, splits):
    assert default_iterations(204, 4) == 51  # the paper's pool → its ~50 iterations
    assert default_iterations(3, 4) == 1
    table = run_split(data, splits, 0, "random", settings(n_iterations=None))
    assert table["iteration"].max() == 12 // 2  # every pool binary taken once
    long = run_split(data, splits, 0, "rtal_binaries", settings(n_iterations=10, batch_size=5))
    assert long["n_acquired"].tolist() == [0, 5, 10, 12]  # stops when the pool is empty


def test_gp_refit_schedule_changes_only_the_gp_runs(data, splits, runs):
    refit = run_split(data, splits, 1, "gp_points", settings(gp=GPOptions(n_starts=1, refit_every=1)))
    assert refit["rmse"].iloc[0] == runs["gp_points"]["rmse"].iloc[0]
    assert refit["acquired_rows"].iloc[1] == runs["gp_points"]["acquired_rows"].iloc[1]  # first batch: same GP


def test_shared_gp_hyper_parameters_give_the_runs_each_approach_makes_alone(data, splits, runs, tmp_path):
    hypers = split_hypers(data, splits, 1, settings(), ard=True)
    assert hypers["ard"].ard and hypers["ard"].width.shape == (len(AL_FEATURES),)
    assert not hypers["isotropic"].ard and hypers["isotropic"].width.shape == (1,)
    # Warm-started from the isotropic optimum, the ARD fit can only improve the marginal likelihood.
    assert hypers["ard"].neg_log_marginal_likelihood <= hypers["isotropic"].neg_log_marginal_likelihood + 1e-6
    for approach in ("gp_points", "gp_binaries", "gp_equimolar", "gp_ard_equimolar", "gp_curves"):
        shared = run_split(data, splits, 1, approach, settings(), hypers)
        pd.testing.assert_frame_equal(shared, runs[approach])
    # The rule's table round-trips through JSON (checked against its manifest when read).
    path = tmp_path / "gp_hyper.json"
    write_text(json.dumps({"1": {k: h.to_dict() for k, h in hypers.items()}}), path, manifest=True)
    assert read_split_hypers(path) == {1: hypers}
    path.write_text('{"1": {"isotropic": {"params": [1.0]}}}\n')
    with pytest.raises(InputError, match=r"gp_hyper\.json"):
        read_split_hypers(path)


def test_bad_arguments(data, splits):
    with pytest.raises(ValueError, match="unknown approach"):
        run_split(data, splits, 0, "thompson", settings())
    with pytest.raises(ValueError, match="unknown feature"):
        run_split(data, splits, 0, "random", settings(al_features=("Nope",)))
    with pytest.raises(ValueError, match="batch_size"):
        settings(batch_size=0)
    with pytest.raises(ValueError, match="n_iterations"):
        settings(n_iterations=0)
    with pytest.raises(ValueError, match="refit_every"):
        settings(gp=GPOptions(refit_every=-1))


def constructed_results() -> pd.DataFrame:
    curves = {
        "random": {0: [10, 8, 6], 1: [12, 10, 8]},
        "gp_points": {0: [10, 7, 5], 1: [12, 9, 7]},
        "rtal_points": {0: [10, 9, 8], 1: [12, 11, 10]},
    }
    rows = [
        (a, s, i, 4 * i, 4 * i, r, "")
        for a, by_split in curves.items()
        for s, rmse in by_split.items()
        for i, r in enumerate(rmse)
    ]
    columns = ["approach", "split", "iteration", "n_acquired", "n_binaries", "rmse", "acquired_rows"]
    return pd.DataFrame(rows, columns=columns)


def test_curves_and_summary_on_a_constructed_table():
    results = constructed_results()
    curves = learning_curves(results)
    assert curves["approach"].unique().tolist() == ["random", "rtal_points", "gp_points"]  # approach order
    random = curves[curves["approach"] == "random"]
    assert random["rmse_mean"].tolist() == [11, 9, 7]
    assert random["rmse_std"].iloc[0] == pytest.approx(2**0.5)
    assert random["n_splits"].tolist() == [2, 2, 2] and random["n_acquired"].tolist() == [0, 4, 8]
    summary = summarise(results).set_index("approach")
    # Areas from iteration 1 on (iteration 0 is shared). Mean curves: random 11, 9, 7 (area (9 + 7)/2 = 8);
    # gp 11, 8, 6 (7); rtal 11, 10, 9 (9.5).
    assert summary.loc["random", "auc_ratio"] == 1
    assert summary.loc["gp_points", "auc_ratio"] == pytest.approx(7 / 8)
    assert summary.loc["rtal_points", "auc_ratio"] == pytest.approx(9.5 / 8)
    # Per split: gp 6/7 (7, 5 against 8, 6) and 8/9 (9, 7 against 10, 8).
    assert summary.loc["gp_points", "auc_ratio_split_mean"] == pytest.approx((6 / 7 + 8 / 9) / 2)
    assert summary.loc["gp_points", "auc_ratio_split_std"] == pytest.approx(abs(8 / 9 - 6 / 7) / 2**0.5)
    assert summary.loc["gp_points", "share_splits_better"] == 1
    assert summary.loc["rtal_points", "share_splits_better"] == 0
    # Random's final mean RMSE is 7: gp reaches it at iteration 2, rtal never.
    assert summary.loc["gp_points", "iterations_to_reference_final"] == 2
    assert np.isnan(summary.loc["rtal_points", "iterations_to_reference_final"])
    assert summary.loc["gp_points", "rmse_final_mean"] == 6
    assert summary.loc["gp_points", "rmse_final_std"] == pytest.approx(2**0.5)
    assert summary.loc["gp_points", "approach_number"] == 4
    with pytest.raises(InputError, match="reference approach"):
        summarise(results[results["approach"] != "random"])


def test_read_results_checks_the_block_tables(tmp_path):
    results = constructed_results()
    paths = []
    for approach, part in results.groupby("approach"):
        paths.append(tmp_path / f"{approach}.csv")
        write_csv(part, paths[-1])
    pd.testing.assert_frame_equal(read_results(paths).drop(columns="acquired_rows"),
                                  results.iloc[[0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17, 6, 7, 8, 9, 10, 11]]
                                  .reset_index(drop=True).drop(columns="acquired_rows"))  # fmt: skip
    with pytest.raises(InputError, match="twice"):
        read_results([*paths, paths[0]])
    bad = tmp_path / "bad.csv"
    write_csv(results.assign(approach="thompson"), bad)
    with pytest.raises(InputError, match=r"bad.csv:2: unknown approach"):
        read_results([bad])
    write_csv(results.drop(columns="rmse"), bad)
    with pytest.raises(InputError, match="missing column"):
        read_results([bad])


RUN = {
    "features": "rfe",
    "lgbm": FAST,
    "batch_size": 2,
    "n_iterations": 2,
    "eval_features": None,
    "gp": {"refit_every": 0, "n_starts": 1},
    "rtal": {"min_samples_leaf": 3},
    "committee": {"n_members": 2},
    "evaluator": {"kind": "lightgbm", "n_seeds": 1},
    "seed": SEED,
}


@pytest.mark.slow
@pytest.mark.parametrize("design", ["random", "cluster"])
def test_rule_scripts_split_run_and_gather(tmp_path: Path, repo_dir: Path, run_script, design):
    dataset = tmp_path / "dataset.csv"
    synthetic_frame(n_binaries=40).to_csv(dataset, index=False)
    features = tmp_path / "features_al.txt"
    write_text("\n".join(AL_FEATURES) + "\n", features, manifest=True)
    splits = tmp_path / "splits.csv"
    common_inputs = {"dataset": str(dataset), "elements": str(element_table_path()), "features_al": [str(features)]}
    done = run_script(
        "al_splits.py",
        {
            "input": common_inputs,
            "output": {"splits": str(splits), "clusters": str(tmp_path / "clusters.csv")},
            "params": {
                "design": design, "n_splits": 2, "train_fraction": 0.25, "test_fraction": 0.25, "seed": SEED,
                "cluster": {"k": 3, "n_init": 20, "min_size": 4}, "element": {}, "features": "rfe",
            },
            "log": str(tmp_path / "splits.log"),
        },
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + (tmp_path / "splits.log").read_text()
    assert len(pd.read_csv(tmp_path / "clusters.csv")) == 3
    common_inputs["splits"] = str(splits)
    hyper = tmp_path / "gp_hyper_0.json"
    job = {"splits": [0, 1], "run": RUN, "design": design}
    done = run_script(
        "al_gp_hyper.py",
        {
            "input": common_inputs,
            "output": {"hyper": str(hyper)},
            "params": {**job, "ard": True},
            "log": str(tmp_path / "hyper.log"),
        },
    )
    assert done.returncode == 0, done.stderr + (tmp_path / "hyper.log").read_text()
    assert {k: set(v) for k, v in read_split_hypers(hyper).items()} == {
        0: {"isotropic", "ard"},
        1: {"isotropic", "ard"},
    }
    references = tmp_path / "references_0.csv"
    done = run_script(
        "al_references.py",
        {
            "input": common_inputs,
            "output": {"table": str(references)},
            "params": job,
            "log": str(tmp_path / "references.log"),
        },
    )
    assert done.returncode == 0, done.stderr + (tmp_path / "references.log").read_text()
    tables = []
    for approach in ("random", "gp_ard_equimolar"):
        tables.append(tmp_path / f"{approach}_0.csv")
        done = run_script(
            "al_block.py",
            {
                # As the rule's input function gives it: a list, the block's file for a GP approach only.
                "input": {**common_inputs, "gp_hyper": [str(hyper)] if "gp" in approach else []},
                "output": {"table": str(tables[-1])},
                "params": {"approach": approach, **job},
                "log": str(tmp_path / f"{approach}.log"),
            },
        )
        log = (tmp_path / f"{approach}.log").read_text()
        assert done.returncode == 0, done.stderr + log
        assert "iteration 2/2" in log  # progress is logged per iteration
    out = {name: tmp_path / f"{name}.csv" for name in ("per_split", "curves", "summary", "endpoints", "references")}
    done = run_script(
        "al_gather.py",
        {
            "input": {"tables": [str(t) for t in tables], "splits": str(splits), "references": [str(references)]},
            "output": {k: str(v) for k, v in out.items()},
            "params": {"reference": "random", "seed": SEED},
            "log": str(tmp_path / "gather.log"),
        },
    )
    assert done.returncode == 0, done.stderr + (tmp_path / "gather.log").read_text()
    curves = pd.read_csv(out["curves"])
    assert curves.columns.tolist() == [
        "approach", "iteration", "n_acquired", "n_binaries", "rmse_mean", "rmse_std", "n_splits"
    ]  # fmt: skip
    assert len(curves) == 6 and set(curves["n_splits"]) == {2}
    summary = pd.read_csv(out["summary"])
    assert summary["approach"].tolist() == ["random", "gp_ard_equimolar"]
    assert summary["p_corrected_t_end"].isna().tolist() == [True, False]  # the summary carries the paired tests
    assert len(pd.read_csv(out["per_split"])) == 12
    assert sorted(set(pd.read_csv(out["references"])["reference"])) == ["miedema", "whole_pool", "whole_pool_equimolar"]
    # Endpoints: at iterations 1, 1, 2 (budgets of a 2-iteration run) on both splits, logged per row.
    ends = pd.read_csv(out["endpoints"])
    assert ends["budget_label"].tolist() == ["third", "two_thirds", "end"] and ends["iteration"].tolist() == [1, 1, 2]
    assert set(ends["n_splits"]) == {2} and set(ends["approach"]) == {"gp_ard_equimolar"}
    assert (tmp_path / "gather.log").read_text().count("gp_ard_equimolar at ") == 3


# ---------------------------------------------------------------------------- manifests of the intermediates


def cut_lines(path: Path, keep: int) -> None:
    """Keep the first ``keep`` lines of a file written by the pipeline (a table cut after its rule wrote it)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:keep]), encoding="utf-8")


def test_feature_list_is_checked_against_its_manifest(tmp_path, data):
    from hmixal.io import write_text

    path = tmp_path / "results" / "selection" / "features_al.txt"
    write_text("\n".join(AL_FEATURES) + "\n", path, manifest=True)
    assert read_feature_list(path, data.feature_names) == AL_FEATURES
    # Cut to 7 of the 10 names: every name is still valid, so only the manifest can tell.
    cut_lines(path, 7)
    with pytest.raises(InputError, match=rf"{path}: has 7 lines but its writer recorded 10 .*cut or edited"):
        read_feature_list(path, data.feature_names)
    # The same number of lines, one feature swapped for another valid one: the content hash differs.
    write_text("\n".join(AL_FEATURES) + "\n", path, manifest=True)
    path.write_text("\n".join(["Hfus_mean", *AL_FEATURES[1:]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"{path}: has the 10 lines its writer recorded but different content"):
        read_feature_list(path, data.feature_names)
    # Inside results/ a list without a manifest is not a rule's output; outside it is read unchecked.
    path.with_name(path.name + ".manifest.json").unlink()
    with pytest.raises(InputError, match=rf"{path}: has no manifest"):
        read_feature_list(path, data.feature_names)
    own = tmp_path / "features_al.txt"
    own.write_text("\n".join(AL_FEATURES) + "\n", encoding="utf-8")
    assert read_feature_list(own, data.feature_names) == AL_FEATURES


def test_splits_and_block_tables_are_checked_against_their_manifests(splits, tmp_path):
    folder = tmp_path / "results" / "active_learning"
    path = folder / "splits.csv"
    write_csv(splits, path)
    pd.testing.assert_frame_equal(read_splits(path), splits)
    cut_lines(path, 20)
    with pytest.raises(InputError, match=rf"{path}: has 19 data rows but its writer recorded {len(splits)}"):
        read_splits(path)
    write_csv(splits, path)
    path.write_text(path.read_text().replace(",train\n", ",pool\n", 1))  # one role edited: still a valid table
    with pytest.raises(InputError, match=rf"{path}: has the {len(splits)} data rows .* different content"):
        read_splits(path)

    results = constructed_results()
    blocks = []
    for approach, part in results.groupby("approach"):
        blocks.append(folder / "blocks" / f"{approach}.csv")
        write_csv(part, blocks[-1])
    intact = read_results(blocks)
    pd.testing.assert_frame_equal(intact, read_results(list(reversed(blocks))))
    cut_lines(blocks[1], 3)  # a block cut after two of its rows: the gather would see fewer iterations
    with pytest.raises(InputError, match=rf"{blocks[1]}: has 2 data rows but its writer recorded 6"):
        read_results(blocks)
    blocks[1].write_bytes(blocks[1].read_bytes()[:-5])  # cut mid-line
    with pytest.raises(InputError, match=rf"{blocks[1]}: has 2 data rows, the last one cut mid-line"):
        read_results(blocks)


def test_rfe_gather_writes_feature_lists_that_al_block_verifies(tmp_path: Path, repo_dir: Path, run_script):
    names = [*AL_FEATURES, "Hfus_mean", "Density_mean"]
    rows = []
    for repeat in range(2):
        kept = names[repeat:] + names[:repeat]  # another elimination order per repeat
        for n in range(len(names), 0, -1):
            removed = kept[-1] if n > 1 else ""
            rows.append((repeat, n, 10.0 + 1.0 / n, 0.1, removed, ";".join(kept[:n])))
    paths = pd.DataFrame(rows, columns=["repeat", "n_features", "rmse_mean", "rmse_std", "removed", "kept"])
    folder = tmp_path / "results" / "selection"
    blocks = [folder / "rfe" / f"block_{r}.csv" for r in range(2)]
    for r, block in enumerate(blocks):
        write_csv(paths[paths["repeat"] == r], block)
    out = {n: folder / f"{n}.csv" for n in ("paths", "curve", "frequencies")}
    out |= {"features_al": folder / "features_al.txt", "features_final": folder / "features_final.txt"}
    gather = {
        "input": {"paths": [str(b) for b in blocks]},
        "output": {k: str(v) for k, v in out.items()},
        "params": {"n_al": 10, "n_final": 11},
        "log": str(tmp_path / "gather.log"),
    }
    done = run_script("rfe_gather.py", gather)
    assert done.returncode == 0, done.stderr + (tmp_path / "gather.log").read_text()
    for name, n in (("features_al", 10), ("features_final", 11)):
        assert Path(str(out[name]) + ".manifest.json").is_file()
        assert len(read_feature_list(out[name], names)) == n

    # al_block reads the AL list through the verifying reader: a cut list stops the job, naming the file.
    dataset = tmp_path / "dataset.csv"
    synthetic_frame().to_csv(dataset, index=False)
    splits = tmp_path / "splits.csv"
    write_csv(make_splits(synthetic_frame().pipe(lambda f: f["A"] + "-" + f["B"]), 1, 0.25, 0.25, SEED), splits)
    cut_lines(out["features_al"], 4)
    spec = {
        "input": {
            "dataset": str(dataset),
            "elements": str(element_table_path()),
            "splits": str(splits),
            "features_al": [str(out["features_al"])],
            "gp_hyper": [],
        },
        "output": {"table": str(tmp_path / "random_0.csv")},
        "params": {"approach": "random", "splits": [0], "design": "random", "run": {**RUN, "n_iterations": 1}},
        "log": str(tmp_path / "block.log"),
    }
    done = run_script("al_block.py", spec)
    assert done.returncode != 0 and not (tmp_path / "random_0.csv").exists()
    assert f"{out['features_al']}: has 4 lines but its writer recorded 10" in done.stderr
    # The rfe_gather inputs are checked too: a cut block stops the gather before it writes a feature list.
    cut_lines(blocks[0], 5)
    out["features_al"].unlink()
    done = run_script("rfe_gather.py", gather)
    assert done.returncode != 0 and not out["features_al"].exists()
    assert f"{blocks[0]}: has 4 data rows but its writer recorded 12" in done.stderr
