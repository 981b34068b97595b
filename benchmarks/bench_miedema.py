"""Time Miedema's liquid ΔH_mix for all 2415 binaries × 99 compositions (median of several runs).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_miedema.py [repeats]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from hmixal.elements import ELEMENTS
from hmixal.miedema_model import default_parameters, hmix, hmix_grid


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``work`` (after one warm-up call)."""
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(repeats: int = 9) -> None:
    """Print the median time of each way of evaluating the full grid."""
    default_parameters()  # parameter loading is a one-off cost, timed separately below
    symbols = np.array(sorted(ELEMENTS))
    first, second = np.triu_indices(len(symbols), k=1)
    x = np.arange(1, 100) / 100.0
    rows_a = np.repeat(symbols[first], x.size)  # 239 085 symbols, one per row
    rows_b = np.repeat(symbols[second], x.size)
    rows_x = np.tile(x, first.size)
    index_a = np.array([ELEMENTS.index(s) for s in symbols])[first]
    index_b = np.array([ELEMENTS.index(s) for s in symbols])[second]
    cases: dict[str, Callable[[], object]] = {
        "hmix, (2415, 1) symbols x (99,) compositions": lambda: hmix(
            symbols[first][:, None], symbols[second][:, None], x
        ),
        "hmix, (2415, 1) indices x (99,) compositions": lambda: hmix(index_a[:, None], index_b[:, None], x),
        "hmix, 239085 rows of symbols": lambda: hmix(rows_a, rows_b, rows_x),
        "hmix_grid (DataFrame of all rows)": hmix_grid,
        "load_parameters (uncached)": default_parameters.__wrapped__,
    }
    print(f"median of {repeats} runs")
    for label, work in cases.items():
        print(f"{label:48s} {1000 * median_seconds(work, repeats):8.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
