#!/usr/bin/env python3
"""Bootstrap hmixal in ./.venv and run it.

Usage: `python3 bootstrap.py run` (the pipeline) or `python3 bootstrap.py test` (the tests).
Needs only Python 3.11+. The environment is (re)installed when pyproject.toml, the pinned constraints or
HMIXAL_EXTRAS change; further arguments are passed to snakemake (run) or pytest (test). HMIXAL_EXTRAS adds
optional extras, comma-separated (e.g. HMIXAL_EXTRAS=mlip: the ML-potential engine, which needs torch).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if sys.platform == "win32" else "bin")
STAMP = VENV / ".hmixal-install-stamp"
INSTALL_INPUTS = (ROOT / "pyproject.toml", ROOT / "envs" / "constraints.txt")


def _extras() -> list[str]:
    """The extras to install: the pipeline and the tests, plus any HMIXAL_EXTRAS names."""
    more = [name.strip() for name in os.environ.get("HMIXAL_EXTRAS", "").split(",") if name.strip()]
    return ["pipeline", "test", *sorted(set(more) - {"pipeline", "test"})]


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in INSTALL_INPUTS:
        digest.update(path.read_bytes())
    digest.update(",".join(_extras()).encode())
    return digest.hexdigest()


def ensure_environment() -> None:
    """Create .venv and install hmixal with pinned dependencies unless it is already up to date."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs before any environment exists
        sys.exit(f"hmixal needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print("installing hmixal and its pinned dependencies (first run: about 2 minutes)", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run(
        [*pip, "-c", str(ROOT / "envs" / "constraints.txt"), "-e", f"{ROOT}[{','.join(_extras())}]"], check=True
    )
    STAMP.write_text(fingerprint)


def main(argv: list[str]) -> int:
    """Dispatch `run` or `test`."""
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ensure_environment()
    command, rest = argv[0], argv[1:]
    if command == "run":
        cmd = [str(BIN / "snakemake"), "--profile", "profiles/local", *rest]
    else:
        cmd = [str(BIN / "python"), "-m", "pytest", *rest]
    return subprocess.run(cmd, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
