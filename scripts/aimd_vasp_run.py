"""Snakemake script: advance one VASP run — the volume loop or the production stage — under custodian.

Exit codes: 0 done (outputs written); 75 (EX_TEMPFAIL) the job's walltime ran out and the next job continues
from CONTCAR (the rule's ``retries`` resubmits it); 1 the stage failed (its segment.json says why; rerun with
params.reset_failed after fixing the cause).
"""

import datetime as dt

job_start = dt.datetime.now()  # the walltime budget counts from here

from hmixal.jobs import start_job  # noqa: E402

log = start_job(snakemake, "aimd_vasp_run")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from hmixal.aimd.runner import (  # noqa: E402
    ProtocolSettings,
    RunnerSettings,
    StageState,
    advance_volume_loop,
    run_production,
    write_run_outputs,
)
from hmixal.aimd.vasp_inputs import MDSettings  # noqa: E402

EX_TEMPFAIL = 75

run_dir = Path(snakemake.input.run).parent
stage = snakemake.params.stage
runtime_min = getattr(snakemake.resources, "runtime", None)
runner_config = dict(snakemake.params.runner)
if runtime_min and "walltime_s" not in runner_config:
    runner_config["walltime_s"] = 60.0 * float(runtime_min)  # the batch job's limit, from the rule's resources
runner = RunnerSettings.from_mapping(runner_config)
md = MDSettings.from_mapping(snakemake.params.incar)
protocol = ProtocolSettings.from_mapping(snakemake.params.protocol)
reset = bool(getattr(snakemake.params, "reset_failed", False))

if stage == "volume":
    result = advance_volume_loop(run_dir, md, runner, protocol, job_start, reset)
    log.info("%s volume loop: %s (%s)", run_dir.name, result.state, result.reason)
    if result.state == "needs_continuation":
        sys.exit(EX_TEMPFAIL)
    if result.state != "converged":
        sys.exit(1)
elif stage == "production":
    status = run_production(run_dir, md, runner, protocol, job_start, reset)
    log.info("%s production: %s, %.0f of %.0f fs (%s)", run_dir.name, status.state.value,
             status.time_done_fs, status.target_fs, status.reason)  # fmt: skip
    if status.state is StageState.NEEDS_CONTINUATION:
        sys.exit(EX_TEMPFAIL)
    if status.state is not StageState.FINISHED:
        sys.exit(1)
    write_run_outputs(run_dir)
else:
    raise ValueError(f"params.stage must be 'volume' or 'production', got {stage!r}")
