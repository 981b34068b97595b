"""Jobs of workflow/rules/aimd.smk: the AIMD systems and runs, one batch job per run (any engine), ΔH_mix of each
binary from its runs, and the gathered results table."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from hmixal.aimd.analysis import collect_results, write_results
from hmixal.aimd.campaign import run_job as run_campaign_job
from hmixal.aimd.campaign import run_seed
from hmixal.aimd.checks import CheckSettings
from hmixal.aimd.protocol import ProtocolSettings
from hmixal.aimd.results import binary_result
from hmixal.aimd.systems import melting_points, plan_runs, read_runs
from hmixal.elements import load_element_table
from hmixal.errors import InputError
from hmixal.io import write_csv, write_text
from hmixal.jobs import RuleJob, job_started


def aimd_systems(job: RuleJob) -> None:
    """The AIMD systems and runs (binaries, temperatures, shared pure-element runs) → two tables."""
    log = logging.getLogger("aimd_systems")
    systems_config = dict(job.params.systems)
    if getattr(job.input, "plan", None):
        # the plan file comes from the rule's input (so Snakemake orders the jobs), not from the config text
        systems_config["plan"] = {**systems_config.get("plan", {}), "path": str(job.input.plan)}
    table = load_element_table(job.input.elements)
    plan = plan_runs(systems_config, melting_points(table))
    write_csv(plan.systems, job.output.systems)
    write_csv(plan.runs, job.output.runs)
    n_pure = int((plan.runs["kind"] == "pure").sum())
    log.info("%d systems need %d runs (%d pure)", len(plan.systems), len(plan.runs), n_pure)


def aimd_run(job: RuleJob) -> None:
    """One batch job of one AIMD run (any engine) — hmixal.aimd.campaign.run_job; exit code from it."""
    job_start = job_started()  # the walltime budget counts from the start of the job (hmixal.jobs.run_job)
    run_id = job.wildcards.run_id
    # Checked against its manifest: a runs table cut or edited after the aimd_systems rule wrote it stops here.
    runs = read_runs(job.input.runs).set_index("run_id")
    if run_id not in runs.index:
        raise InputError(job.input.runs, None, f"no run {run_id!r}")
    runtime_min = getattr(getattr(job, "resources", None), "runtime", None)  # minutes: the job's walltime
    code = run_campaign_job(
        Path(job.output.outcome).parent,
        runs.loc[run_id].to_dict() | {"run_id": run_id},
        job.params.aimd,
        run_seed(job.params.seed, run_id),
        load_element_table(job.input.elements),
        attempt=int(getattr(job, "attempt", 1)),
        job_start=job_start,
        walltime_s=60.0 * float(runtime_min) if runtime_min else None,
    )
    sys.exit(code)


def aimd_hmix(job: RuleJob) -> None:
    """ΔH_mix of one binary from its three ended runs (any engine) → one results row + details."""
    log = logging.getLogger("aimd_hmix")
    dirs = [Path(getattr(job.input, name)).parent for name in ("alloy", "pure_a", "pure_b")]
    protocol = ProtocolSettings.from_mapping(job.params.protocol)
    result = binary_result(*dirs, CheckSettings.from_mapping(job.params.checks), protocol)
    write_results([result.row], job.output.row)
    write_text(result.details_json(), job.output.details)
    row = result.row
    log.info("%s-%s x_B=%g at %g K: %s %s", row["A"], row["B"], row["x_B"], row["T_K"], row["status"], row["comment"])


def aimd_collect(job: RuleJob) -> None:
    """Gather the per-binary AIMD result rows → results/aimd/aimd_results.csv (any engine)."""
    log = logging.getLogger("aimd_collect")
    rows = job.input.rows
    table = collect_results([rows] if isinstance(rows, str) else list(rows))
    write_csv(table, job.output.table)
    log.info("%d row(s): %s", len(table), dict(sorted(table["status"].value_counts().items())))
