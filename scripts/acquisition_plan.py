"""Snakemake script: binaries ranked by GP uncertainty, excluded elements left out → acquisition plan."""

from hmixal.jobs import start_job

log = start_job(snakemake, "acquisition_plan")

from hmixal.io import write_csv  # noqa: E402
from hmixal.plan import REQUIRED_COLUMNS, acquisition_plan  # noqa: E402
from hmixal.uncertainty import read_uncertainty_table  # noqa: E402

p = snakemake.params
table = read_uncertainty_table(snakemake.input.map, REQUIRED_COLUMNS)
plan = acquisition_plan(table, exclude=list(p.exclude), order=p.order, top=p.top, rank_by=p.rank_by)
write_csv(plan, snakemake.output.plan)
excluded = ", ".join(p.exclude) or "none"
log.info("%d binaries planned (excluded: %s; order %s by %s)", len(plan), excluded, p.order, p.rank_by)
