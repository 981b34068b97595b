"""Snakemake script: K-means on Cpliq and Sliq features against Miedema's three groups; Cp/P and S/Q ratios."""

from hmixal.jobs import start_job

log = start_job(snakemake, "miedema_groups")

import json  # noqa: E402

from hmixal.clustering import (  # noqa: E402
    equimolar_features,
    kmeans_scan,
    miedema_group_clusters,
    miedema_ratios,
    ratio_summary,
    standardise,
)
from hmixal.features import FeatureSource  # noqa: E402
from hmixal.io import write_csv, write_text  # noqa: E402
from hmixal.miedema_model import miedema_groups  # noqa: E402
from hmixal.splits import derive_seed  # noqa: E402
from hmixal.systems import all_binaries  # noqa: E402

p = snakemake.params
source = FeatureSource(snakemake.input.elements)
pairs = all_binaries()
groups = miedema_groups([a for a, _ in pairs], [b for _, b in pairs])
seed = derive_seed(p.seed, "kmeans-miedema")
per_binary, confusion, accuracy = miedema_group_clusters(source, pairs, groups, seed, p.k, p.features, p.n_init)
scan = kmeans_scan(
    standardise(equimolar_features(source, pairs, p.features)), range(p.k_min, p.k_max + 1), seed, p.n_init
)
ratios = miedema_ratios(source, pairs, groups)
summary = ratio_summary(ratios)
log.info(
    "accuracy %.4f\n%s\n%s\n%s",
    accuracy,
    confusion.to_string(index=False),
    scan.to_string(index=False),
    summary.to_string(index=False),
)
write_csv(per_binary.merge(ratios, on=["A", "B", "miedema_group"]), snakemake.output.binaries)
write_csv(confusion, snakemake.output.confusion)
write_csv(scan, snakemake.output.scan)
write_csv(summary, snakemake.output.ratios)
result = {"accuracy": accuracy, "k": p.k, "features": list(p.features), "n_binaries": len(pairs), "n_init": p.n_init}
write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", snakemake.output.accuracy)
