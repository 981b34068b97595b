"""Snakemake script: Redlich–Kister fit of every binary's predicted ΔH_mix curve, and the LIQUID TDB export."""

from hmixal.jobs import start_job

log = start_job(snakemake, "redlich_kister")

import time  # noqa: E402

from hmixal.elements import load_element_table  # noqa: E402
from hmixal.io import write_csv, write_text  # noqa: E402
from hmixal.redlich_kister import (  # noqa: E402
    check_covers,
    extrapolated_binaries,
    fit_redlich_kister,
    read_predictions,
    tdb_binaries,
    tdb_text,
)

params = snakemake.params
# Checked against its manifest and for a complete grid per binary: a cut table stops the rule here, naming it.
predictions = read_predictions(snakemake.input.predictions, require_manifest=True)
binaries = (predictions["A"] + "-" + predictions["B"]).unique()
log.info("read %d predictions of %d binaries from %s", len(predictions), len(binaries), snakemake.input.predictions)
start = time.perf_counter()
table = fit_redlich_kister(
    predictions,
    column=params.column,
    max_order=int(params.max_order),
    tolerance=float(params.tolerance),
    path=snakemake.input.predictions,
)
log.info("fitted %d binaries in %.2f s", len(table), time.perf_counter() - start)
log.info("order distribution: %s", table["order"].value_counts().sort_index().to_dict())
log.info(
    "RMS residual (kJ/mol): median %.3f, max %.3f; max residual: max %.3f",
    table["rms_residual_kJ_per_mol"].median(),
    table["rms_residual_kJ_per_mol"].max(),
    table["max_residual_kJ_per_mol"].max(),
)
# Both outputs must cover every binary of the predictions; checked before anything is written.
check_covers(binaries, table["A"] + "-" + table["B"], "the fit table", snakemake.output.table)

# The element table gives the ELEMENT lines' reference phases; the committed one when the rule names none.
elements_path = getattr(snakemake.input, "elements", None)
settings = {"max_order": int(params.max_order), "tolerance_kJ_per_mol": float(params.tolerance)}
text = tdb_text(table, generated=str(params.generated), elements=load_element_table(elements_path), settings=settings)
check_covers(binaries, tdb_binaries(text), "the TDB", snakemake.output.tdb)
flagged = extrapolated_binaries(table)
if flagged is not None:
    log.info("%d binaries flagged extrapolation (listed in the TDB header)", len(flagged))
write_csv(table, snakemake.output.table)
write_text(text, snakemake.output.tdb, manifest=True)
log.info("wrote %s and %s", snakemake.output.table, snakemake.output.tdb)
