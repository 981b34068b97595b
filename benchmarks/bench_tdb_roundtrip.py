"""pycalphad round trip of the TDB export on all binaries: write the TDB, read it with pycalphad, compare HM_MIX.

Writes the TDB of a full Redlich–Kister table with ``tdb_text`` (pycalphad's Database and TDB writer), then runs
``check_tdb_with_pycalphad`` on every binary (pycalphad's TDB reader and Model, x_B = 0.01 … 0.99 and the
default temperatures) and records the largest |HM_MIX − fitted curve| (J/mol), the worst binary, the timings,
machine, date and versions in a JSON file beside this script.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_tdb_roundtrip.py [--table results/model/redlich_kister.csv]
     OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_tdb_roundtrip.py --synthetic 0   # no pipeline table
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from hmixal import __version__
from hmixal.elements import ELEMENTS
from hmixal.redlich_kister import (
    TDB_CHECK_TEMPERATURES_K,
    check_tdb_with_pycalphad,
    coefficient_columns,
    read_redlich_kister,
    tdb_text,
)
from hmixal.systems import composition_grid

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = ROOT / "results" / "model" / "redlich_kister.csv"


def synthetic_table(seed: int, max_order: int = 3) -> pd.DataFrame:
    """All 2415 binaries of the 70 elements with random orders 0…max_order and L_n ~ N(0, 30 kJ/mol), seeded."""
    rng = np.random.default_rng(seed)
    pairs = list(itertools.combinations(sorted(ELEMENTS), 2))
    order = rng.integers(0, max_order + 1, len(pairs))
    coefficients = rng.normal(0.0, 30.0, (len(pairs), max_order + 1))
    coefficients[np.arange(max_order + 1) > order[:, None]] = 0.0  # the fit table's convention above the order
    table = pd.DataFrame(pairs, columns=["A", "B"]).assign(fitted_column="synthetic", order=order)
    table[coefficient_columns(max_order)] = coefficients
    return table


def versions() -> dict[str, str]:
    """Versions of the packages the round trip goes through."""
    import pycalphad
    import symengine
    import tinydb

    return {
        "python": platform.python_version(),
        "hmixal": __version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pycalphad": pycalphad.__version__,
        "symengine": symengine.__version__,
        "tinydb": tinydb.__version__,
    }


def main() -> None:
    """Run the round trip once and write the JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=None, help=f"fit table (default: {DEFAULT_TABLE} if present)")
    parser.add_argument("--synthetic", type=int, default=None, metavar="SEED", help="a seeded synthetic table")
    parser.add_argument("--x-step", type=float, default=0.01, help="composition step of the check grid")
    parser.add_argument("--out", type=Path, default=None, help="JSON record (default: beside this script)")
    args = parser.parse_args()
    if args.synthetic is not None:
        table = synthetic_table(args.synthetic)
        source = {"synthetic_seed": args.synthetic}
        default_out = Path(__file__).with_name("tdb_roundtrip_synthetic.json")
    else:
        path = args.table or DEFAULT_TABLE
        if not path.is_file():
            sys.exit(f"{path} not found: give --table PATH or --synthetic SEED")
        table = read_redlich_kister(path)
        shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
        source = {"table": str(shown), "table_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        default_out = Path(__file__).with_name("tdb_roundtrip.json")
    x = composition_grid(args.x_step)

    start = time.perf_counter()
    text = tdb_text(table, generated="benchmark")
    write_s = time.perf_counter() - start

    from pycalphad import Database

    start = time.perf_counter()
    Database(text)
    load_s = time.perf_counter() - start

    start = time.perf_counter()
    check = check_tdb_with_pycalphad(text, table, x)
    check_s = time.perf_counter() - start

    worst = check.loc[check["max_abs_deviation_J_per_mol"].idxmax()]
    record = {
        "date": date.today().isoformat(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average": round(os.getloadavg()[0], 2),
        "versions": versions(),
        **source,
        "binaries": len(check),
        "parameters": int((table["order"] + 1).sum()),
        "tdb_bytes": len(text.encode("utf-8")),
        "x_points": int(x.size),
        "temperatures_K": list(TDB_CHECK_TEMPERATURES_K),
        "points_per_binary": int(check["n_points"].iloc[0]),
        "max_abs_deviation_J_per_mol": float(check["max_abs_deviation_J_per_mol"].max()),
        "median_abs_deviation_J_per_mol": float(check["max_abs_deviation_J_per_mol"].median()),
        "worst_binary": f"{worst['A']}-{worst['B']}",
        "worst_binary_max_abs_hmix_J_per_mol": float(worst["max_abs_hmix_J_per_mol"]),
        "max_abs_hmix_J_per_mol": float(check["max_abs_hmix_J_per_mol"].max()),
        "orders": {str(k): int(v) for k, v in table["order"].value_counts().sort_index().items()},
        "write_tdb_s": round(write_s, 2),
        "pycalphad_load_s": round(load_s, 2),
        "check_all_binaries_s": round(check_s, 2),
        "wall_s": round(write_s + load_s + check_s, 2),
    }
    out = args.out or default_out
    out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
