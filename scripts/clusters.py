"""Snakemake script: K-means clusters of the equimolar liquids → clustered GP map, K scan and cluster table."""

from hmixal.jobs import start_job

log = start_job(snakemake, "clusters")

import json  # noqa: E402

from hmixal.clustering import cluster_map, cluster_table, kmeans_scan  # noqa: E402
from hmixal.elements import ELEMENTS, load_element_table  # noqa: E402
from hmixal.features import FeatureSource  # noqa: E402
from hmixal.gp_map import read_uncertainty_table  # noqa: E402
from hmixal.io import write_csv  # noqa: E402
from hmixal.manifest import read_verified_text  # noqa: E402
from hmixal.splits import derive_seed  # noqa: E402

p = snakemake.params
variance = read_uncertainty_table(snakemake.input.variance)
source = FeatureSource(snakemake.input.elements)
# The map's own features (recorded by the gp_map step), so clusters live in the GP's feature space.
features = json.loads(read_verified_text(snakemake.input.hyper))["features"]
seed = derive_seed(p.seed, "kmeans-map")
table, X = cluster_map(variance, source, features, p.k, seed, p.n_init)
scan = kmeans_scan(X, range(p.k_min, p.k_max + 1), seed, p.n_init)
log.info("K scan:\n%s", scan.to_string(index=False))
columns = load_element_table(snakemake.input.elements)["Column"].to_dict()
clusters = cluster_table(table, X, columns, ELEMENTS, refractory=p.refractory)
log.info("clusters:\n%s", clusters.to_string(index=False))
write_csv(table, snakemake.output.map)
write_csv(scan, snakemake.output.scan)
write_csv(clusters, snakemake.output.clusters)
