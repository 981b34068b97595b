"""Does averaging evaluator seeds narrow the AL benchmark's paired comparison, and do 2 GP starts find the optimum 5 do?

For the first N splits of the random design (default config, initial dataset), this runs ``random`` and
``gp_equimolar`` with the evaluator of one LightGBM seed and with the mean of 5 seeds, and reports the mean and the
standard deviation over splits of the paired difference RMSE(gp_equimolar) − RMSE(random) at the budgets ⅓, ⅔ and
the end (iterations 10, 19, 29 on the initial dataset): the benchmark's interval scales with that SD. It also learns
each split's isotropic GP hyper-parameters with 2 and with 5 random starts and prints both negative log marginal
likelihoods.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_al_evaluator_paired.py [--splits 12]
(about 30 s per split on one core); the per-split table goes to benchmarks/al_evaluator_paired.csv.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from hmixal.active_learning import _context, load_benchmark, run_split, split_hypers
from hmixal.al_designs import design_job
from hmixal.al_evaluator import EvaluatorSettings
from hmixal.config import read_config_file
from hmixal.dataset import read_table
from hmixal.features import PAPER_AL_FEATURES, FeatureSource
from hmixal.gp import learn_hyper
from hmixal.io import write_csv
from hmixal.model import model_data
from hmixal.resources import element_table_path
from hmixal.splits import derive_seed

REPO = Path(__file__).resolve().parents[1]
RUN_KEYS = ("features", "lgbm", "batch_size", "n_iterations", "eval_features", "gp", "rtal", "committee", "evaluator")


def main() -> None:
    """Print the paired-difference spread per evaluator and budget, and the 2- vs 5-start optima."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default=str(REPO / "results/data/dataset_initial.csv"))
    parser.add_argument("--splits", type=int, default=12)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/al_evaluator_paired.csv")
    args = parser.parse_args()
    config = read_config_file(REPO / "config/config.yaml")
    al = config["active_learning"]
    source = FeatureSource(element_table_path())
    data = model_data(read_table(args.dataset), source)
    splits, _ = design_job(
        "random", data, source, PAPER_AL_FEATURES, args.splits, 0.25, 0.25, config["seed"], al["cluster"]
    )
    splits_path = Path(tempfile.mkdtemp()) / "splits.csv"
    write_csv(splits, splits_path)
    run = {key: al[key] for key in RUN_KEYS} | {"seed": config["seed"]}
    inputs = SimpleNamespace(
        dataset=args.dataset, elements=str(element_table_path()), splits=str(splits_path), features_al=[]
    )
    data, splits, one = load_benchmark(inputs, run, "random", 1)
    five = dataclasses.replace(one, evaluator=EvaluatorSettings(n_seeds=5))
    n = one.n_iterations
    budgets = (round(n / 3), round(2 * n / 3), n)
    rows = []
    for split in range(args.splits):
        start = time.perf_counter()
        ctx = _context(data, splits, split, one)
        seed = derive_seed(one.root_seed, "al-gp", split, 1)
        two_starts = learn_hyper(ctx.Z[ctx.train], data.y[ctx.train], seed, n_starts=2)
        hypers = split_hypers(data, splits, split, dataclasses.replace(one, gp=dataclasses.replace(one.gp, n_starts=5)))
        for label, settings in (("x1", one), ("x5", five)):
            random = run_split(data, splits, split, "random", settings).set_index("iteration")["rmse"]
            gp = run_split(data, splits, split, "gp_equimolar", settings, hypers).set_index("iteration")["rmse"]
            for it in budgets:
                rows.append(
                    {"split": split, "evaluator": label, "iteration": it, "random": random[it],
                     "gp_equimolar": gp[it], "diff": gp[it] - random[it]}
                )  # fmt: skip
        print(
            f"split {split}: -log marginal likelihood, 5 starts {hypers['isotropic'].neg_log_marginal_likelihood:.4f}, "
            f"2 starts {two_starts.neg_log_marginal_likelihood:.4f} ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    table = pd.DataFrame(rows)
    table.to_csv(args.out, index=False)
    print(table.groupby(["evaluator", "iteration"])["diff"].agg(["mean", "std", "size"]).round(3))


if __name__ == "__main__":
    main()
