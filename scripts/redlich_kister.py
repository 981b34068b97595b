"""Snakemake script: Redlich–Kister fit of every binary's predicted ΔH_mix curve, and the LIQUID TDB export."""

from hmixal.jobs import start_job

log = start_job(snakemake, "redlich_kister")

import time  # noqa: E402

from hmixal.elements import load_element_table  # noqa: E402
from hmixal.io import write_csv, write_text  # noqa: E402
from hmixal.redlich_kister import (  # noqa: E402
    DEFAULT_TDB_CHECK_TOLERANCE_J_PER_MOL,
    check_covers,
    check_tdb_with_pycalphad,
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
# pycalphad reads the text back and evaluates HM_MIX of every binary at every x_B of the predictions (all 2415
# binaries: ~15-25 s on one core); a binary off its fitted curve stops the rule before anything is written.
tolerance = float(getattr(params, "tdb_check_tolerance", DEFAULT_TDB_CHECK_TOLERANCE_J_PER_MOL))
start = time.perf_counter()
check = check_tdb_with_pycalphad(text, table, sorted(predictions["x_B"].astype(float).unique()), tolerance)
worst = check.loc[check["max_abs_deviation_J_per_mol"].idxmax()]
log.info(
    "pycalphad round trip of %d binaries in %.1f s: max |HM_MIX - fitted curve| %.3g J/mol (%s-%s), tolerance %g J/mol",
    len(check),
    time.perf_counter() - start,
    worst["max_abs_deviation_J_per_mol"],
    worst["A"],
    worst["B"],
    tolerance,
)
write_csv(table, snakemake.output.table)
write_text(text, snakemake.output.tdb, manifest=True)
check_path = getattr(snakemake.output, "tdb_check", None)
if check_path is not None:
    write_csv(check, check_path)
else:
    log.info("the rule names no output tdb_check: the per-binary deviations are not written")
log.info("wrote %s and %s", snakemake.output.table, snakemake.output.tdb)
