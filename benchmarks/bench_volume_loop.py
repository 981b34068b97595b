"""The volume loop under realistic pressure noise: does it converge, in how many 2-ps stages, how close to
P = 0 does it leave the cell, and how well does the zero-pressure correction recover H(P = 0)?

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_volume_loop.py [--seeds 3] [--out benchmarks/volume_loop.json]
         [--set name=value ...]   (VolumeSettings overrides, e.g. --set max_sem_kbar=3)

Each case is a synthetic liquid (tests/volume_loop_model.py): a 100-atom cell with a Birch–Murnaghan P(V)
(V₀ = 1750 Å³, B₀ from 5 to 300 GPa, B₀′ = 4 or 5), E(V) from (∂E/∂V)_T = T(∂P/∂T)_V − P with
T(∂P/∂T)_V = αT·B₀ (αT = 0.15, 0.3 or 0.6), and stages of 667 steps (2 ps of 3 fs) with AR(1) pressure noise
and energy noise (4 kJ/mol per atom per step, same correlation time); each stage's mean and SE are estimated
as the protocol does (equilibration detection, then block averaging). The loop starts 15 % below to 40 %
above V₀ with a bulk-modulus guess 2× too stiff or too soft; after it converges, a 10-ps production (3335
steps) runs at its volume, accept_production judges its pressure and zero_pressure_correction moves its H to
P = 0, compared with the exact E(V₀).

Two noise grids: "grid" crosses every B₀ with σ = 15/20/25 kbar per step and correlation times of 20/40/60
steps; "physical" gives each liquid the fluctuation δP² ≈ k_B·T·B/V + the kinetic term at 3000 K (3.9 kbar
at 5 GPa, 27 kbar at 300 GPa) with 20 and 40 steps. "block_se" compares the block-averaged SE of a stage with
the true spread of stage means.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hmixal.aimd.volume import (
    VolumeSettings,
    accept_production,
    next_volume,
    zero_pressure_correction,
)
from volume_loop_model import (
    STAGE_STEPS,
    Liquid,
    Noise,
    ar1,
    mean_and_sem,
    physical_noise_kbar,
    run_loop,
    sample_stage,
)

V0_A3 = 1750.0  # a 100-atom liquid, ~17.5 Å³ per atom
NOISES = ((15.0, 20.0), (20.0, 40.0), (25.0, 60.0))  # pressure σ per step (kbar), correlation time (steps)
MODULI_KBAR = (50.0, 200.0, 1000.0, 3000.0)  # 5, 20, 100, 300 GPa
OFFSETS = (0.85, 1.0, 1.15, 1.4)  # start volume / V0
ALPHA_T = (0.15, 0.3, 0.6)
PRODUCTION_STEPS = 3335  # 10 ps of 3 fs
PHYSICAL_TAUS = (20.0, 40.0)


def case(sigma: float, tau: float, modulus: float, offset: float, seed: int, settings: VolumeSettings) -> dict:
    """One loop, its production and its zero-pressure correction; the numbers the summary needs."""
    liquid = Liquid(V0_A3, modulus, 4.0 + seed % 2, ALPHA_T[seed % 3] * modulus)
    guess = modulus * (2.0 if seed % 2 else 0.5)
    start = offset * V0_A3
    run_settings = settings.for_run(start, guess)
    noise = Noise(sigma, 4.0, tau)
    rng_seed = int(np.random.SeedSequence([int(sigma * 10), int(tau), int(modulus), int(offset * 100), seed])
                   .generate_state(1)[0])  # fmt: skip
    decision, history = run_loop(liquid, start, lambda h: next_volume(h, run_settings), noise, rng_seed)
    out = {
        "sigma_kbar": sigma, "tau_steps": tau, "modulus_kbar": modulus, "offset": offset, "seed": seed,
        "guess_kbar": guess, "action": decision.action, "rule": decision.rule, "stages": len(history),
        "final_volume_A3": decision.volume_A3,
        "true_pressure_kbar": liquid.pressure(decision.volume_A3),
    }  # fmt: skip
    if decision.action != "converged":
        return out
    rng = np.random.default_rng(rng_seed + 1)
    production = sample_stage(liquid, decision.volume_A3, Noise(sigma, 4.0, tau, PRODUCTION_STEPS), rng)
    verdict = accept_production(production, run_settings)
    correction = zero_pressure_correction(history, production, run_settings)
    exact = liquid.e0_kJ_mol
    out.update(
        production_pressure_kbar=production.pressure_kbar,
        production_sem_kbar=production.pressure_sem_kbar,
        production_action=verdict.action,
        correction_kJ_per_mol=correction.correction_kJ_per_mol,
        correction_sem_kJ_per_mol=correction.sem_kJ_per_mol,
        correction_method=correction.method,
        exact_correction_kJ_per_mol=exact - liquid.energy(production.volume_A3),
        h_error_kJ_per_mol=correction.h_kJ_per_mol - exact,
        h_uncorrected_error_kJ_per_mol=production.h_kJ_per_mol - exact,  # type: ignore[operator]
        h_sem_kJ_per_mol=correction.h_sem_kJ_per_mol,
    )
    out["correction_error_kJ_per_mol"] = out["correction_kJ_per_mol"] - out["exact_correction_kJ_per_mol"]
    return out


def quantiles(values: list[float]) -> dict[str, float]:
    """Median, 90th percentile and maximum, rounded for the record."""
    if not values:
        return {}
    a = np.asarray(values)
    return {"median": round(float(np.median(a)), 3), "p90": round(float(np.percentile(a, 90)), 3),
            "max": round(float(a.max()), 3)}  # fmt: skip


def summary(rows: list[dict]) -> dict:
    """Converged fraction, stages, final |P|, production verdicts and correction errors of a set of cases."""
    done = [r for r in rows if r["action"] == "converged"]
    out = {
        "cases": len(rows),
        "converged_fraction": round(len(done) / len(rows), 4),
        "actions": {a: sum(r["action"] == a for r in rows) for a in sorted({r["action"] for r in rows})},
        "converged_by_rule": {a: sum(r["rule"] == a for r in done) for a in sorted({r["rule"] for r in done})},
        "stages": quantiles([r["stages"] for r in rows]),
        "true_abs_pressure_at_final_volume_kbar": quantiles([abs(r["true_pressure_kbar"]) for r in done]),
    }
    if done:
        out["production_abs_pressure_kbar"] = quantiles([abs(r["production_pressure_kbar"]) for r in done])
        out["production_actions"] = {
            a: sum(r["production_action"] == a for r in done) for a in sorted({r["production_action"] for r in done})
        }
        out["correction_methods"] = {
            a: sum(r["correction_method"] == a for r in done) for a in sorted({r["correction_method"] for r in done})
        }
        used = [r for r in done if r["production_action"] in ("accepted", "corrected")]
        out["accepted_productions"] = len(used)
        out["accepted_abs_correction_error_kJ_per_mol"] = quantiles(
            [abs(r["correction_error_kJ_per_mol"]) for r in used]
        )
        out["accepted_correction_error_over_sem"] = quantiles(
            [abs(r["correction_error_kJ_per_mol"]) / max(r["correction_sem_kJ_per_mol"], 1e-12) for r in used]
        )
        out["accepted_abs_uncorrected_h_bias_kJ_per_mol"] = quantiles(
            [abs(r["exact_correction_kJ_per_mol"]) for r in used]
        )
        out["abs_correction_kJ_per_mol"] = quantiles([abs(r["correction_kJ_per_mol"]) for r in done])
        out["abs_correction_error_kJ_per_mol"] = quantiles([abs(r["correction_error_kJ_per_mol"]) for r in done])
        out["correction_error_over_sem"] = quantiles(
            [abs(r["correction_error_kJ_per_mol"]) / max(r["correction_sem_kJ_per_mol"], 1e-12) for r in done]
        )
        out["abs_uncorrected_h_bias_kJ_per_mol"] = quantiles([abs(r["exact_correction_kJ_per_mol"]) for r in done])
    return out


def block_se(stages: int) -> dict[str, dict[str, float]]:
    """Block-averaged SE of a 2-ps stage (median) against the true SD of stage means, per grid noise."""
    out = {}
    for sigma, tau in NOISES:
        rng = np.random.default_rng(int(sigma * 100 + tau))
        pairs = np.array([mean_and_sem(ar1(STAGE_STEPS, sigma, tau, rng)) for _ in range(stages)])
        true, reported = float(pairs[:, 0].std(ddof=1)), float(np.median(pairs[:, 1]))
        out[f"sigma{sigma:g}_tau{tau:g}"] = {"true_sd_kbar": round(true, 2), "median_block_se_kbar": round(reported, 2),
                                              "ratio": round(true / reported, 2)}  # fmt: skip
    return out


def groups(rows: list[dict], noises: list[tuple[float, float]]) -> dict:
    """Summaries overall and by noise, modulus and start offset."""
    return {
        "overall": summary(rows),
        "by_noise": {
            f"sigma{s:.3g}_tau{t:g}": summary([r for r in rows if (r["sigma_kbar"], r["tau_steps"]) == (s, t)])
            for s, t in noises
        },
        "by_modulus": {f"B{b / 10:g}GPa": summary([r for r in rows if r["modulus_kbar"] == b]) for b in MODULI_KBAR},
        "by_offset": {f"start{o:g}": summary([r for r in rows if r["offset"] == o]) for o in OFFSETS},
        "not_converged": [r for r in rows if r["action"] != "converged"],
        "largest_correction_errors": sorted(
            (r for r in rows if r["action"] == "converged"), key=lambda r: -abs(r["correction_error_kJ_per_mol"])
        )[:5],
    }


def report(name: str, part: dict) -> None:
    """Print one summary's key numbers."""
    print(f"{name}: converged {part['converged_fraction']:.1%} {part['converged_by_rule']}, stages {part['stages']}, "
          f"true |P| at the production volume {part['true_abs_pressure_at_final_volume_kbar']}")  # fmt: skip
    if "production_actions" in part:
        print(f"  production {part['production_actions']}; |correction error| "
              f"{part['abs_correction_error_kJ_per_mol']} kJ/mol, |error|/SE {part['correction_error_over_sem']}, "
              f"uncorrected |bias| {part['abs_uncorrected_h_bias_kJ_per_mol']}")  # fmt: skip
        print(f"  accepted/corrected productions ({part['accepted_productions']}): |correction error| "
              f"{part['accepted_abs_correction_error_kJ_per_mol']}, |error|/SE "
              f"{part['accepted_correction_error_over_sem']}, uncorrected |bias| "
              f"{part['accepted_abs_uncorrected_h_bias_kJ_per_mol']}")  # fmt: skip


def main() -> None:
    """Run both grids and the SE check; write the record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).with_name("volume_loop.json")))
    parser.add_argument("--set", action="append", default=[], help="VolumeSettings override name=value")
    args = parser.parse_args()
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    settings = VolumeSettings.from_mapping(overrides)
    started = time.perf_counter()
    grid = [
        case(sigma, tau, modulus, offset, seed, settings)
        for (sigma, tau), modulus, offset, seed in itertools.product(NOISES, MODULI_KBAR, OFFSETS, range(args.seeds))
    ]
    physical = [
        case(physical_noise_kbar(V0_A3, modulus), tau, modulus, offset, seed, settings)
        for tau, modulus, offset, seed in itertools.product(PHYSICAL_TAUS, MODULI_KBAR, OFFSETS, range(args.seeds))
    ]
    physical_noises = sorted({(r["sigma_kbar"], r["tau_steps"]) for r in physical})
    se_check = block_se(200)
    wall = time.perf_counter() - started
    record = {
        "date": str(date.today()),
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average": round(os.getloadavg()[0], 2),
        "wall_s": round(wall, 1),
        "settings": asdict(settings),
        "setup": {
            "v0_A3": V0_A3,
            "moduli_kbar": MODULI_KBAR,
            "start_offsets": OFFSETS,
            "alpha_T": ALPHA_T,
            "grid_noise_sigma_tau": NOISES,
            "physical_taus": PHYSICAL_TAUS,
            "seeds": args.seeds,
            "stage_steps": STAGE_STEPS,
            "production_steps": PRODUCTION_STEPS,
        },
        "block_se": se_check,
        "grid": groups(grid, list(NOISES)),
        "physical": groups(physical, physical_noises),
    }
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"{len(grid) + len(physical)} loops in {wall:.0f} s (load {record['load_average']}); wrote {args.out}")
    print("block-averaged SE of a 2-ps stage vs the true spread:", json.dumps(se_check))
    for label, part in (("grid", record["grid"]), ("physical", record["physical"])):
        report(f"{label} overall", part["overall"])
        for name, sub in part["by_noise"].items():
            report(f"  {label} {name}", sub)


if __name__ == "__main__":
    main()
