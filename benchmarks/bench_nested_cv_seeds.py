"""Nested grouped CV of the default config for several root seeds: accuracy averaged over group shuffles.

Each seed runs `snakemake results/model/metrics.json --config seed=S` in its own scratch copy of the
repository (the root seed sets the outer and inner folds, Optuna and LightGBM), and the script gathers the
RMSE ratios (model / Miedema) overall, per Miedema group and on the AIMD points before/after, the headline ratios
per point and per binary with their bootstrap intervals over binaries, the cross-fitted coverage of the calibrated
68 % / 95 % intervals (overall and per data-coverage class), and the wall time.

Run: .venv/bin/python benchmarks/bench_nested_cv_seeds.py SCRATCH_DIR OUT.json SEED [SEED ...] [--set KEY=VALUE ...]
(--set: further `snakemake --config` entries, e.g. --set "model={'inner': {'sample_weighting': 'none'}}")
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GROUPS = ("TM-TM", "TM-nonTM", "nonTM-nonTM")


def scratch_copy(destination: Path) -> None:
    """Copy the tracked and untracked-but-not-ignored files (no results) to ``destination``."""
    listing = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    )
    for name in listing.stdout.splitlines():
        source = REPO / name
        if source.is_file() and not name.startswith("results/"):
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def run_seed(scratch: Path, seed: int, overrides: list[str]) -> dict[str, object]:
    """Run the nested CV for one root seed (plus config ``overrides``) and return its summary."""
    workdir = scratch / f"seed_{seed}"
    if not workdir.exists():
        scratch_copy(workdir)
    command = [
        str(REPO / ".venv" / "bin" / "snakemake"),
        "--profile",
        "profiles/local",
        "--cores",
        "2",
        "--config",
        f"seed={seed}",
        *overrides,
        "--",
        "results/model/metrics.json",
    ]
    start = time.perf_counter()
    subprocess.run(command, cwd=workdir, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return summarise(workdir, seed, time.perf_counter() - start)


def summarise(workdir: Path, seed: int, wall_s: float | None) -> dict[str, object]:
    """The summary row of one finished seed from its metrics.json."""
    metrics = json.loads((workdir / "results/model/metrics.json").read_text())
    aimd = metrics["aimd"]["overall"]
    return {
        "seed": seed,
        "wall_min": None if wall_s is None else round(wall_s / 60, 1),
        "overall": metrics["overall"]["rmse_ratio"],
        **{g: metrics["per_miedema_group"][g]["rmse_ratio"] for g in GROUPS},
        "rmse_model": metrics["overall"]["model"]["rmse"],
        "rmse_miedema": metrics["overall"]["miedema"]["rmse"],
        "aimd_before": aimd["before"]["rmse"],
        "aimd_after": aimd["after"]["rmse"],
        "aimd_miedema": aimd["miedema"]["rmse"],
        "headline": {
            name: {k: block[k] for k in ("per_point", "per_binary", "worst_binaries")}
            for name, block in metrics["headline"].items()
        },
        "coverage": {
            f"{row['coverage_class']}@{row['expected']:.2f}": round(row["observed"], 4)
            for row in metrics["calibration"]["cross_fitted_coverage"]
        },
    }


def main(scratch: str, out: str, seeds: list[int], overrides: list[str], walls: dict[int, float]) -> None:
    """Run every seed (or, with recorded wall times, only summarise finished ones), print one line each and the
    mean, write all rows to ``out``."""
    rows = []
    for seed in seeds:
        if seed in walls:
            rows.append(summarise(Path(scratch) / f"seed_{seed}", seed, walls[seed] * 60))
        else:
            rows.append(run_seed(Path(scratch), seed, overrides))
        print(json.dumps(rows[-1]), flush=True)
    keys = ["overall", *GROUPS, "aimd_before", "aimd_after"]
    mean = {k: statistics.mean(float(r[k]) for r in rows) for k in keys}
    print("mean over seeds:", json.dumps({k: round(v, 3) for k, v in mean.items()}))
    document = {"config_overrides": overrides, "runs": rows, "mean": mean}
    Path(out).write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scratch")
    parser.add_argument("out")
    parser.add_argument("seeds", nargs="+", type=int)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--finished",
        action="append",
        default=[],
        metavar="SEED=MINUTES",
        help="summarise a seed whose run finished (wall time as measured) instead of running it",
    )
    args = parser.parse_args()
    finished = {int(k): float(v) for k, v in (item.split("=") for item in args.finished)}
    main(args.scratch, args.out, args.seeds, args.overrides, finished)
