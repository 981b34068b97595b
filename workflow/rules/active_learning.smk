# Active-learning benchmark (seed supplementary note 2): five approaches on the same N grouped splits,
# scattered as one job per (approach, block of splits), gathered into curves and a summary.


rule al_splits:
    input:
        dataset="results/data/dataset_initial.csv",
    output:
        splits="results/active_learning/splits.csv",
    log:
        "results/logs/al_splits.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        n_splits=AL["n_splits"],
        train_fraction=AL["train_fraction"],
        test_fraction=AL["test_fraction"],
        seed=config["seed"],
    script:
        "../../scripts/al_splits.py"


# Every GP approach learns the same hyper-parameters at a split's first iteration (same train set, same seed):
# learnt once per block here, read by each GP approach's job.
rule al_gp_hyper:
    input:
        dataset="results/data/dataset_initial.csv",
        elements=derived("elements"),
        splits="results/active_learning/splits.csv",
        features_al="results/selection/features_al.txt",
    output:
        hyper="results/active_learning/gp_hyper/{block}.json",
    log:
        "results/logs/al_gp_hyper_{block}.log",
    benchmark:
        "results/benchmarks/al_gp_hyper_{block}.tsv"
    wildcard_constraints:
        block=r"\d+",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10 + AL["block_size"],
    params:
        splits=al_block_splits,
        lgbm=AL["lgbm"],
        batch_size=AL["batch_size"],
        n_iterations=AL["n_iterations"],
        eval_features=AL["eval_features"],
        gp=AL["gp"],
        rtal=AL["rtal"],
        seed=config["seed"],
    script:
        "../../scripts/al_gp_hyper.py"


rule al_block:
    input:
        dataset="results/data/dataset_initial.csv",
        elements=derived("elements"),
        splits="results/active_learning/splits.csv",
        features_al="results/selection/features_al.txt",
        gp_hyper=al_gp_hyper,
    output:
        table="results/active_learning/blocks/{approach}_{block}.csv",
    log:
        "results/logs/al_block_{approach}_{block}.log",
    benchmark:
        "results/benchmarks/al_block_{approach}_{block}.tsv"
    wildcard_constraints:
        approach="|".join(AL["approaches"]),
        block=r"\d+",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10 + 2 * AL["block_size"],
    params:
        approach="{approach}",
        splits=al_block_splits,
        lgbm=AL["lgbm"],
        batch_size=AL["batch_size"],
        n_iterations=AL["n_iterations"],
        eval_features=AL["eval_features"],
        gp=AL["gp"],
        rtal=AL["rtal"],
        seed=config["seed"],
    script:
        "../../scripts/al_block.py"


rule al_gather:
    input:
        tables=expand(
            "results/active_learning/blocks/{approach}_{block}.csv", approach=AL["approaches"], block=AL_BLOCKS
        ),
        splits="results/active_learning/splits.csv",
    output:
        per_split="results/active_learning/per_split.csv",
        curves="results/active_learning/curves.csv",
        summary="results/active_learning/summary.csv",
        endpoints="results/active_learning/endpoints.csv",
    log:
        "results/logs/al_gather.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        reference="random",
        seed=config["seed"],
    script:
        "../../scripts/al_gather.py"
