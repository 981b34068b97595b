"""Snakemake script: validate and merge the dataset sources → dataset, rejects table and summary."""

import logging
import sys

from hmixal.dataset import (
    TooManyRejectsError,
    format_rejects,
    merge_dataset,
    read_dataset_csv,
    read_rejects_csv,
    summary_json,
    summary_markdown,
)
from hmixal.io import write_csv, write_text

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115 — stays open for the whole script, as Snakemake logs do
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("merge_dataset")


def paths(name: str) -> list[str]:
    """The input file(s) under a name: none when the rule does not declare it, one, or a list."""
    value = getattr(snakemake.input, name, None)
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


# Named inputs and the source_type their rows default to; user tables may name other types per row.
tables = [
    read_dataset_csv(path, source_type)
    for name, source_type in (
        ("calphad", "calphad"),
        ("calorimetry", "calorimetry"),
        ("user", "user"),
        ("aimd", "aimd"),
    )
    for path in paths(name)
]
upstream = [read_rejects_csv(path) for path in paths("rejects")]
try:
    merged = merge_dataset(tables, upstream, int(snakemake.params.max_rejects))
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
    "%d points, %d binaries, %d rejects in total",
    merged.summary["points"],
    merged.summary["binaries"],
    merged.summary["rejects"]["total"],
)
