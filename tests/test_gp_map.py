"""Tests of the GP uncertainty map: shape, correctness of the blocked maximum, coverage, features, and the scripts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hmixal.errors import InputError
from hmixal.features import PAPER_AL_FEATURES, FeatureSource
from hmixal.gp import GaussianProcess, GPHyper, Standardiser
from hmixal.gp_map import (
    MAP_COLUMNS,
    HyperSettings,
    condition_gp,
    dataset_coverage,
    load_map_gp,
    read_uncertainty_table,
    resolve_features,
    train_gp,
    uncertainty_table,
    variance_map,
    variance_reduction_batch,
)
from hmixal.io import write_csv
from hmixal.miedema_model import hmix
from hmixal.model import model_data
from hmixal.resources import element_table_path
from hmixal.systems import all_binaries, binary_grid, composition_grid

TRAIN = [("Al", "Ni"), ("Cu", "Zr"), ("Ag", "Cu"), ("Fe", "Ni"), ("Bi", "Sn"), ("Al", "Cu"), ("Mg", "Zn"), ("Ni", "Ti")]
# Noise std 0.3, prior mean 0, kernel width 2 (standardised units), signal std 4 (kJ/mol): PHYSBO's log form.
HYPER = GPHyper((float(np.log(0.3)), 0.0, float(np.log(2.0)), float(np.log(4.0))), n_dim=10)


@pytest.fixture(scope="module")
def source() -> FeatureSource:
    return FeatureSource()


@pytest.fixture(scope="module")
def dataset() -> pd.DataFrame:
    """Eight binaries at x_B = 0.1 … 0.9 (Al-Ni twice at 0.5, as two sources): Miedema plus a smooth offset."""
    grid = binary_grid(TRAIN, np.round(np.arange(1, 10) * 0.1, 10))
    grid = pd.concat([grid, grid.iloc[[4]]], ignore_index=True)
    x = grid["x_B"].to_numpy()
    offset = np.repeat(np.arange(len(TRAIN)) - 3.5, 9)
    grid["hmix_kJ_per_mol"] = hmix(grid["A"], grid["B"], x) + np.append(offset, offset[4]) * x * (1 - x)
    grid["source_type"] = "calphad"
    return grid


@pytest.fixture(scope="module")
def gp(dataset, source):
    return condition_gp(model_data(dataset, source), PAPER_AL_FEATURES, HYPER)


@pytest.fixture(scope="module")
def pairs() -> list[tuple[str, str]]:
    """The training binaries and a few far from them (carbon, refractory, alkali pairs)."""
    return sorted({*TRAIN, ("C", "W"), ("Ir", "Os"), ("Cs", "Li"), ("C", "Ni"), ("Re", "W")})


def test_map_shape_columns_and_consistency(gp, dataset, source, pairs):
    table = uncertainty_table(gp, dataset, source, PAPER_AL_FEATURES, step=0.1, pairs=pairs)
    assert list(table.columns) == list(MAP_COLUMNS)
    assert len(table) == len(pairs) and list(zip(table["A"], table["B"], strict=True)) == pairs
    assert set(table["x_at_max"]).issubset(set(composition_grid(0.1)))
    assert (table["max_variance"] >= table["variance_at_equimolar"] - 1e-12).all()
    assert (table["max_variance"] >= table["mean_variance"] - 1e-12).all()
    np.testing.assert_allclose(table["max_std_kJ_per_mol"] ** 2, table["max_variance"])
    assert (table["max_variance"] <= HYPER.signal_std**2 + 1e-9).all()
    counts = dict(zip(table["A"] + "-" + table["B"], table["n_points_in_dataset"], strict=True))
    assert counts["Al-Ni"] == 10 and counts["Cu-Zr"] == 9 and counts["C-W"] == 0
    assert table.loc[table["A"] + table["B"] == "AlNi", "n_compositions_in_dataset"].item() == 9
    groups = dict(zip(table["A"] + "-" + table["B"], table["miedema_group"], strict=True))
    assert groups["C-W"] == "TM-nonTM" and groups["Fe-Ni"] == "TM-TM" and groups["Bi-Sn"] == "nonTM-nonTM"


def test_variance_is_low_where_the_data_are_and_high_far_away(gp, dataset, source, pairs):
    data = model_data(dataset, source)
    at_training = gp.latent_variance(data.columns(PAPER_AL_FEATURES))
    table = variance_map(gp, source, PAPER_AL_FEATURES, pairs, step=0.1).set_index(["A", "B"])
    far = table.loc[("C", "W"), "max_variance"]
    assert at_training.max() < 0.2 * far
    assert far > 0.9 * HYPER.signal_std**2  # nothing in the data constrains a C–W liquid
    trained = table.loc[TRAIN, "max_variance"]
    untrained = table.drop(index=TRAIN)["max_variance"]
    assert trained.max() < untrained.min()


def test_blocked_maximum_equals_brute_force_and_is_deterministic(gp, source, pairs):
    step = 0.05
    x = composition_grid(step)
    grid = binary_grid(pairs, x)
    position = [source.names.index(f) for f in PAPER_AL_FEATURES]
    Z = source.features(grid["A"].to_numpy(), grid["B"].to_numpy(), grid["x_B"].to_numpy())[:, position]
    full = gp.latent_variance(Z).reshape(len(pairs), x.size)
    for block in (1, 3, 64):
        table = variance_map(gp, source, PAPER_AL_FEATURES, pairs, step=step, block_binaries=block)
        np.testing.assert_allclose(table["max_variance"], full.max(axis=1), rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(table["x_at_max"], x[full.argmax(axis=1)])
        np.testing.assert_allclose(table["mean_variance"], full.mean(axis=1), rtol=1e-9, atol=1e-12)
    a = variance_map(gp, source, PAPER_AL_FEATURES, pairs, step=step)
    b = variance_map(gp, source, PAPER_AL_FEATURES, pairs, step=step)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    with pytest.raises(InputError, match="block_binaries"):
        variance_map(gp, source, PAPER_AL_FEATURES, pairs, block_binaries=0)
    with pytest.raises(InputError, match=r"step 0\.3"):
        variance_map(gp, source, PAPER_AL_FEATURES, pairs, step=0.3)
    with pytest.raises(InputError, match="no binaries"):
        variance_map(gp, source, PAPER_AL_FEATURES, [])


def test_dataset_coverage_counts_and_rejects_unknown_binaries(dataset):
    coverage = dataset_coverage(dataset).set_index(["A", "B"])
    assert len(coverage) == 2415
    assert coverage.loc[("Al", "Ni"), "n_points_in_dataset"] == 10
    assert coverage.loc[("Al", "Ni"), "n_compositions_in_dataset"] == 9
    assert coverage["n_points_in_dataset"].sum() == len(dataset)
    swapped = dataset.head(1).rename(columns={"A": "B", "B": "A"})
    with pytest.raises(InputError, match="Ni-Al"):
        dataset_coverage(swapped)
    with pytest.raises(InputError, match="lacks"):
        dataset_coverage(dataset.drop(columns="x_B"))


def test_resolve_features_from_a_list_or_a_file(source, tmp_path):
    known = source.names
    assert resolve_features(list(PAPER_AL_FEATURES), None, known) == PAPER_AL_FEATURES
    path = tmp_path / "features_al.txt"
    path.write_text("# chosen by RFE\nColumn_mean\nHfus_avgdev\n")
    assert resolve_features(None, path, known) == ("Column_mean", "Hfus_avgdev")
    assert resolve_features([], path, known) == ("Column_mean", "Hfus_avgdev")
    with pytest.raises(InputError, match="unknown GP feature"):
        resolve_features(["Column_median"], None, known)
    with pytest.raises(InputError, match="twice"):
        resolve_features(["Column_mean", "Column_mean"], None, known)
    with pytest.raises(InputError, match="string"):
        resolve_features("Column_mean", None, known)
    with pytest.raises(InputError, match="no GP features"):
        resolve_features(None, None, known)
    path.write_text("Column_mean\nbogus\n")
    with pytest.raises(InputError, match=r"features_al.txt:2"):
        resolve_features(None, path, known)


def test_train_gp_is_seeded_and_subsamples(dataset, source):
    data = model_data(dataset, source)
    features = PAPER_AL_FEATURES[:3]
    settings = HyperSettings(n_starts=1, hyper_subsample=30)
    a = train_gp(data, features, seed=4, settings=settings)
    b = train_gp(data, features, seed=4, settings=settings)
    assert a.hyper == b.hyper
    assert a.X.shape == (len(dataset), 3)  # conditioned on every row, whatever the subsample
    assert np.isfinite(a.hyper.neg_log_marginal_likelihood)
    with pytest.raises(InputError, match="subsample"):
        HyperSettings(hyper_subsample=-1)
    with pytest.raises(InputError, match="n_starts"):
        HyperSettings(n_starts=0)
    with pytest.raises(InputError, match="unknown feature"):
        train_gp(data, ["nope"], seed=4)
    with pytest.raises(InputError, match="unknown feature"):
        condition_gp(data, ["nope"], HYPER)
    with pytest.raises(InputError, match="unknown feature"):
        variance_map(a, source, ["nope"], TRAIN)


def test_read_uncertainty_table_checks_values(gp, dataset, source, tmp_path):
    table = uncertainty_table(gp, dataset, source, PAPER_AL_FEATURES, step=0.25, pairs=TRAIN[:3])
    path = tmp_path / "gp_variance.csv"
    write_csv(table, path)
    back = read_uncertainty_table(path)
    np.testing.assert_allclose(back["max_variance"], table["max_variance"], rtol=1e-9)
    broken = table.copy().astype({"max_variance": object})
    broken.loc[1, "max_variance"] = "-3"
    write_csv(broken, path)
    with pytest.raises(InputError, match=r"gp_variance.csv:3: max_variance"):
        read_uncertainty_table(path)
    broken = table.copy()
    broken.loc[2, "x_at_max"] = 0.0
    write_csv(broken, path)
    with pytest.raises(InputError, match=r"gp_variance.csv:4: x_at_max"):
        read_uncertainty_table(path)
    write_csv(pd.concat([table, table.head(1)]), path)
    with pytest.raises(InputError, match=r":5: binary Al-Ni appears twice"):
        read_uncertainty_table(path)
    write_csv(table.drop(columns="x_at_max"), path)
    with pytest.raises(InputError, match=r":1: missing column"):
        read_uncertainty_table(path)
    with pytest.raises(InputError, match="not found"):
        read_uncertainty_table(tmp_path / "absent.csv")


# ---------------------------------------------------------------------------- batch by variance reduction


def prior_only_gp(noise_std: float, width: float = 1.0, signal_std: float = 1.0) -> GaussianProcess:
    """A 1-D GP whose only training point (x = 50) is too far to matter: exp(−50²/2) underflows to 0, so the
    posterior is the prior k(a, b) = signal² exp(−(a − b)² / (2 width²)) and every number can be worked out by hand."""
    hyper = GPHyper((float(np.log(noise_std)), 0.0, float(np.log(width)), float(np.log(signal_std))), n_dim=1)
    return GaussianProcess(np.array([[50.0]]), np.zeros(1), hyper, Standardiser(np.zeros(1), np.ones(1)))


def test_batch_by_variance_reduction_by_hand():
    gp = prior_only_gp(noise_std=0.5)
    points = np.array([[0.0], [1.0], [2.0]])  # the three candidates are also the objective
    r = 0.25 + 1e-8  # σ² plus PHYSBO's jitter
    result = variance_reduction_batch(gp, points, points, batch_size=2)
    # First pick: Σ_z k(z, c)² / (k(c, c) + σ²) is largest for the middle point, (1 + 2 e⁻¹) / (1 + σ²) ≈ 1.389,
    # against (1 + e⁻¹ + e⁻⁴) / (1 + σ²) ≈ 1.109 at either end.
    assert result.picks[0] == 1
    np.testing.assert_allclose(result.reduction[0], (1 + 2 * np.exp(-1)) / (1 + r), rtol=1e-12)
    np.testing.assert_allclose(result.variance_before[0], 1.0)
    np.testing.assert_allclose(result.total_variance, 3.0)
    # Conditioned on x = 1: cov(z, 0) = k(z, 0) − k(z, 1) k(1, 0) / (1 + σ²); both ends tie, the first one wins.
    k = np.exp(-0.5 * (points - points.T) ** 2)
    cov = k[:, 0] - k[:, 1] * k[1, 0] / (1 + r)
    var0 = 1 - np.exp(-1) / (1 + r)
    assert result.picks[1] == 0
    np.testing.assert_allclose(result.reduction[1], np.sum(cov**2) / (var0 + r), rtol=1e-10)
    np.testing.assert_allclose(result.variance_before[1], var0, rtol=1e-12)
    # After both picks the far end keeps var0 − cov(0, 2)² / (var0 + σ²), cov(0, 2) given x = 1 as above.
    np.testing.assert_allclose(result.variance_after[[0, 2]], [var0 * r / (var0 + r), var0 - cov[2] ** 2 / (var0 + r)])


def test_batch_does_not_pick_the_same_lesson_twice():
    gp = prior_only_gp(noise_std=0.1)
    candidates = np.array([[0.0], [0.0], [3.0]])  # two identical candidates and a distinct one
    objective = np.array([[-1.0], [0.0], [0.5], [1.0], [3.0], [4.0]])
    result = variance_reduction_batch(gp, candidates, objective, batch_size=3)
    # The twin teaches almost nothing once its double is observed: x = 3 comes second, the twin last.
    assert list(result.picks) == [0, 2, 1]
    assert result.reduction[2] < 0.02 * result.reduction[1]
    # Ranking by variance alone (no conditioning) would take both twins first: they tie at the prior variance.
    assert np.ptp(gp.latent_variance(candidates)) == 0


def test_batch_equals_refitting_with_the_picks_as_data():
    rng = np.random.default_rng(3)
    X, candidates, objective = rng.normal(size=(25, 3)), 1.5 * rng.normal(size=(30, 3)), rng.normal(size=(90, 3))
    hyper = GPHyper((float(np.log(0.3)), 0.0, 0.0, float(np.log(2.0))), n_dim=3)
    scaler = Standardiser.fit(X)
    gp = GaussianProcess(X, rng.normal(size=25), hyper, scaler)
    result = variance_reduction_batch(gp, candidates, objective, batch_size=5, block=7)
    np.testing.assert_allclose(result.total_variance, gp.latent_variance(objective).sum(), rtol=1e-12)
    # The first pick is the brute-force best single addition.
    single = [
        GaussianProcess(np.vstack([X, c]), np.zeros(26), hyper, scaler).latent_variance(objective).sum()
        for c in candidates
    ]
    assert result.picks[0] == int(np.argmin(single))
    # Each reduction is what a GP refitted with the earlier picks added (any targets) loses in summed variance.
    before = result.total_variance
    for k in range(len(result.picks)):
        grown = np.vstack([X, candidates[result.picks[: k + 1]]])
        now = GaussianProcess(grown, np.zeros(len(grown)), hyper, scaler).latent_variance(objective).sum()
        np.testing.assert_allclose(before - now, result.reduction[k], rtol=1e-9)
        before = now
    final = GaussianProcess(grown, np.zeros(len(grown)), hyper, scaler)
    np.testing.assert_allclose(result.variance_after, final.latent_variance(candidates), rtol=1e-9, atol=1e-12)
    # A fixed order gets the same accounting: its reductions add up to the same total for the same set.
    reversed_order = variance_reduction_batch(gp, candidates, objective, 1, fixed=result.picks[::-1])
    assert list(reversed_order.picks) == list(result.picks[::-1])
    np.testing.assert_allclose(reversed_order.reduction.sum(), result.reduction.sum(), rtol=1e-9)
    again = variance_reduction_batch(gp, candidates, objective, batch_size=5, block=64)
    np.testing.assert_array_equal(again.picks, result.picks)
    np.testing.assert_allclose(again.reduction, result.reduction, rtol=1e-10)


def test_batch_rejects_bad_arguments():
    gp = prior_only_gp(noise_std=0.5)
    points = np.array([[0.0], [1.0]])
    for bad in (0, 1.5, True):
        with pytest.raises(InputError, match="batch size"):
            variance_reduction_batch(gp, points, points, bad)
    with pytest.raises(InputError, match="block"):
        variance_reduction_batch(gp, points, points, 1, block=0)
    with pytest.raises(InputError, match="at least one candidate"):
        variance_reduction_batch(gp, points[:0], points, 1)
    for fixed in ([0, 0], [2], [-1]):
        with pytest.raises(InputError, match="distinct candidate indices"):
            variance_reduction_batch(gp, points, points, 1, fixed=fixed)
    # More picks than candidates: every candidate, once.
    assert sorted(variance_reduction_batch(gp, points, points, 5).picks) == [0, 1]


def test_load_map_gp_gives_the_map_gp_back(dataset, source, tmp_path):
    from hmixal.io import write_text

    data = model_data(dataset, source)
    trained = train_gp(data, PAPER_AL_FEATURES, seed=4, settings=HyperSettings(n_starts=1, hyper_subsample=30))
    path = tmp_path / "results" / "uncertainty" / "gp_hyper.json"
    record = {"features": list(PAPER_AL_FEATURES), "n_training_rows": len(dataset), **trained.hyper.to_dict()}
    write_text(json.dumps(record, indent=2) + "\n", path, manifest=True)
    again, features = load_map_gp(path, dataset, source)
    assert features == PAPER_AL_FEATURES and again.hyper == trained.hyper
    Z = data.columns(PAPER_AL_FEATURES)[::7] + 0.3
    np.testing.assert_allclose(again.latent_variance(Z), trained.latent_variance(Z), rtol=1e-12)
    with pytest.raises(InputError, match=rf"{path}: learnt on {len(dataset)} dataset rows, the dataset has 9"):
        load_map_gp(path, dataset.head(9), source)
    write_text(json.dumps({"features": list(PAPER_AL_FEATURES)}) + "\n", path, manifest=True)
    with pytest.raises(InputError, match="not a GP hyper-parameter record"):
        load_map_gp(path, dataset, source)


@pytest.mark.slow
def test_rule_scripts_chain_map_clusters_plan_and_miedema_groups(dataset, run_script, tmp_path, repo_dir):
    write_csv(dataset, tmp_path / "dataset.csv")
    elements = str(element_table_path())
    out = {name: str(tmp_path / name) for name in ("gp_variance.csv", "gp_hyper.json", "gp_map.csv")}
    common = {"log": str(tmp_path / "log.txt"), "threads": 1}
    params = {
        "features": list(PAPER_AL_FEATURES),
        "seed": 7,
        "hyper": {"n_starts": 1, "hyper_subsample": 40},
        "step": 0.1,
    }
    spec = {"input": {"dataset": str(tmp_path / "dataset.csv"), "elements": elements}, **common}
    done = run_script(
        "gp_map.py",
        {**spec, "params": params, "output": {"variance": out["gp_variance.csv"], "hyper": out["gp_hyper.json"]}},
    )
    assert done.returncode == 0, (tmp_path / "log.txt").read_text()
    assert json.loads((tmp_path / "gp_hyper.json").read_text())["features"] == list(PAPER_AL_FEATURES)
    cluster_out = {"map": out["gp_map.csv"], "scan": str(tmp_path / "scan.csv"), "clusters": str(tmp_path / "c.csv")}
    cluster_in = {"variance": out["gp_variance.csv"], "hyper": out["gp_hyper.json"], "elements": elements}
    cluster_params = {"k": 4, "k_min": 2, "k_max": 5, "seed": 7, "n_init": 2, "refractory": ["W", "Re", "Os", "Ir"]}
    done = run_script("clusters.py", {**common, "input": cluster_in, "output": cluster_out, "params": cluster_params})
    assert done.returncode == 0, (tmp_path / "log.txt").read_text()
    gp_map = pd.read_csv(out["gp_map.csv"], keep_default_na=False)
    assert len(gp_map) == len(all_binaries())
    assert list(gp_map.columns[:5]) == ["A", "B", "max_variance", "x_at_max", "cluster"]
    assert sorted(gp_map["cluster"].unique()) == [1, 2, 3, 4]
    assert list(pd.read_csv(cluster_out["scan"])["k"]) == [2, 3, 4, 5]
    plan_path = str(tmp_path / "plan.csv")
    plan_params = {
        "exclude": ["C"],
        "exclude_systems": ["W-Ir", "Cs-Li"],
        "order": "batch",
        "top": None,
        "rank_by": "max_variance",
        "batch_size": 5,
        "objective_step": 0.25,
    }
    plan_in = {"map": out["gp_map.csv"], "hyper": out["gp_hyper.json"], "dataset": spec["input"]["dataset"]}
    done = run_script(
        "acquisition_plan.py",
        {**common, "input": {**plan_in, "elements": elements}, "output": {"plan": plan_path}, "params": plan_params},
    )
    assert done.returncode == 0, (tmp_path / "log.txt").read_text()
    plan = pd.read_csv(plan_path, keep_default_na=False)
    assert len(plan) == 2415 - 69 - 2 and not (plan[["A", "B"]] == "C").any().any()
    assert not ((plan["A"] == "Ir") & (plan["B"] == "W")).any()
    assert list(plan["in_batch"]) == [True] * 5 + [False] * (len(plan) - 5)
    # The rows after the batch follow the reduction each would bring right after it.
    assert plan["variance_reduction"].iloc[5:].is_monotonic_decreasing
    assert (plan["variance_reduction_share"] > 0).all()
    assert "the first 5 rows remove" in (tmp_path / "log.txt").read_text()
    names = {k: str(tmp_path / f"m_{k}") for k in ("binaries", "confusion", "scan", "ratios", "accuracy")}
    miedema_params = {
        "k": 3,
        "k_min": 2,
        "k_max": 4,
        "seed": 7,
        "n_init": 2,
        "features": ["Cpliq_mean", "Cpliq_avgdev", "Sliq_mean", "Sliq_avgdev"],
    }
    done = run_script(
        "miedema_groups.py", {**common, "input": {"elements": elements}, "output": names, "params": miedema_params}
    )
    assert done.returncode == 0, (tmp_path / "log.txt").read_text()
    assert 0.6 < json.loads((tmp_path / "m_accuracy").read_text())["accuracy"] < 0.95


# ---------------------------------------------------------------------------- manifests of the intermediates


def cut_lines(path, keep: int) -> None:
    """Keep the first ``keep`` lines of a file written by the pipeline (a file cut after its rule wrote it)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:keep]), encoding="utf-8")


def test_read_uncertainty_table_checks_the_manifest(gp, dataset, source, tmp_path):
    table = uncertainty_table(gp, dataset, source, PAPER_AL_FEATURES, step=0.25, pairs=TRAIN[:4])
    path = tmp_path / "results" / "uncertainty" / "gp_variance.csv"
    write_csv(table, path)
    pd.testing.assert_frame_equal(read_uncertainty_table(path), table, check_exact=False, rtol=1e-9)
    cut_lines(path, 3)  # two binaries left: a valid map of fewer binaries, which only the manifest tells apart
    with pytest.raises(InputError, match=rf"{path}: has 2 data rows but its writer recorded 4 .*cut or edited"):
        read_uncertainty_table(path)
    write_csv(table, path)
    text = path.read_text()
    path.write_text(text.replace(f"{table['max_variance'].iloc[0]:.10g}", "0.5", 1))  # an edited variance
    with pytest.raises(InputError, match=rf"{path}: has the 4 data rows its writer recorded but different content"):
        read_uncertainty_table(path)
    path.with_name(path.name + ".manifest.json").unlink()
    with pytest.raises(InputError, match=rf"{path}: has no manifest"):
        read_uncertainty_table(path)


def test_resolve_features_checks_the_manifest_of_the_rfe_list(source, tmp_path):
    from hmixal.io import write_text

    path = tmp_path / "results" / "selection" / "features_al.txt"
    write_text("\n".join(PAPER_AL_FEATURES) + "\n", path, manifest=True)
    assert resolve_features(None, path, source.names) == PAPER_AL_FEATURES
    cut_lines(path, 3)  # the GP would silently run on 3 features
    with pytest.raises(InputError, match=rf"{path}: has 3 lines but its writer recorded 10"):
        resolve_features(None, path, source.names)
    # An explicit list in the config does not read the file at all.
    assert resolve_features(list(PAPER_AL_FEATURES), path, source.names) == PAPER_AL_FEATURES


def test_clusters_script_checks_the_gp_hyper_manifest(gp, dataset, source, run_script, tmp_path, repo_dir):
    from hmixal.io import write_text

    folder = tmp_path / "results" / "uncertainty"
    write_csv(uncertainty_table(gp, dataset, source, PAPER_AL_FEATURES, step=0.25, pairs=TRAIN), folder / "v.csv")
    hyper = folder / "gp_hyper.json"
    write_text(json.dumps({"features": list(PAPER_AL_FEATURES)}, indent=2) + "\n", hyper, manifest=True)
    out = {name: str(folder / f"{name}.csv") for name in ("map", "scan", "clusters")}
    spec = {
        "input": {"variance": str(folder / "v.csv"), "hyper": str(hyper),
                  "elements": str(element_table_path())},
        "output": out,
        "params": {"k": 2, "k_min": 2, "k_max": 3, "seed": 7, "n_init": 2, "refractory": ["W", "Re", "Os", "Ir"]},
        "log": str(tmp_path / "clusters.log"),
    }  # fmt: skip
    done = run_script("clusters.py", spec)
    assert done.returncode == 0, done.stderr + (tmp_path / "clusters.log").read_text()
    assert len(pd.read_csv(out["map"])) == len(TRAIN)
    # The clusters' feature space comes from this file: two features dropped by hand is refused, naming it.
    kept = list(PAPER_AL_FEATURES[:8])
    hyper.write_text(json.dumps({"features": kept}, indent=2) + "\n", encoding="utf-8")
    done = run_script("clusters.py", spec)
    assert done.returncode != 0
    assert f"{hyper}: has 12 lines but its writer recorded 14" in done.stderr
