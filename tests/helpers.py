"""Shared test helpers: repository paths, a scratch copy of the repository, and the rule-script runner.

Test modules import these by name (``from helpers import REPO``; pytest puts tests/ on sys.path), not from
conftest.py, which holds fixtures only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFDATA = Path(os.environ.get("HMIXAL_REFDATA", REPO.parent / "shared" / "refdata"))

# Runs a rule script the way Snakemake's `script:` directive does, with a stand-in `snakemake` object.
_SCRIPT_RUNNER = """
import json, runpy, sys, types
spec = json.loads(sys.argv[1])
def ns(d):
    return types.SimpleNamespace(**d)
snakemake = ns({
    "input": ns(spec["input"]), "output": ns(spec["output"]), "params": ns(spec.get("params", {})),
    "log": [spec["log"]], "threads": spec.get("threads", 1), "wildcards": ns(spec.get("wildcards", {})),
})
runpy.run_path(spec["script"], init_globals={"snakemake": snakemake}, run_name="__main__")
"""


def run_rule_script(script: str, spec: dict) -> subprocess.CompletedProcess:
    """Run ``scripts/<script>`` in a fresh interpreter with input/output/params/log from a spec dict."""
    spec = {**spec, "script": str(REPO / "scripts" / script)}
    command = [sys.executable, "-c", _SCRIPT_RUNNER, json.dumps(spec)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def scratch_copy(destination: Path) -> Path:
    """The repository's tracked and new files (no results, no environment) copied to ``destination``."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        source = REPO / name
        if source.is_file() and not name.startswith("results/"):
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    config = destination / "config" / "config.yaml"
    config.write_text(config.read_text().replace("refdata_dir: ../shared/refdata", f"refdata_dir: {REFDATA}"))
    return destination
