"""Snakemake script: validate and merge the dataset sources → dataset, rejects table and summary."""

from hmixal.jobs import start_job

log = start_job(snakemake, "merge_dataset")

from hmixal.dataset import (  # noqa: E402
    TooManyRejectsError,
    concat_rejects,
    format_rejects,
    merge_dataset,
    provenance_policy,
    read_dataset_csv,
    read_load_report,
    read_rejects_csv,
    summary_json,
    summary_markdown,
)
from hmixal.io import write_csv, write_text  # noqa: E402


def paths(name: str) -> list[str]:
    """The input file(s) under a name: none when the rule does not declare it, one, or a list."""
    value = getattr(snakemake.input, name, None)
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


# Named inputs and the source_type their rows default to; user tables may name other types per row.
# Every table is read with the configured plausibility bound (dataset.max_abs_hmix_kJ_per_mol).
# "aimd" is published AIMD (the seed's Table 1); "simulated" is the pipeline's own results table, whose rows
# name their engine (source_type aimd for DFT, potential_md otherwise) and are the recomputed side of a pair.
max_abs_hmix = float(snakemake.params.max_abs_hmix)
tables = []
for name, source_type in (
    ("calphad", "calphad"),
    ("calorimetry", "calorimetry"),
    ("user", "user"),
    ("aimd", "aimd"),
    ("simulated", "aimd"),
):
    for path in paths(name):
        table = read_dataset_csv(path, source_type, max_abs_hmix)
        table.recomputed = name == "simulated"
        tables.append(table)
# dataset.train_on_potential_md and dataset.recomputed; a spec without them (older tests, hand runs) gets the
# defaults: no potential_md row trains, the published value of a pair trains.
policy = provenance_policy(
    {
        key: getattr(snakemake.params, key)
        for key in ("train_on_potential_md", "recomputed")
        if hasattr(snakemake.params, key)
    }
)
upstream = [read_rejects_csv(path) for path in paths("rejects")]
# CALPHAD database files the derivation could not load: listed with the rejects, not counted as rejected rows.
not_loaded = concat_rejects(read_load_report(path) for path in paths("load_report"))
for table in tables:
    if len(table.rejects):
        log.warning("%s: %d row(s) rejected:\n%s", table.file, len(table.rejects), format_rejects(table.rejects))
try:
    merged = merge_dataset(tables, upstream, int(snakemake.params.max_rejects), not_loaded, policy)
except TooManyRejectsError as error:
    log.error("all rejects:\n%s", format_rejects(error.rejects))
    raise
write_csv(merged.dataset, snakemake.output.dataset)
write_csv(merged.rejects, snakemake.output.rejected)
write_text(summary_json(merged.summary), snakemake.output.summary)
if hasattr(snakemake.output, "summary_md"):
    write_text(summary_markdown(merged.summary), snakemake.output.summary_md)
for table in tables:
    log.info("%s: %d row(s) loaded, %d rejected", table.file, len(table.rows), len(table.rejects))
log.info(
    "%d points, %d binaries, %d rejects in total; %d source file(s) not loaded, %d warning(s); "
    "%d potential_md row(s) of unnamed engines kept out; %d published/recomputed pair(s), %d value row(s) left out",
    merged.summary["points"],
    merged.summary["binaries"],
    merged.summary["rejects"]["total"],
    len(merged.summary["sources_not_loaded"]),
    len(merged.summary["warnings"]),
    merged.summary["excluded_by_engine"]["total"],
    merged.summary["recomputed"]["pairs"],
    merged.summary["recomputed"]["kept_out_of_training"],
)
