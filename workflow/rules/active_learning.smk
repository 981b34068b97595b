# Active-learning benchmark (seed supplementary note 2; docs/active_learning.md): the approaches on the same N
# splits per test design (random binaries as in the paper; a held-out K-means cluster), scattered as one job per
# (design, approach, block of splits), gathered into curves, reference lines, a summary and paired endpoints.


rule al_splits:
    input:
        dataset="results/data/dataset_initial.csv",
        elements=derived("elements"),
        features_al=al_feature_list,
    output:
        splits="results/active_learning/{design}/splits.csv",
        clusters="results/active_learning/{design}/clusters.csv",
    log:
        "results/logs/al_splits_{design}.log",
    wildcard_constraints:
        design="|".join(AL_DESIGNS),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        design="{design}",
        n_splits=AL["n_splits"],
        train_fraction=AL["train_fraction"],
        test_fraction=AL["test_fraction"],
        cluster=AL["cluster"],
        element=AL["element"],
        features=AL["features"],
        seed=config["seed"],
    script:
        "../../scripts/al_splits.py"


# Every GP approach learns the same hyper-parameters at a split's first iteration (same train set, same seed):
# learnt once per block here (and the ARD ones, warm-started from them), read by each GP approach's job.
rule al_gp_hyper:
    input:
        dataset="results/data/dataset_initial.csv",
        elements=derived("elements"),
        splits="results/active_learning/{design}/splits.csv",
        features_al=al_feature_list,
    output:
        hyper="results/active_learning/{design}/gp_hyper/{block}.json",
    log:
        "results/logs/al_gp_hyper_{design}_{block}.log",
    benchmark:
        "results/benchmarks/al_gp_hyper_{design}_{block}.tsv"
    wildcard_constraints:
        design="|".join(AL_DESIGNS),
        block=r"\d+",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10 + 2 * AL["block_size"],
    params:
        design="{design}",
        splits=al_block_splits,
        run=AL_RUN,
        ard=AL_ARD,
    script:
        "../../scripts/al_gp_hyper.py"


rule al_references:
    input:
        dataset="results/data/dataset_initial.csv",
        elements=derived("elements"),
        splits="results/active_learning/{design}/splits.csv",
        features_al=al_feature_list,
    output:
        table="results/active_learning/{design}/references/{block}.csv",
    log:
        "results/logs/al_references_{design}_{block}.log",
    wildcard_constraints:
        design="|".join(AL_DESIGNS),
        block=r"\d+",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        design="{design}",
        splits=al_block_splits,
        run=AL_RUN,
    script:
        "../../scripts/al_references.py"


rule al_block:
    input:
        dataset="results/data/dataset_initial.csv",
        elements=derived("elements"),
        splits="results/active_learning/{design}/splits.csv",
        features_al=al_feature_list,
        gp_hyper=al_gp_hyper,
    output:
        table="results/active_learning/{design}/blocks/{approach}_{block}.csv",
    log:
        "results/logs/al_block_{design}_{approach}_{block}.log",
    benchmark:
        "results/benchmarks/al_block_{design}_{approach}_{block}.tsv"
    wildcard_constraints:
        design="|".join(AL_DESIGNS),
        approach="|".join(AL["approaches"]),
        block=r"\d+",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10 + 4 * AL["block_size"],
    params:
        design="{design}",
        approach="{approach}",
        splits=al_block_splits,
        run=AL_RUN,
    script:
        "../../scripts/al_block.py"


rule al_gather:
    input:
        tables=expand(
            "results/active_learning/{{design}}/blocks/{approach}_{block}.csv",
            approach=AL["approaches"],
            block=AL_BLOCKS,
        ),
        references=expand("results/active_learning/{{design}}/references/{block}.csv", block=AL_BLOCKS),
        splits="results/active_learning/{design}/splits.csv",
    output:
        per_split="results/active_learning/{design}/per_split.csv",
        curves="results/active_learning/{design}/curves.csv",
        summary="results/active_learning/{design}/summary.csv",
        endpoints="results/active_learning/{design}/endpoints.csv",
        references="results/active_learning/{design}/references.csv",
    log:
        "results/logs/al_gather_{design}.log",
    wildcard_constraints:
        design="|".join(AL_DESIGNS),
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
