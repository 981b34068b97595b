# Recursive feature elimination study (seed supplementary note 1), scattered in blocks of repeats.


rule rfe_block:
    input:
        dataset="results/data/dataset_initial.csv",
        elements=derived("elements"),
    output:
        paths="results/selection/rfe/block_{block}.csv",
    log:
        "results/logs/rfe_block_{block}.log",
    benchmark:
        "results/benchmarks/rfe_block_{block}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        repeats=rfe_block_repeats,
        settings=RFE_SETTINGS,
        seed=config["seed"],
    script:
        "../../scripts/rfe_block.py"


rule rfe_gather:
    input:
        paths=expand("results/selection/rfe/block_{block}.csv", block=RFE_BLOCKS),
    output:
        paths="results/selection/rfe_paths.csv",
        curve="results/selection/rfe_curve.csv",
        frequencies="results/selection/feature_frequencies.csv",
        features_al="results/selection/features_al.txt",
        features_final="results/selection/features_final.txt",
    log:
        "results/logs/rfe_gather.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        n_al=SEL["n_features_al"],
        n_final=SEL["n_features_final"],
    script:
        "../../scripts/rfe_gather.py"
