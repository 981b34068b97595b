# Data stage: element properties, CALPHAD and calorimetric ΔH_mix, the published AIMD table, user tables → datasets.
# The derive_* rules regenerate the committed tables of data/derived/ from the public sources (refdata_dir).


rule derive_elements:
    input:
        sgte=refdata(config["sources"]["sgte_tdb"]),
    output:
        table="results/derived/elements.csv",
    log:
        "results/logs/derive_elements.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../../scripts/build_elements.py"


rule derive_calphad:
    input:
        elements=derived("elements"),
    output:
        table="results/derived/calphad_hmix.csv",
        candidates="results/derived/calphad_candidates.csv",
        load_report="results/derived/calphad_load_report.csv",
    log:
        "results/logs/derive_calphad.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        folder=str(REFDATA),
        calphad=config["calphad"],
    script:
        "../../scripts/derive_calphad.py"


rule derive_calorimetry:
    output:
        table="results/derived/calorimetry.csv",
        rejects="results/derived/calorimetry_rejects.csv",
    log:
        "results/logs/derive_calorimetry.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        folder=refdata(config["sources"]["calorimetry_dir"]),
    script:
        "../../scripts/read_calorimetry.py"


rule derive_all:
    input:
        "results/derived/elements.csv",
        "results/derived/calphad_hmix.csv",
        "results/derived/calorimetry.csv",


rule dataset_initial:
    input:
        **merge_inputs(with_aimd=False),
    output:
        dataset="results/data/dataset_initial.csv",
        rejected="results/data/rejected_initial.csv",
        summary="results/data/summary_initial.json",
        summary_md="results/data/summary_initial.md",
    log:
        "results/logs/dataset_initial.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        **merge_params(),
    script:
        "../../scripts/merge_dataset.py"


rule dataset_final:
    input:
        **merge_inputs(with_aimd=True),
    output:
        dataset="results/data/dataset_final.csv",
        rejected="results/data/rejected.csv",
        summary="results/data/summary.json",
        summary_md="results/data/summary.md",
    log:
        "results/logs/dataset_final.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        **merge_params(),
    script:
        "../../scripts/merge_dataset.py"
