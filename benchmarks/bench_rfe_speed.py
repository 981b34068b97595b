"""RFE study, old against new elimination step: one LightGBM Dataset per step (native API) instead of one per fit
(scikit-learn wrapper). Times whole repeats at the default config's selection settings and checks that both
write the same paths table, byte for byte (as scripts/rfe_block.py writes it).

Run (1 thread; the old step is this file's copy of the scikit-learn version, kept out of the library):
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_rfe_speed.py [--dataset results/data/dataset_initial.csv]
      [--repeats 1] [--runs 3] [--config config/config.yaml [.test/config/config.yaml]]
Runs alternate old and new so that load from other jobs on a shared machine falls on both alike.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from unittest import mock

import lightgbm
import numpy as np
import pandas as pd

from hmixal import rfe_study
from hmixal.config import merge_config, read_config_file
from hmixal.dataset import read_table
from hmixal.features import FeatureSource
from hmixal.io import write_csv
from hmixal.model import ModelData, model_data, regressor
from hmixal.settings import field_names


def sklearn_step(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    params: Mapping[str, object],
    seeds: Sequence[int],
    threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The old step: a scikit-learn LGBMRegressor per seed, each building its own Dataset."""
    importances = np.empty((len(seeds), X_train.shape[1]))
    rmse = np.empty(len(seeds))
    for i, seed in enumerate(seeds):
        est = regressor({**params, "importance_type": "gain"}, seed, threads).fit(X_train, y_train)
        importances[i] = est.feature_importances_
        rmse[i] = float(np.sqrt(np.mean((est.predict(X_test) - y_test) ** 2)))
    return importances, rmse


def run_repeats(data: ModelData, config: Mapping, repeats: int, old: bool) -> tuple[float, float, pd.DataFrame]:
    """Wall and CPU time (s) of repeats 0 … repeats−1 with the old or the new step, and their paths table."""
    step = sklearn_step if old else rfe_study.elimination_step_importance
    with mock.patch.object(rfe_study, "elimination_step_importance", step):
        settings = rfe_study.RfeSettings.from_mapping({k: config[k] for k in field_names(rfe_study.RfeSettings)})
        start, start_cpu = time.perf_counter(), time.process_time()
        paths = [rfe_study.rfe_repeat(data, r, settings, config["seed"], 1) for r in range(repeats)]
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return elapsed, cpu, pd.concat(paths, ignore_index=True)


def table_bytes(frame: pd.DataFrame) -> bytes:
    """The paths table as scripts/rfe_block.py writes it (hmixal.io.write_csv)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "block.csv"
        write_csv(frame, path)
        return path.read_bytes()


def machine() -> str:
    """CPU model, core count, load, OS, Python and LightGBM versions."""
    cpu = platform.processor() or "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line]
        cpu = models[0] if models else cpu
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, load {load}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, LightGBM {lightgbm.__version__}; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )


def main() -> None:
    """Time old and new, check their tables are equal and print the medians and the implied study cost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="results/data/dataset_initial.csv")
    parser.add_argument(
        "--config", nargs="+", default=["config/config.yaml"], help="config files, later ones merged over earlier"
    )
    parser.add_argument("--repeats", type=int, default=1, help="repeats timed together per run (0, 1, …)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant; the median is reported")
    args = parser.parse_args()
    full: dict = {}
    for path in args.config:
        merge_config(full, read_config_file(path))
    config = {**full["selection"], "seed": full["seed"]}
    data = model_data(read_table(args.dataset), FeatureSource())
    print(f"date {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"machine: {machine()}")
    print(
        f"{args.dataset}: {len(data.y)} rows; repeats 0..{args.repeats - 1}, {config['fits_per_step']} fits per step, "
        f"{config['lgbm']}, threads=1"
    )
    # CPU time of this process (1 thread) is the cost; wall time also counts waiting for a core on a shared machine.
    times: dict[str, list[float]] = {"old": [], "new": []}
    cpu_times: dict[str, list[float]] = {"old": [], "new": []}
    tables: dict[str, bytes] = {}
    for run in range(args.runs):
        for name in ("old", "new"):
            elapsed, cpu, paths = run_repeats(data, config, args.repeats, name == "old")
            data_bytes = table_bytes(paths)
            if tables.setdefault(name, data_bytes) != data_bytes:
                raise SystemExit(f"{name}: run {run} wrote a different table from run 0")
            times[name].append(elapsed)
            cpu_times[name].append(cpu)
            load = os.getloadavg()[0]
            print(
                f"run {run} {name}: wall {elapsed:.1f} s, CPU {cpu:.1f} s, load {load:.2f} ({len(paths)} rows)",
                flush=True,
            )
    same = tables["old"] == tables["new"]
    print(f"tables identical: {same} (sha256 {hashlib.sha256(tables['new']).hexdigest()[:16]}, {len(tables['new'])} B)")
    n = int(config["repeats"])
    for label, series in (("wall", times), ("CPU", cpu_times)):
        old, new = statistics.median(series["old"]), statistics.median(series["new"])
        per_old, per_new = old / args.repeats, new / args.repeats
        print(
            f"{label}: median per repeat old {per_old:.1f} s, new {per_new:.1f} s; speed-up ×{old / new:.2f} "
            f"({100 * (1 - new / old):.0f} % less)"
        )
    # The study's cost: its repeats × the CPU time of one repeat (jobs of 1 thread each).
    per_old, per_new = (statistics.median(cpu_times[k]) / args.repeats for k in ("old", "new"))
    print(f"full study ({n} repeats × CPU per repeat): old {n * per_old / 60:.1f}, new {n * per_new / 60:.1f} CPU-min")
    if not same:
        raise SystemExit("the old and new steps wrote different paths tables")


if __name__ == "__main__":
    main()
