"""Byte-identity of the quick configuration's results: run the whole pipeline on `.test/config/config.yaml` in a
checkout (a scratch copy of it at a given commit), hash every table and figure under results/ (logs and Snakemake
benchmarks aside), and compare with a recorded list.

    python benchmarks/bench_quick_identity.py --rev HEAD --record benchmarks/quick_identity.sha256
    python benchmarks/bench_quick_identity.py --rev 256117c --compare benchmarks/quick_identity.sha256

A refactoring that claims "behaviour unchanged" shows it this way (issue 17: the same 294 files, byte for byte,
before and after). Each run takes 3–10 min on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SKIPPED = ("results/logs/", "results/benchmarks/")


def result_hashes(checkout: Path) -> dict[str, str]:
    """sha256 of every file under results/ except logs and Snakemake's per-job benchmarks, by relative path."""
    hashes = {}
    for path in sorted((checkout / "results").rglob("*")):
        name = path.relative_to(checkout).as_posix()
        if path.is_file() and not name.startswith(SKIPPED):
            hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def run_quick_config(rev: str, cores: int) -> tuple[dict[str, str], float]:
    """Check out ``rev`` into a scratch folder and run the quick config there (it reads no reference data)."""
    with tempfile.TemporaryDirectory(prefix="hmixal-identity-", dir=REPO.parent) as scratch:
        checkout = Path(scratch) / "hmixal"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(checkout), rev], check=True)
        try:
            env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
            snakemake = Path(sys.executable).with_name("snakemake")
            command = [str(snakemake), "--profile", "profiles/local", "--cores", str(cores)]
            command += ["--configfile", ".test/config/config.yaml"]
            start = time.perf_counter()
            subprocess.run(command, cwd=checkout, env=env, check=True, capture_output=True)
            seconds = time.perf_counter() - start
            return result_hashes(checkout), seconds
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(checkout)], check=True)


def read_record(path: Path) -> dict[str, str]:
    """A recorded list: ``<sha256>  <path>`` per line, ``#`` lines are comments."""
    rows = [line.split(maxsplit=1) for line in path.read_text(encoding="utf-8").splitlines() if line[:1] not in "#"]
    return {name.strip(): digest for digest, name in rows}


def main() -> None:
    """Run the quick config at a commit; record its hashes or compare them with a record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD", help="the commit to run (default: HEAD)")
    parser.add_argument("--cores", type=int, default=2)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--record", type=Path, help="write the hashes to this file")
    action.add_argument("--compare", type=Path, help="compare the hashes with this recorded file")
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.rev], capture_output=True,
                            text=True, check=True).stdout.strip()  # fmt: skip
    hashes, seconds = run_quick_config(args.rev, args.cores)
    print(f"{commit}: {len(hashes)} files in {seconds:.0f} s on {args.cores} cores ({platform.node()})")
    if args.record:
        header = (
            f"# quick-config results of {commit}: sha256 of every table and figure (logs and job benchmarks aside)\n"
            f"# {datetime.date.today()}, {platform.machine()}, Python {platform.python_version()}, "
            f"{seconds:.0f} s on {args.cores} cores\n"
        )
        args.record.write_text(header + "".join(f"{d}  {n}\n" for n, d in hashes.items()), encoding="utf-8")
        return
    recorded = read_record(args.compare)
    same = [n for n in hashes if recorded.get(n) == hashes[n]]
    differ = [n for n in hashes if n in recorded and recorded[n] != hashes[n]]
    extra, missing = sorted(set(hashes) - set(recorded)), sorted(set(recorded) - set(hashes))
    print(f"identical {len(same)}, different {len(differ)}, new {len(extra)}, missing {len(missing)}")
    for name in differ + extra + missing:
        print("  ", name)
    sys.exit(1 if differ or extra or missing else 0)


if __name__ == "__main__":
    main()
