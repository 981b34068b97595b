"""Snakemake script: one active-learning approach on one block of splits of one test design (the unit of resume)."""

from hmixal.jobs import start_job

log = start_job(snakemake, "al_block")

from hmixal.active_learning import load_benchmark, read_split_hypers, run_block  # noqa: E402
from hmixal.io import write_csv  # noqa: E402

p = snakemake.params
data, splits, settings = load_benchmark(snakemake.input, p.run, p.design, snakemake.threads)
# GP approaches start every split from hyper-parameters learnt once for all of them (rule al_gp_hyper).
# The rule's input function gives a list: the block's file for a GP approach, none for the others.
hyper_files = list(snakemake.input.gp_hyper)
hypers = read_split_hypers(hyper_files[0]) if hyper_files else None
log.info(
    "design %s, approach %s, splits %s, AL features %s",
    p.design, p.approach, list(p.splits), ", ".join(settings.al_features),
)  # fmt: skip
table = run_block(data, splits, p.approach, p.splits, settings, hypers)
write_csv(table, snakemake.output.table)
log.info("%d rows written to %s", len(table), snakemake.output.table)
