"""Time `hmixal predict` from an installed wheel outside the checkout, interpreter start included.

Builds the wheel (with the shipped predictor), installs it with the pinned core dependencies into a new virtual
environment in a scratch folder, and runs from a directory that is not the checkout, each command ``repeats``
times, every run a new process:

- ``hmixal predict Al-Ni --x 0.5`` (a binary; goal ≤ 2 s),
- ``hmixal predict AlCoCrFeNi`` (a 5-component alloy, 10 binaries; goal ≤ 3 s),
- ``python -c "import hmixal"`` (the interpreter and the package alone, for scale).

Records medians (and min/max) with the wheel's size, the installed package's size, the machine and the date in
benchmarks/predict_cold.json. "Cold" here means a new interpreter each time; the operating system's file cache is
warm after the first run (dropping it needs privileges a CI machine does not give), so the first run is reported
on its own too.

Run: .venv/bin/python benchmarks/bench_predict_cold.py [repeats]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "predict_cold.json"
COMMANDS = {
    "binary": ["hmixal", "predict", "Al-Ni", "--x", "0.5"],
    "alloy_5": ["hmixal", "predict", "AlCoCrFeNi"],
    "import_only": ["python", "-c", "import hmixal"],
}
GOALS_S = {"binary": 2.0, "alloy_5": 3.0}


def folder_bytes(path: Path) -> int:
    """Total size of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds of one run of ``argv`` (a new process), which must succeed."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr}")
    return seconds


def main(repeats: int = 5) -> None:
    with tempfile.TemporaryDirectory(prefix="hmixal-bench-") as scratch:
        work = Path(scratch)
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(ROOT)],
            check=True,
            capture_output=True,
        )
        wheel = next((work / "dist").glob("hmixal-*.whl"))
        subprocess.run(["python3", "-m", "venv", str(work / "venv")], check=True)
        pip = [str(work / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-c", str(ROOT / "envs" / "constraints.txt"), str(wheel)], check=True)
        elsewhere = work / "elsewhere"
        elsewhere.mkdir()
        bin_dir = work / "venv" / "bin"
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        env.pop("PYTHONPATH", None)
        package = next((work / "venv" / "lib").glob("python3*/site-packages/hmixal"))
        results: dict[str, dict[str, object]] = {}
        for name, argv in COMMANDS.items():
            argv = [str(bin_dir / argv[0]), *argv[1:]]
            first = timed(argv, elsewhere, env)
            times = [timed(argv, elsewhere, env) for _ in range(repeats)]
            results[name] = {
                "command": " ".join(COMMANDS[name]),
                "first_run_s": round(first, 3),
                "median_s": round(statistics.median(times), 3),
                "min_s": round(min(times), 3),
                "max_s": round(max(times), 3),
                "runs": repeats,
                **(
                    {"goal_s": GOALS_S[name], "met": statistics.median(times) <= GOALS_S[name]}
                    if name in GOALS_S
                    else {}
                ),
            }
            print(name, results[name], flush=True)
        record = {
            "what": "hmixal predict from an installed wheel, outside the checkout; new interpreter per run",
            "date": dt.date.today().isoformat(),
            "machine": f"{platform.machine()} {platform.processor()}".strip(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "wheel": wheel.name,
            "wheel_bytes": wheel.stat().st_size,
            "installed_package_bytes": folder_bytes(package),
            "shipped_predictor_bytes": folder_bytes(package / "data" / "predictor"),
            "results": results,
        }
    OUT.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
