# Uncertainty map (seed Fig. 1, §2.1): a GP on the 10 AL features trained on the initial dataset, its maximum
# variance per binary, K-means clusters of the equimolar liquids, the acquisition plan, and the Miedema groups
# recovered from thermodynamic features (seed §2.5, supplementary note 3).

UNC = config["uncertainty"]


rule gp_map:
    input:
        dataset="results/data/dataset_initial.csv",
        elements=derived("elements"),
        features_al="results/selection/features_al.txt",
    output:
        variance="results/uncertainty/gp_variance.csv",
        hyper="results/uncertainty/gp_hyper.json",
    log:
        "results/logs/gp_map.log",
    benchmark:
        "results/benchmarks/gp_map.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        features=UNC["features"],
        step=UNC["step"],
        hyper={key: UNC[key] for key in field_names(HyperSettings)},
        seed=config["seed"],
    script:
        "../../scripts/gp_map.py"


rule clusters:
    input:
        variance="results/uncertainty/gp_variance.csv",
        hyper="results/uncertainty/gp_hyper.json",
        elements=derived("elements"),
    output:
        map="results/uncertainty/gp_map.csv",
        clusters="results/uncertainty/clusters.csv",
        scan="results/uncertainty/kmeans_scan.csv",
    log:
        "results/logs/clusters.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        k=UNC["k"],
        k_min=UNC["k_min"],
        k_max=UNC["k_max"],
        n_init=UNC["n_init"],
        refractory=UNC["refractory"],
        seed=config["seed"],
    script:
        "../../scripts/clusters.py"


# The batch conditions the map's GP again (gp_hyper.json + the same dataset rows): ~20 s and 0.6 GB for 20 picks
# over 2415 binaries × 9 compositions on one core (docs/uncertainty.md).
rule acquisition_plan:
    input:
        map="results/uncertainty/gp_map.csv",
        hyper="results/uncertainty/gp_hyper.json",
        dataset="results/data/dataset_initial.csv",
        elements=derived("elements"),
    output:
        plan=AIMD_PLAN,
    log:
        "results/logs/acquisition_plan.log",
    benchmark:
        "results/benchmarks/acquisition_plan.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        exclude=UNC["plan"]["exclude"],
        exclude_systems=UNC["plan"]["exclude_systems"],
        order=UNC["plan"]["order"],
        top=UNC["plan"]["top"],
        rank_by=UNC["plan"]["rank_by"],
        batch_size=UNC["plan"]["batch_size"],
        objective_step=UNC["plan"]["objective_step"],
    script:
        "../../scripts/acquisition_plan.py"


rule miedema_groups:
    input:
        elements=derived("elements"),
    output:
        binaries="results/uncertainty/miedema_groups_binaries.csv",
        confusion="results/uncertainty/miedema_groups_confusion.csv",
        scan="results/uncertainty/kmeans_scan_cps.csv",
        ratios="results/uncertainty/miedema_ratios.csv",
        accuracy="results/uncertainty/miedema_groups.json",
    log:
        "results/logs/miedema_groups.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        features=UNC["miedema_groups"]["features"],
        k=UNC["miedema_groups"]["k"],
        k_min=UNC["k_min"],
        k_max=UNC["k_max"],
        n_init=UNC["n_init"],
        seed=config["seed"],
    script:
        "../../scripts/miedema_groups.py"
