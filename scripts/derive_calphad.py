"""Snakemake script: liquid ΔH_mix of metallic binaries from the CALPHAD databases of the reference folder."""

from hmixal.jobs import start_job

log = start_job(snakemake, "derive_calphad")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

from hmixal.calphad.consensus import excluded_binaries  # noqa: E402
from hmixal.calphad.table import derive_calphad_table  # noqa: E402
from hmixal.elements import load_element_table  # noqa: E402
from hmixal.io import write_csv  # noqa: E402

start = time.perf_counter()
# Melting points: the element table's Magpie MeltT column (matminer MeltingT.table), K.
melting_points = load_element_table(Path(snakemake.input.elements))["MeltT"].to_dict()
chosen, candidates, report = derive_calphad_table(
    snakemake.params.folder,
    melting_points,
    x_grid=[float(x) for x in snakemake.params.x_grid],
    t_offset=float(snakemake.params.t_offset),
    t_cap=float(snakemake.params.t_cap),
    disagreement_threshold=float(snakemake.params.threshold),
    progress=log.info,
    single_source_factor=float(snakemake.params.single_source_factor),
    single_source_gap=float(snakemake.params.single_source_gap),
)
write_csv(chosen, snakemake.output.table)
write_csv(candidates, snakemake.output.candidates)
write_csv(report, snakemake.output.load_report)
# Binaries left out by the single low-quality source rule: named here and in the candidates table's reasons.
excluded = excluded_binaries(candidates)
for a, b, source in excluded:
    log.warning("%s-%s excluded: its only source %s looks like placeholder parameters (docs/calphad.md)", a, b, source)
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
