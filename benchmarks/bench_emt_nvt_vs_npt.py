"""EMT Ag–Cu (x = 0.5, 1400 K) through the NVT protocol (volume loop + production) against the NPT reference.

The ASE engine runs the same protocol as VASP (docs/aimd.md §4); before it, the EMT engine ran isotropic MTK NPT
at P = 0 and gave +0.34 ± 0.04 kJ/mol (256 atoms, 20 000 × 5 fs, 6 seeds: docs/aimd_emt.md). This script runs
the NVT route for several seeds (256 atoms, production as long as the NPT runs: 100 ps) and records each
ΔH_mix with its SE, the volume-loop stages used, the zero-pressure corrections and the wall time per binary.

    OMP_NUM_THREADS=1 python benchmarks/bench_emt_nvt_vs_npt.py [--seeds 6] [--atoms 256] [--production-ps 100]

The CI loop (tests/test_aimd_protocol.py: 64 atoms, 1-ps stages, 3-ps production) is timed with
    --seeds 3 --atoms 64 --stage-ps 1 --production-ps 3 --frame-interval 20 --out benchmarks/emt_ci_loop.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from hmixal.aimd.ase_engine import AseEngine, AseEngineSettings
from hmixal.aimd.campaign import run_seed
from hmixal.aimd.protocol import ProtocolSettings, advance_run, prepare_run
from hmixal.aimd.results import binary_result
from hmixal.aimd.structure import composition_counts
from hmixal.elements import load_element_table

NPT_REFERENCE = {"hmix_kJ_per_mol": 0.34, "sem_kJ_per_mol": 0.04, "seeds": 6, "n_atoms": 256, "production_ps": 100}
TEMPERATURE_K = 1400.0


def one_binary(root: Path, n_atoms: int, protocol: ProtocolSettings, seed: int, frame_interval: int) -> dict:
    """Alloy and both pure liquids through the protocol; the row and what the volume loop did."""
    elements = load_element_table()
    settings = AseEngineSettings(calculator="emt", frame_interval=frame_interval)
    dirs = []
    started = time.perf_counter()
    for counts in (composition_counts("Ag", "Cu", 0.5, n_atoms), {"Ag": n_atoms}, {"Cu": n_atoms}):
        label = "".join(f"{k}{v}" for k, v in counts.items())
        seed_of_run = run_seed(seed, label)
        engine = AseEngine(settings, seed_of_run)
        run_dir = prepare_run(root / label, engine, counts, TEMPERATURE_K, protocol, seed_of_run, elements)
        advance_run(run_dir, engine, protocol)
        dirs.append(run_dir)
    wall = time.perf_counter() - started
    result = binary_result(*dirs, protocol=protocol)
    runs = {
        name: {
            "stages": len(details["outcome"].get("volume", {}).get("history", [])),
            "production_pressure_kbar": details["outcome"].get("production", {}).get("pressure_kbar"),
            "zero_pressure_kJ_per_mol": (details.get("zero_pressure") or {}).get("correction_kJ_per_mol"),
        }
        for name, details in result.details["runs"].items()
    }
    row = result.row
    return {"seed": seed, "status": row["status"], "hmix_kJ_per_mol": row["hmix_kJ_per_mol"],
            "sem_kJ_per_mol": row["uncertainty_kJ_per_mol"], "wall_s": round(wall, 1), "runs": runs}  # fmt: skip


def main() -> None:
    """Run the seeds and write benchmarks/emt_nvt_vs_npt.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--atoms", type=int, default=256)
    parser.add_argument("--production-ps", type=float, default=100.0)
    parser.add_argument("--stage-ps", type=float, default=2.0, help="volume-loop stage length")
    parser.add_argument("--frame-interval", type=int, default=200, help="MD steps between frames")
    parser.add_argument("--out", default=str(Path(__file__).with_name("emt_nvt_vs_npt.json")))
    args = parser.parse_args()
    protocol = ProtocolSettings(volume_run_ps=args.stage_ps, production_ps=args.production_ps)
    results = []
    with tempfile.TemporaryDirectory(prefix="hmixal-emt-nvt-") as scratch:
        for seed in range(1, args.seeds + 1):
            results.append(one_binary(Path(scratch) / f"seed{seed}", args.atoms, protocol, seed, args.frame_interval))
            print(json.dumps(results[-1]), flush=True)
    values = [r["hmix_kJ_per_mol"] for r in results if r["status"] == "value"]
    mean = statistics.fmean(values)
    sem = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    difference = mean - NPT_REFERENCE["hmix_kJ_per_mol"]
    combined = math.hypot(sem, NPT_REFERENCE["sem_kJ_per_mol"])
    summary = {
        "machine": f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores, shared)",
        "date": dt.date.today().isoformat(),
        "n_atoms": args.atoms,
        "production_ps": args.production_ps,
        "protocol": f"NVT volume loop ({args.stage_ps:g} ps stages) + NVT production, H corrected to P = 0",
        "nvt_mean_kJ_per_mol": round(mean, 3),
        "nvt_sem_kJ_per_mol": round(sem, 3),
        "npt_reference": NPT_REFERENCE,
        "difference_kJ_per_mol": round(difference, 3),
        "difference_sigma": round(abs(difference) / combined, 2),
        "wall_s_per_binary_median": statistics.median(r["wall_s"] for r in results),
        "seeds": results,
    }
    Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "seeds"}, indent=1))


if __name__ == "__main__":
    main()
