# The prediction model: nested grouped CV (before/after AIMD), final models, predictions on the grid.


rule nested_cv_fold:
    input:
        dataset="results/data/dataset_final.csv",
        elements=derived("elements"),
    output:
        predictions="results/model/cv/{variant}/fold_{fold}/predictions.csv",
        model_dir=directory("results/model/cv/{variant}/fold_{fold}/model"),
        diagnostics="results/model/cv/{variant}/fold_{fold}/inner.json",
    log:
        "results/logs/nested_cv/{variant}_fold_{fold}.log",
    benchmark:
        "results/benchmarks/nested_cv_{variant}_fold_{fold}.tsv"
    wildcard_constraints:
        variant="before|after",
        fold=r"\d+",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        outer_folds=MODEL["outer_folds"],
        excluded_sources_before=MODEL["excluded_sources_before"],
        inner=MODEL["inner"],
        seed=config["seed"],
    script:
        "../../scripts/nested_cv_fold.py"


rule element_holdout:
    input:
        dataset="results/data/dataset_final.csv",
        elements=derived("elements"),
        model=FINAL_MODEL,
    output:
        table="results/model/element_holdout.csv",
    log:
        "results/logs/element_holdout.log",
    benchmark:
        "results/benchmarks/element_holdout.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        n_folds=MODEL["inner"]["n_folds"],
        sample_weighting=MODEL["inner"]["sample_weighting"],
        seed=config["seed"],
    script:
        "../../scripts/element_holdout.py"


rule nested_cv_gather:
    input:
        after=expand("results/model/cv/after/fold_{fold}/predictions.csv", fold=FOLDS),
        before=expand("results/model/cv/before/fold_{fold}/predictions.csv", fold=FOLDS),
        element_holdout="results/model/element_holdout.csv",
    output:
        oof="results/model/oof_predictions.csv",
        metrics="results/model/metrics.json",
        calibration=CALIBRATION,
        calibration_curve="results/model/calibration_curve.csv",
    log:
        "results/logs/nested_cv_gather.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        describe={"outer_folds": MODEL["outer_folds"], "inner": MODEL["inner"], "seed": config["seed"]},
    script:
        "../../scripts/nested_cv_gather.py"


rule final_model:
    input:
        dataset="results/data/dataset_final.csv",
        elements=derived("elements"),
    output:
        model_dir=directory("results/model/final_{variant}"),
        diagnostics="results/model/final_{variant}_inner.json",
    log:
        "results/logs/final_model_{variant}.log",
    benchmark:
        "results/benchmarks/final_model_{variant}.tsv"
    wildcard_constraints:
        variant="before|after",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        inner=MODEL["inner"],
        seed=config["seed"],
        excluded_sources=excluded_sources,
    script:
        "../../scripts/final_model.py"


rule predict_grid:
    input:
        after=FINAL_MODEL,
        before="results/model/final_before",
        calibration=CALIBRATION,
    output:
        predictions="results/model/predictions.csv",
    log:
        "results/logs/predict_grid.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        step=MODEL["grid_step"],
    script:
        "../../scripts/predict_grid.py"


rule redlich_kister:
    input:
        predictions="results/model/predictions.csv",
        elements=derived("elements"),
    output:
        table="results/model/redlich_kister.csv",
        tdb="results/model/hmixal_liquid.tdb",
        tdb_check="results/model/hmixal_liquid_tdb_check.csv",
    log:
        "results/logs/redlich_kister.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        max_order=config["redlich_kister"]["max_order"],
        tolerance=config["redlich_kister"]["tolerance_kJ_per_mol"],
        column=config["redlich_kister"]["column"],
        generated=config["redlich_kister"]["generated"],
    script:
        "../../scripts/redlich_kister.py"


rule model_card:
    input:
        dataset="results/data/dataset_final.csv",
        elements=derived("elements"),
        model=FINAL_MODEL,
        calibration=CALIBRATION,
        metrics="results/model/metrics.json",
        element_holdout="results/model/element_holdout.csv",
        folds=expand("results/model/cv/{variant}/fold_{fold}/predictions.csv", variant=["before", "after"], fold=FOLDS),
    output:
        card=MODEL_CARD,
    log:
        "results/logs/model_card.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/model_card.py"


# Not part of `all`: copies the default run's final model into the package (docs/model.md, "The shipped predictor").
rule ship_predictor:
    input:
        model=FINAL_MODEL,
        calibration=CALIBRATION,
        card=MODEL_CARD,
    output:
        predictor=directory("src/hmixal/data/predictor"),
    log:
        "results/logs/ship_predictor.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        default_config="config/config.yaml",
    script:
        "../../scripts/ship_predictor.py"
