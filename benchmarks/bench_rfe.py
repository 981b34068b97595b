"""Time one repeat of the RFE study at paper settings (44 → 1 features, 25 fits per step) on the default dataset.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_rfe.py results/data/dataset_initial.csv [repeats]
The full study costs (repeats in config) × this; blocks of repeats run as parallel jobs.
"""

from __future__ import annotations

import statistics
import sys
import time

import yaml

from hmixal.dataset import read_table
from hmixal.features import FeatureSource
from hmixal.model import model_data
from hmixal.rfe_study import RfeSettings, rfe_repeat


def main(dataset: str, repeats: int = 1) -> None:
    """Print the wall time of each repeat and the projected time of the configured study on 2 cores."""
    with open("config/config.yaml") as handle:
        config = yaml.safe_load(handle)["selection"]
    data = model_data(read_table(dataset), FeatureSource())
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        rfe_repeat(data, r, RfeSettings(config["lgbm"], config["fits_per_step"], config["test_fraction"], 1), 1, 1)
        times.append(time.perf_counter() - start)
    per_repeat = statistics.median(times)
    print(f"{len(data.y)} rows; repeat times {[round(t, 1) for t in times]} s; median {per_repeat:.1f} s")
    minutes = config["repeats"] * per_repeat / 2 / 60
    print(f"projected study ({config['repeats']} repeats) on 2 cores: {minutes:.0f} min")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
