"""Snakemake script: ΔH_mix of every binary on the composition grid, before and after AIMD, with uncertainty."""

from hmixal.jobs import start_job

log = start_job(snakemake, "predict_grid")


from hmixal.io import write_csv  # noqa: E402
from hmixal.model import TrainedModel  # noqa: E402
from hmixal.predictor import Predictor  # noqa: E402
from hmixal.systems import all_binaries, binary_grid, composition_grid  # noqa: E402

grid = binary_grid(all_binaries(), composition_grid(snakemake.params.step))
a, b, x = grid["A"].to_numpy(), grid["B"].to_numpy(), grid["x_B"].to_numpy()
after = Predictor.load(snakemake.input.after, snakemake.input.calibration)
table = after.predict(a, b, x)
before = TrainedModel.load(snakemake.input.before)
table.insert(4, "hmix_before_aimd_kJ_per_mol", before.predict_points(after.source, a, b, x))
write_csv(table, snakemake.output.predictions, float_format="%.6g")
per_binary = table.drop_duplicates(["A", "B"])
log.info(
    "%d predictions for %d binaries: %d flagged extrapolation, %d whose model departs from their data",
    len(table),
    len(per_binary),
    int(per_binary["extrapolation"].sum()),
    int(per_binary["contradicts_data"].sum()),
)
