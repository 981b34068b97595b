"""Snakemake script: leave-one-element-out predictions with the final model's recipe (calibrates the no-data class)."""

from hmixal.jobs import start_job

log = start_job(snakemake, "element_holdout")

from hmixal.dataset import read_table  # noqa: E402
from hmixal.element_holdout import element_holdout  # noqa: E402
from hmixal.features import FeatureSource  # noqa: E402
from hmixal.io import write_csv  # noqa: E402
from hmixal.model import TrainedModel, model_data  # noqa: E402

p = snakemake.params
data = model_data(read_table(snakemake.input.dataset), FeatureSource(snakemake.input.elements))
final = TrainedModel.load(snakemake.input.model)
table = element_holdout(data, final, int(p.n_folds), str(p.sample_weighting), int(p.seed), snakemake.threads)
write_csv(table, snakemake.output.table)
residual = table["predicted_kJ_per_mol"] - table["hmix_kJ_per_mol"]
log.info(
    "%d elements held out, %d rows: RMSE %.2f kJ/mol (Miedema %.2f)",
    table["held_out_element"].nunique(),
    len(table),
    float((residual**2).mean() ** 0.5),
    float(((table["miedema_kJ_per_mol"] - table["hmix_kJ_per_mol"]) ** 2).mean() ** 0.5),
)
