"""Which evaluator should the active-learning benchmark train? How much each candidate learns from the pool, how
noisy it is over evaluator seeds, and what it costs (hmixal.al_evaluator; docs/active_learning.md, "The evaluator").

Run: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_al_evaluator_choice.py \
         [--dataset results/data/dataset_initial.csv] [--splits 20] [--out benchmarks/al_evaluator_choice.csv]

Per split (hmixal.active_learning.make_splits, fractions and root seed from config/config.yaml) and candidate, all
on one thread, evaluator seed derive_seed(root, "al-eval", split) as in the benchmark unless said otherwise:

- rmse_iter0: trained on the train rows (every approach's iteration 0);
- rmse_equimolar: train + the equimolar point of every pool binary (what random sampling ends with);
- rmse_pool: train + every pool row (the ceiling); gap_* = rmse_iter0 − rmse_* (what the evaluator can learn);
- seed_sd: standard deviation (ddof 1) of the test RMSE over 5 evaluator seeds (the benchmark's and 4 derived) at
  fixed data, train + a fixed random half of the pool's equimolar points;
- draw_sd: standard deviation of the test RMSE over 5 random halves of the pool's equimolar points at the
  benchmark's seed (how much two equal-size random acquisitions differ; part noise, part real);
- fit_s: median wall time of one fit + test prediction at the fixed-data size (9 per split: the 5 seeds, 4 other
  halves); the summary gives the median over splits and the fastest split's (closest to an idle machine);
- miedema_rmse: sqrt(mean(y²)) on the test rows (the correction 0).
The per-split table goes to --out; a summary (means over splits, SNR = gap / seed_sd) is printed as Markdown.
--from-csv PATH prints the summary of a table written before, without measuring.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from hmixal.active_learning import equimolar_rows, make_splits, split_masks
from hmixal.al_evaluator import EvaluatorSettings, fit
from hmixal.dataset import read_table
from hmixal.features import FeatureSource
from hmixal.io import atomic_path
from hmixal.model import ModelData, model_data
from hmixal.resources import element_table_path
from hmixal.splits import derive_seed

REPO = Path(__file__).resolve().parents[1]
N_SEEDS, N_HALVES = 5, 5
# The full benchmark's evaluations: ~50 iterations × 100 splits × ~10 approaches.
FULL_EVALUATIONS = 50 * 100 * 10


def candidates(config: dict) -> list[tuple[str, EvaluatorSettings, dict]]:
    """(name, settings, LightGBM parameters) of every candidate evaluator."""
    al = dict(config["active_learning"]["lgbm"])
    base = dict(config["model"]["inner"]["base_params"])
    inner = config["model"]["inner"]
    pipeline = {
        "sample_weighting": inner["sample_weighting"],
        "shrink_per_group": inner["shrink_per_group"],
        "shrink_z": float(inner["shrink_z"]),
        "shrink_by_spread": inner["shrink_by_spread"],
    }
    unshrunk = {**pipeline, "shrink_z": 0.0}
    return [
        ("lightgbm×1 (original)", EvaluatorSettings(), al),
        ("lightgbm×3", EvaluatorSettings(n_seeds=3), al),
        ("lightgbm×5", EvaluatorSettings(n_seeds=5), al),
        ("lightgbm×10", EvaluatorSettings(n_seeds=10), al),
        (
            f"model {inner['n_folds']} folds, base_params",
            EvaluatorSettings(kind="model", n_folds=int(inner["n_folds"]), **pipeline),
            base,
        ),
        ("model 5 folds, al lgbm", EvaluatorSettings(kind="model", n_folds=5, **pipeline), al),
        ("model 5 folds, al lgbm, z=0", EvaluatorSettings(kind="model", n_folds=5, **unshrunk), al),
    ]


def measure_split(
    data: ModelData, splits: pd.DataFrame, split: int, root: int, cands: list[tuple[str, EvaluatorSettings, dict]]
) -> list[dict]:
    """One record per candidate for one split (columns in the module docstring)."""
    train, test, pool = split_masks(splits, split, data.groups)
    train_rows, test_rows = np.flatnonzero(train), np.flatnonzero(test)
    equimolar = np.array(sorted(equimolar_rows(data.frame, np.flatnonzero(pool)).values()), dtype=np.int64)
    halves = []
    for h in range(N_HALVES):
        rng = np.random.default_rng(derive_seed(root, "al-eval-choice-half", split, h))
        halves.append(np.sort(np.r_[train_rows, rng.choice(equimolar, equimolar.size // 2, replace=False)]))
    seed = derive_seed(root, "al-eval", split)
    seeds = [seed] + [derive_seed(root, "al-eval-choice", split, k) for k in range(1, N_SEEDS)]
    with_equimolar = np.sort(np.r_[train_rows, equimolar])
    with_pool = np.flatnonzero(train | pool)
    records = []
    for name, settings, params in cands:

        def score(rows: np.ndarray, s: int, settings=settings, params=params) -> tuple[float, float]:
            start = time.perf_counter()
            value = fit(settings, params, data, None, rows, s, 1).rmse(test_rows)
            return value, time.perf_counter() - start

        iter0, _ = score(train_rows, seed)
        equi, _ = score(with_equimolar, seed)
        full, _ = score(with_pool, seed)
        by_seed = [score(halves[0], s) for s in seeds]
        by_half = [by_seed[0]] + [score(halves[h], seed) for h in range(1, N_HALVES)]
        times = [t for _, t in by_seed] + [t for _, t in by_half[1:]]
        records.append(
            {
                "candidate": name,
                "kind": settings.kind,
                "members": settings.n_seeds if settings.kind == "lightgbm" else settings.n_folds,
                "split": split,
                "n_train_rows": train_rows.size,
                "n_test_rows": test_rows.size,
                "n_pool_equimolar": equimolar.size,
                "n_pool_rows": int(pool.sum()),
                "miedema_rmse": float(np.sqrt(np.mean(data.y[test_rows] ** 2))),
                "rmse_iter0": iter0,
                "rmse_equimolar": equi,
                "rmse_pool": full,
                "seed_sd": float(np.std([v for v, _ in by_seed], ddof=1)),
                "seed_mean": float(np.mean([v for v, _ in by_seed])),
                "draw_sd": float(np.std([v for v, _ in by_half], ddof=1)),
                "fit_s": float(np.median(times)),
            }
        )
        print(
            f"  split {split:3d} {name:30s} iter0 {iter0:6.3f} equimolar {equi:6.3f} pool {full:6.3f} "
            f"seed sd {records[-1]['seed_sd']:5.3f} draw sd {records[-1]['draw_sd']:5.3f} "
            f"fit {records[-1]['fit_s']:5.2f} s",
            flush=True,
        )
    return records


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Means over splits per candidate, gaps with their standard error, SNR = gap / seed SD, projected cost."""
    t = table.assign(
        gap_equimolar=table["rmse_iter0"] - table["rmse_equimolar"],
        gap_pool=table["rmse_iter0"] - table["rmse_pool"],
        learns=table["rmse_pool"] < table["rmse_iter0"],
    )
    g = t.groupby("candidate", sort=False)
    n = g.size()
    out = pd.DataFrame(
        {
            "splits": n,
            "miedema": g["miedema_rmse"].mean(),
            "iter0": g["rmse_iter0"].mean(),
            "equimolar": g["rmse_equimolar"].mean(),
            "pool": g["rmse_pool"].mean(),
            "gap_equimolar": g["gap_equimolar"].mean(),
            "gap_equimolar_se": g["gap_equimolar"].std() / np.sqrt(n),
            "gap_pool": g["gap_pool"].mean(),
            "gap_pool_se": g["gap_pool"].std() / np.sqrt(n),
            "share_learns": g["learns"].mean(),
            "seed_sd": g["seed_sd"].mean(),
            "draw_sd": g["draw_sd"].mean(),
            "fit_s": g["fit_s"].median(),
            "fit_s_min": g["fit_s"].min(),
        }
    )
    out["snr_equimolar"] = out["gap_equimolar"] / out["seed_sd"]
    out["snr_pool"] = out["gap_pool"] / out["seed_sd"]
    out["cpu_min_full"] = out["fit_s"] * FULL_EVALUATIONS / 60
    out["cpu_min_full_min"] = out["fit_s_min"] * FULL_EVALUATIONS / 60
    return out.reset_index()


def markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table (RMSE and SD in kJ/mol)."""
    lines = [
        "| evaluator | Miedema | iter 0 | + equimolar | + pool | gap equimolar | gap pool | pool better | seed SD "
        "| draw SD | SNR equimolar | SNR pool | fit (s), median / fastest split | CPU min, 50×100×10 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in summary.itertuples(index=False):
        lines.append(
            f"| {r.candidate} | {r.miedema:.2f} | {r.iter0:.2f} | {r.equimolar:.2f} | {r.pool:.2f} "
            f"| {r.gap_equimolar:.2f} ± {r.gap_equimolar_se:.2f} | {r.gap_pool:.2f} ± {r.gap_pool_se:.2f} "
            f"| {100 * r.share_learns:.0f} % | {r.seed_sd:.3f} | {r.draw_sd:.3f} | {r.snr_equimolar:.1f} "
            f"| {r.snr_pool:.1f} | {r.fit_s:.2f} / {r.fit_s_min:.2f} "
            f"| {r.cpu_min_full:.0f} / {r.cpu_min_full_min:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Measure every candidate on the first --splits splits, write the per-split table, print the summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default=str(REPO / "results/data/dataset_initial.csv"))
    parser.add_argument("--config", default=str(REPO / "config/config.yaml"))
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/al_evaluator_choice.csv")
    parser.add_argument("--from-csv", type=Path, default=None, help="summarise this per-split table only")
    args = parser.parse_args()
    if args.from_csv is not None:
        print(markdown(summarise(pd.read_csv(args.from_csv))))
        return
    if os.environ.get("OMP_NUM_THREADS") != "1":
        raise SystemExit("set OMP_NUM_THREADS=1: the timings are per thread")
    config = yaml.safe_load(Path(args.config).read_text())
    al = config["active_learning"]
    root = int(config["seed"])
    data = model_data(read_table(args.dataset), FeatureSource(element_table_path()))
    splits = make_splits(data.groups, args.splits, al["train_fraction"], al["test_fraction"], root)
    cands = candidates(config)
    print(
        f"date {date.today()}, {platform.machine()}, Python {platform.python_version()}, 1 thread, "
        f"load average {os.getloadavg()[0]:.2f}; {args.dataset}: {data.y.size} points, "
        f"{np.unique(data.groups).size} binaries; {args.splits} splits",
        flush=True,
    )
    start = time.perf_counter()
    records = []
    for split in range(args.splits):
        records.extend(measure_split(data, splits, split, root, cands))
    table = pd.DataFrame.from_records(records)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g", lineterminator="\n")
    print(f"\nwall {(time.perf_counter() - start) / 60:.1f} min, load average {os.getloadavg()[0]:.2f}")
    print(markdown(summarise(table)))


if __name__ == "__main__":
    main()
