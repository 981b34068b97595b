# Calphad-native exports (docs/redlich_kister.md, "ESPEI datasets"): the DFT AIMD rows of the final dataset as
# ESPEI datasets (HM_MIX, LIQUID), and, only when asked for by name, the model's predicted curves as ESPEI
# datasets labelled as predictions. Needs the rules of data.smk (merge_inputs) and model.smk.


rule espei_datasets:
    input:
        dataset="results/data/dataset_final.csv",
        aimd_tables=espei_aimd_tables,
    output:
        datasets=directory("results/calphad/espei_aimd"),
        index="results/calphad/espei_aimd_index.csv",
        left_out="results/calphad/espei_aimd_left_out.csv",
    log:
        "results/logs/espei_datasets.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        # potential_md rows (MD on an interatomic potential, not DFT) are listed as left out, not exported.
        include_potential_md=False,
        max_abs_hmix=config["dataset"]["max_abs_hmix_kJ_per_mol"],
    script:
        "../../scripts/espei_export.py"


# Not in `rule all`: predictions are no data; build with
#   snakemake --profile profiles/local results/calphad/espei_predictions
rule espei_predictions:
    input:
        predictions="results/model/predictions.csv",
        elements=derived("elements"),
    output:
        datasets=directory("results/calphad/espei_predictions"),
        index="results/calphad/espei_predictions_index.csv",
    log:
        "results/logs/espei_predictions.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,  # measured: 0.54 GB, 10 s for 2415 binaries x 99 compositions
        runtime=20,
    params:
        model=FINAL_MODEL_DIR,
        t_offset=config["calphad"]["t_offset_K"],
        t_cap=config["calphad"]["t_cap_K"],
    script:
        "../../scripts/espei_export.py"
