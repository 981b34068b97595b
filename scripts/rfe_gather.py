"""Snakemake script: gather RFE repeats → RMSE curve, feature frequencies and the chosen feature sets."""

from hmixal.jobs import start_job

log = start_job(snakemake, "rfe_gather")

import pandas as pd  # noqa: E402

from hmixal.features import write_feature_list  # noqa: E402
from hmixal.io import write_csv  # noqa: E402
from hmixal.manifest import read_verified_csv  # noqa: E402
from hmixal.rfe_study import choose_features, feature_frequencies, rfe_curve  # noqa: E402

paths = pd.concat([read_verified_csv(p, keep_default_na=False) for p in snakemake.input.paths], ignore_index=True)
paths = paths.sort_values(["repeat", "n_features"], ascending=[True, False], ignore_index=True)
write_csv(paths, snakemake.output.paths)
write_csv(rfe_curve(paths), snakemake.output.curve)
counts = {n: feature_frequencies(paths, n) for n in (snakemake.params.n_al, snakemake.params.n_final)}
frequencies = pd.DataFrame(counts).fillna(0).astype(int)
frequencies.columns = [f"count_in_{n}" for n in frequencies.columns]
write_csv(frequencies.rename_axis("feature").reset_index(), snakemake.output.frequencies)
for n, target in (
    (snakemake.params.n_al, snakemake.output.features_al),
    (snakemake.params.n_final, snakemake.output.features_final),
):
    chosen = choose_features(paths, n)
    write_feature_list(chosen, target)
    log.info("%d-feature set: %s", n, ", ".join(chosen))
