"""Snakemake script: the AIMD systems and runs (binaries, temperatures, shared pure-element runs) → two tables."""

from hmixal.jobs import start_job

log = start_job(snakemake, "aimd_systems")

from hmixal.aimd.systems import melting_points, plan_runs  # noqa: E402
from hmixal.elements import load_element_table  # noqa: E402
from hmixal.io import write_csv  # noqa: E402

systems_config = dict(snakemake.params.systems)
if getattr(snakemake.input, "plan", None):
    # the plan file comes from the rule's input (so Snakemake orders the jobs), not from the config text
    systems_config["plan"] = {**systems_config.get("plan", {}), "path": str(snakemake.input.plan)}
table = load_element_table(snakemake.input.elements)
plan = plan_runs(systems_config, melting_points(table))
write_csv(plan.systems, snakemake.output.systems)
write_csv(plan.runs, snakemake.output.runs)
n_pure = int((plan.runs["kind"] == "pure").sum())
log.info("%d systems need %d runs (%d pure)", len(plan.systems), len(plan.runs), n_pure)
