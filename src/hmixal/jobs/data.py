"""Jobs of workflow/rules/data.smk: the element table, the CALPHAD and calorimetric stage tables, the merged dataset."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from hmixal.dataset import (
    TooManyRejectsError,
    concat_rejects,
    format_rejects,
    provenance_policy,
    read_dataset_csv,
    read_load_report,
    read_rejects_csv,
    stage_table,
    summary_json,
    summary_markdown,
)
from hmixal.dataset import merge_dataset as merge_tables
from hmixal.elements import load_element_table, write_element_table
from hmixal.espei import read_espei_folder
from hmixal.io import write_csv, write_text
from hmixal.jobs import RuleJob


def build_elements(job: RuleJob) -> None:
    """Derive the element property table (Magpie + SGTE unary) and write it as CSV."""
    log = logging.getLogger("build_elements")
    table = write_element_table(Path(job.input.sgte), Path(job.output.table))
    log.info("wrote %d elements to %s", len(table), job.output.table)


def derive_calphad(job: RuleJob) -> None:
    """Liquid ΔH_mix of metallic binaries from the CALPHAD databases of the reference folder."""
    # pycalphad: seconds to load, this job only
    from hmixal.calphad.consensus import excluded_binaries
    from hmixal.calphad.table import derive_calphad_table

    log = logging.getLogger("derive_calphad")
    start = time.perf_counter()
    # Melting points: the element table's Magpie MeltT column (matminer MeltingT.table), K.
    melting_points = load_element_table(Path(job.input.elements))["MeltT"].to_dict()
    chosen, candidates, report = derive_calphad_table(
        job.params.folder, melting_points, **job.params.calphad, progress=log.info
    )
    write_csv(chosen, job.output.table)
    write_csv(candidates, job.output.candidates)
    write_csv(report, job.output.load_report)
    # Binaries left out by the single low-quality source rule: named here and in the candidates table's reasons.
    excluded = excluded_binaries(candidates)
    for a, b, source in excluded:
        log.warning(
            "%s-%s excluded: its only source %s looks like placeholder parameters (docs/calphad.md)", a, b, source
        )
    for row in report[report["status"] == "failed"].itertuples():
        log.warning("not loaded: %s: %s", row.file, row.error)
    binaries = chosen[["A", "B"]].drop_duplicates()
    flagged = chosen.loc[chosen["flag"] != "", ["A", "B"]].drop_duplicates()
    log.info(
        "%d binaries, %d points, %d elements from %d loaded file(s) (%d failed, %d not databases); "
        "%d binaries flagged, %d excluded by the single low-quality source rule (%s); %.0f s",
        len(binaries),
        len(chosen),
        len(set(binaries["A"]) | set(binaries["B"])),
        int((report["status"] == "loaded").sum()),
        int((report["status"] == "failed").sum()),
        int((report["status"] == "not a database").sum()),
        len(flagged),
        len(excluded),
        ", ".join(f"{a}-{b}" for a, b, _ in excluded) or "none",
        time.perf_counter() - start,
    )


def read_calorimetry(job: RuleJob) -> None:
    """Calorimetric ΔH_mix of liquids from ESPEI JSON datasets → stage table + rejects."""
    log = logging.getLogger("read_calorimetry")
    table, skipped = read_espei_folder(job.params.folder)
    rows = stage_table([table])
    write_csv(rows, job.output.table)
    write_csv(table.rejects, job.output.rejects)
    log.info(
        "%d point(s) read from %s: %d kept (%s), %d rejected, %d file(s) skipped",
        table.n_read,
        table.file,
        len(rows),
        ", ".join(f"{n} {status}" for status, n in sorted(rows["status"].value_counts().items())),
        len(table.rejects),
        len(skipped),
    )


def _paths(job: RuleJob, name: str) -> list[str]:
    """The input file(s) under a name: none when the rule does not declare it, one, or a list."""
    value = getattr(job.input, name, None)
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def merge_dataset(job: RuleJob) -> None:
    """Validate and merge the dataset sources → dataset, rejects table and summary."""
    log = logging.getLogger("merge_dataset")
    # Named inputs and the source_type their rows default to; user tables may name other types per row.
    # Every table is read with the configured plausibility bound (dataset.max_abs_hmix_kJ_per_mol).
    # "aimd" is published AIMD (the seed's Table 1); "simulated" is the pipeline's own results table, whose rows
    # name their engine (source_type aimd for DFT, potential_md otherwise) and are the recomputed side of a pair.
    max_abs_hmix = float(job.params.max_abs_hmix)
    tables = []
    for name, source_type in (
        ("calphad", "calphad"),
        ("calorimetry", "calorimetry"),
        ("user", "user"),
        ("aimd", "aimd"),
        ("simulated", "aimd"),
    ):
        for path in _paths(job, name):
            table = read_dataset_csv(path, source_type, max_abs_hmix)
            table.recomputed = name == "simulated"
            tables.append(table)
    # dataset.train_on_potential_md and dataset.recomputed; a spec without them (older tests, hand runs) gets the
    # defaults: no potential_md row trains, the published value of a pair trains.
    policy = provenance_policy(
        {key: getattr(job.params, key) for key in ("train_on_potential_md", "recomputed") if hasattr(job.params, key)}
    )
    upstream = [read_rejects_csv(path) for path in _paths(job, "rejects")]
    # CALPHAD database files the derivation could not load: listed with the rejects, not counted as rejected rows.
    not_loaded = concat_rejects(read_load_report(path) for path in _paths(job, "load_report"))
    for table in tables:
        if len(table.rejects):
            log.warning("%s: %d row(s) rejected:\n%s", table.file, len(table.rejects), format_rejects(table.rejects))
    try:
        merged = merge_tables(tables, upstream, int(job.params.max_rejects), not_loaded, policy)
    except TooManyRejectsError as error:
        log.error("all rejects:\n%s", format_rejects(error.rejects))
        raise
    write_csv(merged.dataset, job.output.dataset)
    write_csv(merged.rejects, job.output.rejected)
    write_text(summary_json(merged.summary), job.output.summary)
    if hasattr(job.output, "summary_md"):
        write_text(summary_markdown(merged.summary), job.output.summary_md)
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
