"""Snakemake script: liquid ΔH_mix of metallic binaries from the CALPHAD databases of the reference folder."""

import logging
import sys
import time

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115 — stays open for the whole job, as Snakemake logs do
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("derive_calphad")

from pathlib import Path  # noqa: E402

from hmixal.calphad import derive_calphad_table  # noqa: E402
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
)
write_csv(chosen, snakemake.output.table)
write_csv(candidates, snakemake.output.candidates)
write_csv(report, snakemake.output.load_report)
binaries = chosen[["A", "B"]].drop_duplicates()
flagged = chosen.loc[chosen["flag"] != "", ["A", "B"]].drop_duplicates()
log.info(
    "%d binaries, %d points, %d elements from %d loaded file(s) (%d failed, %d not databases); "
    "%d binaries flagged; %.0f s",
    len(binaries),
    len(chosen),
    len(set(binaries["A"]) | set(binaries["B"])),
    int((report["status"] == "loaded").sum()),
    int((report["status"] == "failed").sum()),
    int((report["status"] == "not a database").sum()),
    len(flagged),
    time.perf_counter() - start,
)
