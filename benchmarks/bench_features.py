"""Time the 44 composition features for all 2415 binaries × 99 compositions (goal: < 1 s).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_features.py [repeats]
Writes nothing; paste the printed block into benchmarks/RESULTS.md with the machine and date.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
import tracemalloc
from datetime import date

from hmixal.elements import element_index, load_element_table, property_matrix
from hmixal.features import binary_features, feature_frame
from hmixal.systems import all_binaries, binary_grid, composition_grid


def main(repeats: int = 9) -> None:
    """Print the median wall time and peak memory of the feature computation on the full grid."""
    values = property_matrix(load_element_table())
    index = element_index()
    grid = binary_grid(all_binaries(), composition_grid(0.01))
    a, b, x = grid["A"].to_numpy(), grid["B"].to_numpy(), grid["x_B"].to_numpy()
    binary_features(values, index, a, b, x)  # warm-up
    times = {"binary_features (array)": [], "feature_frame (DataFrame)": []}
    for _ in range(repeats):
        start = time.perf_counter()
        binary_features(values, index, a, b, x)
        times["binary_features (array)"].append(time.perf_counter() - start)
        start = time.perf_counter()
        feature_frame(values, index, grid)
        times["feature_frame (DataFrame)"].append(time.perf_counter() - start)
    tracemalloc.start()
    matrix = binary_features(values, index, a, b, x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"date {date.today()}, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"grid: {len(grid)} rows × {matrix.shape[1]} features; median of {repeats} runs")
    for name, samples in times.items():
        print(f"  {name}: {statistics.median(samples) * 1000:.1f} ms (min {min(samples) * 1000:.1f} ms)")
    print(f"  peak traced memory of binary_features: {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
