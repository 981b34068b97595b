"""The loop closed with an ML potential: retrain on its Table 1 values, score against the AIMD values held out.

    python benchmarks/bench_mlip_loop.py [--binaries results/aimd/mlip/binaries] [--threads 1]

Needs the default pipeline's results/data/dataset_final.csv and results/model/final_before_inner.json (features and
hyper-parameters of the model before AIMD, kept: hmixal.aimd.stand_in) and the ML-potential rows of the Table 1
systems (benchmarks/bench_mlip_table1.py describes the runs). Writes benchmarks/mlip_loop.csv (per system: AIMD,
the ML potential, Miedema and the four variants' predictions), benchmarks/mlip_loop.json (MAE, RMSE, bias) and
benchmarks/mlip_loop.png. Analysis: docs/aimd_mlip.md, "The loop closed".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path

import pandas as pd
import yaml

from hmixal.aimd.analysis import collect_results
from hmixal.aimd.stand_in import VARIANTS, retrain_with_stand_in, scores
from hmixal.features import FeatureSource
from hmixal.io import write_csv
from hmixal.nested_cv import InnerSettings, read_inner_diagnostics

ROOT = Path(__file__).resolve().parent.parent
LABELS = {"before": "before AIMD", "stand_in": "+ ML potential, all systems", "aimd": "+ AIMD, all systems (in-sample)",
          "stand_in_loo": "+ ML potential, other systems", "aimd_loo": "+ AIMD, other systems"}  # fmt: skip


def figure(table: pd.DataFrame, summary: dict, path: Path) -> None:
    """Each variant's prediction against the AIMD value, one panel per variant (kJ/mol)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(VARIANTS), figsize=(16, 3.8), dpi=150, sharex=True, sharey=True)
    low = float(table[["aimd_kJ_per_mol", *VARIANTS]].min().min()) - 5
    high = float(table[["aimd_kJ_per_mol", *VARIANTS]].max().max()) + 5
    for ax, variant in zip(axes, VARIANTS, strict=True):
        s = summary[variant]
        ax.plot([low, high], [low, high], color="black", lw=0.8)
        ax.scatter(table["aimd_kJ_per_mol"], table[variant], s=14, color="tab:blue")
        ax.set_title(f"{LABELS[variant]}\nMAE {s['mae']:.1f}, RMSE {s['rmse']:.1f}, bias {s['bias']:+.1f}", fontsize=8)
        ax.set_xlabel("ΔH_mix, paper's AIMD (kJ/mol)", fontsize=8)
        ax.grid(alpha=0.3)
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
    axes[0].set_ylabel("ΔH_mix, model (kJ/mol)", fontsize=8)
    fig.suptitle(f"Model retrained with ML-potential data, Table 1 AIMD values held out ({len(table)} systems)",
                 fontsize=9)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binaries", type=Path, default=ROOT / "results" / "aimd" / "mlip" / "binaries")
    parser.add_argument("--dataset", type=Path, default=ROOT / "results" / "data" / "dataset_final.csv")
    parser.add_argument("--inner", type=Path, default=ROOT / "results" / "model" / "final_before_inner.json")
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "mlip_loop.csv")
    args = parser.parse_args()

    config = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    inner = read_inner_diagnostics(args.inner)
    settings = InnerSettings.from_mapping(config["model"]["inner"])
    rows = collect_results(sorted(args.binaries.glob("*.csv")))
    stand_in = rows[rows["status"] == "value"]
    dataset = pd.read_csv(args.dataset)
    start = time.perf_counter()
    table = retrain_with_stand_in(dataset, stand_in, FeatureSource(), inner["features"], inner["params"], settings,
                                  int(config["seed"]), args.threads)  # fmt: skip
    summary = scores(table)
    summary["seconds"] = time.perf_counter() - start
    summary["machine"] = {"host": platform.node(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
                          "date": dt.date.today().isoformat()}  # fmt: skip
    write_csv(table.round(4), args.out)
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    figure(table, summary, args.out.with_suffix(".png"))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
