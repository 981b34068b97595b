"""Time the GP uncertainty map: 2415 binaries × 99 compositions (goal: ≤ 30 s on 2 cores), and the hyper-parameter fit.

Run: .venv/bin/python benchmarks/bench_gp_map.py [--dataset results/data/dataset_initial.csv] [--threads 1 2]
         [--subsample 0 1000] [--repeats 1]
Each --threads value maps the full grid with a fixed set of hyper-parameters (learnt first with the first
--subsample value); each further --subsample value only times the fit and compares its map ranking with
the first's. Writes nothing; paste the printed block below with the machine, the date and the load.
The machine may be shared with other jobs: times are upper bounds of an idle machine's.

Recorded 2026-11-25 (x86_64 AMD EPYC, 2 cores, Python 3.11.7; the machine was shared with other jobs, so
times are upper bounds), initial dataset (2291 points, 236 binaries), the paper's 10 AL features:

  load 1.6: hyper fit, subsample 400: 6.0 s wall, 10.2 s CPU; noise 0.813, width 1.150, signal 9.443
    map 2415 × 99, 2 thread(s): 23.1 s wall, 45.1 s CPU   (goal ≤ 30 s)
    map 2415 × 99, 1 thread(s): 38.4 s wall, 38.5 s CPU
  load ≈ 1 (gp_map rule script, 2 threads): hyper fit, subsample 1000: 25.3 s; map 22.9 s
  load 3.3–5: hyper fit, subsample 1000: 202 s wall, 143 s CPU; noise 1.497, width 1.221, signal 9.609
    map, 2 threads: 66 s wall / 1 thread: 69 s wall (38 s CPU each: the second core was taken)
  hyper fit on all 2291 rows (separate run, load 5–9): 1716 s wall; noise 0.821, width 1.192, signal 10.756.
    Maps from 400/500/1000/1200-row fits against it: Spearman 0.9996–0.99995, top-100 overlap 99/100,
    median variance ratio 0.69–0.81.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import date

import numpy as np
from scipy.stats import spearmanr
from threadpoolctl import threadpool_limits

from hmixal.dataset import read_table
from hmixal.features import PAPER_AL_FEATURES, FeatureSource
from hmixal.gp_map import HyperSettings, train_gp, variance_map
from hmixal.model import model_data


def main() -> None:
    """Print hyper-parameter fit times, map times per thread count, and ranking agreement across subsamples."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="results/data/dataset_initial.csv")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--subsample", type=int, nargs="+", default=[1000])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20251125)
    args = parser.parse_args()
    source = FeatureSource()
    dataset = read_table(args.dataset)
    data = model_data(dataset, source)
    load = os.getloadavg()[0]
    print(f"date {date.today()}, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"dataset {len(dataset)} rows, {dataset.groupby(['A', 'B']).ngroups} binaries; load average {load:.1f}")
    maps = {}
    for i, subsample in enumerate(args.subsample):
        start, cpu = time.perf_counter(), time.process_time()
        gp = train_gp(data, PAPER_AL_FEATURES, args.seed, HyperSettings(hyper_subsample=subsample))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        h = gp.hyper
        print(
            f"hyper fit, subsample {subsample or 'all'}: {wall:.1f} s wall, {cpu:.1f} s CPU; noise {h.noise_std:.3f}, "
            f"width {h.width[0]:.3f}, signal {h.signal_std:.3f} kJ/mol, -log ML {h.neg_log_marginal_likelihood:.1f}"
        )
        thread_counts = args.threads if i == 0 else [max(args.threads)]
        for threads in thread_counts:
            times = []
            for _ in range(args.repeats):
                start, cpu = time.perf_counter(), time.process_time()
                with threadpool_limits(limits=threads, user_api="blas"):
                    table = variance_map(gp, source, PAPER_AL_FEATURES, step=0.01)
                times.append((time.perf_counter() - start, time.process_time() - cpu))
            wall = statistics.median(t[0] for t in times)
            cpu = statistics.median(t[1] for t in times)
            print(f"  map 2415 × 99, {threads} thread(s): {wall:.1f} s wall, {cpu:.1f} s CPU (median of {len(times)})")
        maps[subsample] = table.set_index(["A", "B"])["max_variance"]
    reference = args.subsample[0]
    for subsample, variance in maps.items():
        if subsample == reference:
            continue
        rho = spearmanr(maps[reference], variance.loc[maps[reference].index]).statistic
        top = set(maps[reference].nlargest(50).index) & set(variance.nlargest(50).index)
        ratio = float(np.median(variance.loc[maps[reference].index] / maps[reference]))
        print(
            f"  subsample {subsample or 'all'} vs {reference or 'all'}: Spearman {rho:.4f}, top-50 overlap "
            f"{len(top)}/50, median variance ratio {ratio:.3f}"
        )


if __name__ == "__main__":
    main()
