# AIMD: which systems, the runs they need (pure liquids shared), one job per run on the configured engine (VASP
# under custodian on a cluster, or an ASE calculator such as EMT anywhere) through one protocol (volume loop,
# production, outcome), ΔH_mix per binary, and the results table that dataset_final picks up when aimd.run is true.


checkpoint aimd_systems:
    input:
        unpack(aimd_system_inputs),
    output:
        systems="results/aimd/systems.csv",
        runs="results/aimd/runs.csv",
    log:
        "results/logs/aimd/systems.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        systems=AIMD["systems"],
    script:
        "../../scripts/aimd_systems.py"


rule aimd_run:
    input:
        runs="results/aimd/runs.csv",
        elements=derived("elements"),
    output:
        outcome=f"{AIMD_RUNS}/{{run_id}}/{OUTCOME_RECORD}",
    log:
        f"results/logs/aimd/{ENGINE}_run_{{run_id}}.log",
    wildcard_constraints:
        run_id=r"[A-Za-z0-9]+_[0-9.]+K",
    retries: RUN_RETRIES
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **RUN_RESOURCES,
    params:
        aimd={key: AIMD[key] for key in ("engine", "protocol", "reset_failed", ENGINE)},
        seed=config["seed"],
    script:
        "../../scripts/aimd_run.py"


rule aimd_hmix:
    input:
        unpack(aimd_run_outcomes),
    output:
        row=f"{AIMD_BINARIES}/{{system}}.csv",
        details=f"{AIMD_BINARIES}/{{system}}.json",
    log:
        f"results/logs/aimd/{ENGINE}_hmix_{{system}}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        checks=AIMD["checks"],
        protocol=AIMD["protocol"],
    script:
        "../../scripts/aimd_hmix.py"


rule aimd_results:
    input:
        rows=aimd_rows,
    output:
        table="results/aimd/aimd_results.csv",
    log:
        "results/logs/aimd/results.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/aimd_collect.py"
