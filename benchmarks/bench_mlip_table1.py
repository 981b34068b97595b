"""A universal ML potential against the paper's AIMD (Table 1): the calibration table, its scores and parity figure.

Runs after the pipeline has run the Table 1 systems on the ML-potential engine:

    snakemake --profile profiles/local --cores 2 results/aimd/aimd_results.csv \\
        --configfile config/aimd_paper.yaml config/mlip_table1.yaml
    python benchmarks/bench_mlip_table1.py [--results results/aimd] [--oof results/model/oof_predictions.csv]

Writes benchmarks/mlip_table1.csv (one row per Table 1 system: the engine's ΔH_mix with its SE, the production's
mean pressure, phase separation, next to the paper's AIMD, Miedema and the model's out-of-fold predictions),
benchmarks/mlip_table1.json (MAE, RMSE, bias, sign agreement overall and per refractory element, the phase
separations found or missed, the wall time per run and per binary from the run logs) and
benchmarks/mlip_table1_parity.png. Analysis: docs/aimd_mlip.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
from pathlib import Path

import numpy as np
import pandas as pd

from hmixal.aimd.table1 import NOT_RUN, calibration_table, compare, engine_table, reference_systems
from hmixal.io import write_csv

ROOT = Path(__file__).resolve().parent.parent
PREDICTORS = {"hmix_kJ_per_mol": "ML potential", "miedema_kJ_per_mol": "Miedema",
              "model_oof_kJ_per_mol": "model (out-of-fold, after AIMD)",
              "model_before_kJ_per_mol": "model before AIMD"}  # fmt: skip
_WALL = re.compile(r"runs/(?P<run>[^/]+)/(?P<stage>[^:]+): finished after (?P<s>[0-9.]+) s \((?P<steps>\d+) steps")


def model_columns(oof_csv: Path) -> pd.DataFrame:
    """Miedema and the model (out-of-fold after AIMD; before AIMD) at the Table 1 points, from the nested CV."""
    oof = pd.read_csv(oof_csv)
    oof = oof[(oof["source_type"] == "aimd") & np.isclose(oof["x_B"], 0.5)]
    out = oof[["A", "B", "miedema_kJ_per_mol", "predicted_kJ_per_mol", "predicted_before_aimd_kJ_per_mol"]]
    out = out.rename(columns={"predicted_kJ_per_mol": "model_oof_kJ_per_mol",
                              "predicted_before_aimd_kJ_per_mol": "model_before_kJ_per_mol"})  # fmt: skip
    out.insert(0, "system", out["A"] + "-" + out["B"])
    return out.drop(columns=["A", "B"])


def wall_times(log_dir: Path, engine: str) -> pd.DataFrame:
    """Per run: wall seconds and MD steps summed over its stages, from the aimd_run logs."""
    rows = []
    for path in sorted(log_dir.glob(f"{engine}_run_*.log")):
        for match in _WALL.finditer(path.read_text(encoding="utf-8", errors="replace")):
            rows.append({"run": match["run"], "stage": match["stage"], "seconds": float(match["s"]),
                         "steps": int(match["steps"])})  # fmt: skip
    frame = pd.DataFrame(rows, columns=["run", "stage", "seconds", "steps"])
    # a stage rerun after an interruption is logged twice: its last run counts
    frame = frame.drop_duplicates(["run", "stage"], keep="last")
    return frame.groupby("run", as_index=False)[["seconds", "steps"]].sum()


def cost(times: pd.DataFrame, systems: pd.DataFrame) -> dict:
    """Median wall time per run and per binary (its alloy run plus its two pure runs, pure runs shared)."""
    if times.empty:
        return {}
    per_run = times.set_index("run")["seconds"]
    per_binary = []
    for _, row in systems.iterrows():
        ids = [row["alloy_run"], row["pure_A_run"], row["pure_B_run"]]
        if all(i in per_run.index for i in ids):
            per_binary.append(float(per_run[ids].sum()))
    alloy = [float(per_run[i]) for i in systems["alloy_run"] if i in per_run.index]
    return {
        "n_runs_timed": len(per_run),
        "median_run_min": statistics.median(per_run) / 60.0,
        "median_alloy_run_min": statistics.median(alloy) / 60.0 if alloy else None,
        "median_s_per_step": float(statistics.median(times["seconds"] / times["steps"])),
        "median_binary_core_min": statistics.median(per_binary) / 60.0 if per_binary else None,
        "median_binary_wall_min_on_2_cores": statistics.median(per_binary) / 120.0 if per_binary else None,
        "note": "a binary's three runs, one core each, two at a time; pure runs shared between binaries count "
        "in full for every binary here",
    }


def parity_figure(table: pd.DataFrame, summary: dict, path: Path) -> None:
    """Engine, Miedema and the model against the paper's AIMD on the Table 1 values (kJ/mol)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = table[(table["aimd_status"] == "value") & (table["status"] == "value")]
    # not_computed rows (a run not a homogeneous liquid): the engine's number, open markers, not scored
    rejected = table[(table["aimd_status"] == "value") & (table["status"] == "not_computed")]
    fig, ax = plt.subplots(figsize=(6.4, 6.2), dpi=150)
    if len(rejected):
        ax.scatter(rejected["aimd_kJ_per_mol"], rejected["hmix_kJ_per_mol"], s=30, facecolors="none",
                   edgecolors="tab:blue", label="ML potential, not computed (a pure liquid boiled)")  # fmt: skip
        for _, row in rejected.iterrows():
            ax.annotate(row["system"], (row["aimd_kJ_per_mol"], row["hmix_kJ_per_mol"]), fontsize=6,
                        xytext=(3, -7), textcoords="offset points", color="tab:blue")  # fmt: skip
    styles = [("miedema_kJ_per_mol", "s", "tab:gray"), ("model_before_kJ_per_mol", "^", "tab:orange"),
              ("model_oof_kJ_per_mol", "v", "tab:green"), ("hmix_kJ_per_mol", "o", "tab:blue")]  # fmt: skip
    for column, marker, colour in styles:
        scores = summary["overall"].get(column, {})
        label = f"{PREDICTORS[column]}: MAE {scores.get('mae', float('nan')):.1f}, bias {scores.get('bias', 0):+.1f}"
        errors = values["uncertainty_kJ_per_mol"] if column == "hmix_kJ_per_mol" else None
        ax.errorbar(values["aimd_kJ_per_mol"], values[column], yerr=errors, fmt=marker, color=colour, ms=5,
                    alpha=0.85, capsize=2, label=label)  # fmt: skip
    for _, row in values.iterrows():
        ax.annotate(row["system"], (row["aimd_kJ_per_mol"], row["hmix_kJ_per_mol"]), fontsize=6,
                    xytext=(3, -7), textcoords="offset points", color="tab:blue")  # fmt: skip
    low = float(np.nanmin(values[[c for c, _, _ in styles] + ["aimd_kJ_per_mol"]].to_numpy())) - 5
    high = max(10.0, float(np.nanmax(values[[c for c, _, _ in styles] + ["aimd_kJ_per_mol"]].to_numpy())) + 5)
    ax.plot([low, high], [low, high], color="black", lw=0.8)
    ax.fill_between([low, high], [low - 5, high - 5], [low + 5, high + 5], color="black", alpha=0.07,
                    label="± 5 kJ/mol")  # fmt: skip
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    ax.set_xlabel("ΔH_mix, paper's AIMD (VASP, Table 1) (kJ/mol)")
    ax.set_ylabel("ΔH_mix, predicted or simulated (kJ/mol)")
    sep = summary["phase_separations"]
    model = str(values["model"].iloc[0]) if len(values) else "ML potential"
    ax.set_title(f"{model}, {int(values['n_atoms'].median()) if len(values) else 0} atoms, "
                 f"{summary['overall']['hmix_kJ_per_mol']['n']} of {summary['n_reference_values']} values\n"
                 f"phase separations flagged {len(sep['flagged'])} of {sep['n_computed']} run "
                 f"({sep['n_reference']} in Table 1)", fontsize=9)  # fmt: skip
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results" / "aimd")
    parser.add_argument("--engine", default="mlip")
    parser.add_argument("--logs", type=Path, default=None, help="default: <results>/../logs/aimd")
    parser.add_argument("--table", type=Path, default=ROOT / "data" / "aimd_bizot2026.csv")
    parser.add_argument("--oof", type=Path, default=ROOT / "results" / "model" / "oof_predictions.csv")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "mlip_table1.csv")
    args = parser.parse_args()

    reference = reference_systems(args.table)
    engine = engine_table(args.results / args.engine / "binaries", reference)
    table = calibration_table(reference, engine).merge(model_columns(args.oof), on="system", how="left")
    summary = compare(table, list(PREDICTORS))
    summary["n_systems"] = len(table)
    summary["n_run"] = int((table["status"] != NOT_RUN).sum())
    systems = pd.read_csv(args.results / "systems.csv", comment="#")
    logs = args.logs or args.results.parent / "logs" / "aimd"
    summary["cost"] = cost(wall_times(logs, args.engine), systems)
    summary["machine"] = {"host": platform.node(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
                          "date": dt.date.today().isoformat()}  # fmt: skip
    write_csv(table, args.out)
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1, default=float) + "\n", encoding="utf-8")
    parity_figure(table, summary, args.out.with_name(args.out.stem + "_parity.png"))
    print(json.dumps({k: summary[k] for k in ("n_run", "overall", "phase_separations", "cost")}, indent=1))


if __name__ == "__main__":
    main()
