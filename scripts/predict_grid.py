"""Snakemake script: ΔH_mix of every binary on the composition grid, before and after AIMD, with uncertainty."""

from hmixal.jobs import start_job

log = start_job(snakemake, "predict_grid")


from hmixal.io import write_csv  # noqa: E402
from hmixal.model import TrainedModel  # noqa: E402
from hmixal.predict import Predictor  # noqa: E402
from hmixal.systems import all_binaries, binary_grid, composition_grid  # noqa: E402

grid = binary_grid(all_binaries(), composition_grid(snakemake.params.step))
after = Predictor.load(snakemake.input.after, snakemake.input.folds, snakemake.input.elements)
table = after.predict(grid["A"].to_numpy(), grid["B"].to_numpy(), grid["x_B"].to_numpy())
before = TrainedModel.load(snakemake.input.before)
table.insert(
    4,
    "hmix_before_aimd_kJ_per_mol",
    before.predict_points(after.source, grid["A"].to_numpy(), grid["B"].to_numpy(), grid["x_B"].to_numpy()),
)
write_csv(table, snakemake.output.predictions, float_format="%.6g")
log.info("%d predictions for %d binaries", len(table), len(table) // len(composition_grid(snakemake.params.step)))
