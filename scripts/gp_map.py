"""Snakemake script: GP trained on the initial dataset → maximum latent variance of every binary (seed Fig. 1)."""

from hmixal.jobs import start_job

log = start_job(snakemake, "gp_map")

import json  # noqa: E402
import time  # noqa: E402

from hmixal.dataset import read_table  # noqa: E402
from hmixal.features import FeatureSource  # noqa: E402
from hmixal.gp_map import HyperSettings, resolve_features, train_gp, uncertainty_table  # noqa: E402
from hmixal.io import write_csv, write_text  # noqa: E402
from hmixal.model import model_data  # noqa: E402

p = snakemake.params
dataset = read_table(snakemake.input.dataset)
source = FeatureSource(snakemake.input.elements)
data = model_data(dataset, source)
features = resolve_features(p.features, getattr(snakemake.input, "features_al", None), data.feature_names)
log.info("%d training rows, features %s", len(dataset), ", ".join(features))
start = time.perf_counter()
gp = train_gp(data, features, p.seed, HyperSettings.from_mapping(p.hyper))
log.info("hyper-parameters learnt in %.1f s: %s", time.perf_counter() - start, gp.hyper.to_dict())
start = time.perf_counter()
table = uncertainty_table(gp, dataset, source, features, step=p.step)
log.info(
    "variance map of %d binaries in %.1f s on %d thread(s)", len(table), time.perf_counter() - start, snakemake.threads
)
write_csv(table, snakemake.output.variance)
hyper = {"features": list(features), "n_training_rows": len(dataset), **gp.hyper.to_dict()}
# With a manifest: the clusters rule reads the features from it and refuses a file edited since.
write_text(json.dumps(hyper, indent=2, sort_keys=True) + "\n", snakemake.output.hyper, manifest=True)
