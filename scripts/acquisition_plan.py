"""Snakemake script: binaries ranked by GP uncertainty, the first ones weighed jointly (a batch), excluded elements and
systems left out → acquisition plan."""

from hmixal.jobs import start_job

log = start_job(snakemake, "acquisition_plan")

import time  # noqa: E402

from hmixal.dataset import read_table  # noqa: E402
from hmixal.features import FeatureSource  # noqa: E402
from hmixal.gp_map import load_map_gp, read_uncertainty_table  # noqa: E402
from hmixal.io import write_csv  # noqa: E402
from hmixal.plan import REQUIRED_COLUMNS, BatchSettings, acquisition_plan  # noqa: E402

p = snakemake.params
table = read_uncertainty_table(snakemake.input.map, REQUIRED_COLUMNS)
source = FeatureSource(snakemake.input.elements)
# The map's GP (same rows, features and hyper-parameters as gp_map), conditioned again rather than relearnt.
gp, features = load_map_gp(snakemake.input.hyper, read_table(snakemake.input.dataset), source)
batch = BatchSettings(gp, source, features, size=p.batch_size, objective_step=p.objective_step)
start = time.perf_counter()
plan = acquisition_plan(
    table,
    exclude=list(p.exclude),
    order=p.order,
    top=p.top,
    rank_by=p.rank_by,
    exclude_systems=list(p.exclude_systems),
    batch=batch,
)
log.info(
    "%d binaries planned in %.1f s on %d thread(s) (excluded elements: %s; systems: %s; order %s by %s)",
    len(plan),
    time.perf_counter() - start,
    snakemake.threads,
    ", ".join(p.exclude) or "none",
    ", ".join(p.exclude_systems) or "none",
    p.order,
    p.rank_by,
)
first = plan[plan["in_batch"]]
log.info(
    "the first %d rows remove %.2f %% of the map's summed variance:\n%s",
    len(first),
    100 * first["variance_reduction_share"].sum(),
    first[["rank", "A", "B", "x_at_max", "variance_reduction_share", "variance_before_pick"]].to_string(index=False),
)
write_csv(plan, snakemake.output.plan)
