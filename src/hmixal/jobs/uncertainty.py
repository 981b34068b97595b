"""Jobs of workflow/rules/uncertainty.smk: the GP uncertainty map, its K-means clusters, the acquisition plan and the
K-means test of Miedema's groups."""

from __future__ import annotations

import json
import logging
import time

from hmixal.clustering import (
    cluster_map,
    cluster_table,
    equimolar_features,
    kmeans_scan,
    map_kmeans_seed,
    miedema_group_clusters,
    miedema_kmeans_seed,
    miedema_ratios,
    ratio_summary,
    standardise,
)
from hmixal.dataset import read_table
from hmixal.elements import ELEMENTS, load_element_table
from hmixal.features import FeatureSource
from hmixal.gp_map import (
    HyperSettings,
    load_map_gp,
    read_uncertainty_table,
    resolve_features,
    train_gp,
    uncertainty_table,
)
from hmixal.io import write_csv, write_text
from hmixal.jobs import RuleJob
from hmixal.manifest import read_verified_text
from hmixal.miedema_model import miedema_groups as miedema_group_of
from hmixal.model import model_data
from hmixal.plan import REQUIRED_COLUMNS, BatchSettings
from hmixal.plan import acquisition_plan as plan_acquisitions
from hmixal.systems import all_binaries


def gp_map(job: RuleJob) -> None:
    """GP trained on the initial dataset → maximum latent variance of every binary (seed Fig. 1)."""
    log = logging.getLogger("gp_map")
    p = job.params
    dataset = read_table(job.input.dataset)
    source = FeatureSource(job.input.elements)
    data = model_data(dataset, source)
    features = resolve_features(p.features, getattr(job.input, "features_al", None), data.feature_names)
    log.info("%d training rows, features %s", len(dataset), ", ".join(features))
    start = time.perf_counter()
    gp = train_gp(data, features, p.seed, HyperSettings.from_mapping(p.hyper))
    log.info("hyper-parameters learnt in %.1f s: %s", time.perf_counter() - start, gp.hyper.to_dict())
    start = time.perf_counter()
    table = uncertainty_table(gp, dataset, source, features, step=p.step)
    log.info(
        "variance map of %d binaries in %.1f s on %d thread(s)", len(table), time.perf_counter() - start, job.threads
    )
    write_csv(table, job.output.variance)
    hyper = {"features": list(features), "n_training_rows": len(dataset), **gp.hyper.to_dict()}
    # With a manifest: the clusters rule reads the features from it and refuses a file edited since.
    write_text(json.dumps(hyper, indent=2, sort_keys=True) + "\n", job.output.hyper, manifest=True)


def clusters(job: RuleJob) -> None:
    """K-means clusters of the equimolar liquids → clustered GP map, K scan and cluster table."""
    log = logging.getLogger("clusters")
    p = job.params
    variance = read_uncertainty_table(job.input.variance)
    source = FeatureSource(job.input.elements)
    # The map's own features (recorded by the gp_map step), so clusters live in the GP's feature space.
    features = json.loads(read_verified_text(job.input.hyper))["features"]
    seed = map_kmeans_seed(p.seed)
    table, X = cluster_map(variance, source, features, p.k, seed, p.n_init)
    scan = kmeans_scan(X, range(p.k_min, p.k_max + 1), seed, p.n_init)
    log.info("K scan:\n%s", scan.to_string(index=False))
    columns = load_element_table(job.input.elements)["Column"].to_dict()
    table_of_clusters = cluster_table(table, X, columns, ELEMENTS, refractory=p.refractory)
    log.info("clusters:\n%s", table_of_clusters.to_string(index=False))
    write_csv(table, job.output.map)
    write_csv(scan, job.output.scan)
    write_csv(table_of_clusters, job.output.clusters)


def acquisition_plan(job: RuleJob) -> None:
    """Binaries ranked by GP uncertainty, the first ones weighed jointly (a batch), excluded elements and systems left
    out → acquisition plan."""
    log = logging.getLogger("acquisition_plan")
    p = job.params
    table = read_uncertainty_table(job.input.map, REQUIRED_COLUMNS)
    source = FeatureSource(job.input.elements)
    # The map's GP (same rows, features and hyper-parameters as gp_map), conditioned again rather than relearnt.
    gp, features = load_map_gp(job.input.hyper, read_table(job.input.dataset), source)
    batch = BatchSettings(gp, source, features, batch_size=p.batch_size, objective_step=p.objective_step)
    start = time.perf_counter()
    plan = plan_acquisitions(
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
        job.threads,
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
        first[["rank", "A", "B", "x_at_max", "variance_reduction_share", "variance_before_pick"]].to_string(
            index=False
        ),
    )
    write_csv(plan, job.output.plan)


def miedema_groups(job: RuleJob) -> None:
    """K-means on Cpliq and Sliq features against Miedema's three groups; Cp/P and S/Q ratios."""
    log = logging.getLogger("miedema_groups")
    p = job.params
    source = FeatureSource(job.input.elements)
    pairs = all_binaries()
    groups = miedema_group_of([a for a, _ in pairs], [b for _, b in pairs])
    seed = miedema_kmeans_seed(p.seed)
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
    write_csv(per_binary.merge(ratios, on=["A", "B", "miedema_group"]), job.output.binaries)
    write_csv(confusion, job.output.confusion)
    write_csv(scan, job.output.scan)
    write_csv(summary, job.output.ratios)
    result = {
        "accuracy": accuracy,
        "k": p.k,
        "features": list(p.features),
        "n_binaries": len(pairs),
        "n_init": p.n_init,
    }
    write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", job.output.accuracy)
