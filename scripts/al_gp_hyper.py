"""Snakemake script: each split's first GP hyper-parameters, learnt once and shared by the GP approaches' jobs."""

from hmixal.jobs import start_job

log = start_job(snakemake, "al_gp_hyper")

import json  # noqa: E402

from hmixal.active_learning import benchmark_settings, read_splits, split_hyper  # noqa: E402
from hmixal.dataset import read_table  # noqa: E402
from hmixal.io import write_text  # noqa: E402
from hmixal.model import FeatureSource, model_data  # noqa: E402

p = snakemake.params
data = model_data(read_table(snakemake.input.dataset), FeatureSource(snakemake.input.elements))
settings = benchmark_settings(p, snakemake.input.features_al, data.feature_names, snakemake.threads)
splits = read_splits(snakemake.input.splits)
hypers = {}
for split in p.splits:
    hyper = split_hyper(data, splits, int(split), settings)
    hypers[str(int(split))] = hyper.to_dict()
    log.info("split %d: GP noise %.3f, width %s, signal %.3f", split, hyper.noise_std, hyper.width, hyper.signal_std)
write_text(json.dumps(hypers, indent=2, sort_keys=True) + "\n", snakemake.output.hyper, manifest=True)
