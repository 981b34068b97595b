"""Snakemake script: the AIMD systems and runs (binaries, temperatures, shared pure-element runs) → two tables."""

import logging
import sys

from hmixal.aimd.systems import melting_points, plan_runs
from hmixal.elements import load_element_table
from hmixal.io import write_csv

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115 — stays open for the whole script, as Snakemake logs do
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("aimd_systems")

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
