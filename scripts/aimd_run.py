"""Snakemake script: one batch job of one AIMD run (any engine) — hmixal.aimd.campaign.run_job; exit code from it."""

import datetime as dt

job_start = dt.datetime.now()  # the walltime budget counts from here

from hmixal.jobs import start_job  # noqa: E402

log = start_job(snakemake, "aimd_run")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from hmixal.aimd.campaign import run_job  # noqa: E402
from hmixal.aimd.systems import read_runs  # noqa: E402
from hmixal.elements import load_element_table  # noqa: E402
from hmixal.errors import InputError  # noqa: E402
from hmixal.splits import derive_seed  # noqa: E402

run_id = snakemake.wildcards.run_id
# Checked against its manifest: a runs table cut or edited after the aimd_systems rule wrote it stops here.
runs = read_runs(snakemake.input.runs).set_index("run_id")
if run_id not in runs.index:
    raise InputError(snakemake.input.runs, None, f"no run {run_id!r}")
runtime_min = getattr(getattr(snakemake, "resources", None), "runtime", None)  # minutes: the job's walltime
code = run_job(
    Path(snakemake.output.outcome).parent,
    runs.loc[run_id].to_dict() | {"run_id": run_id},
    snakemake.params.aimd,
    derive_seed(int(snakemake.params.seed), "aimd", run_id),
    load_element_table(snakemake.input.elements),
    attempt=int(getattr(snakemake, "attempt", 1)),
    job_start=job_start,
    walltime_s=60.0 * float(runtime_min) if runtime_min else None,
)
sys.exit(code)
