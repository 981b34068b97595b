# AIMD: which systems, the runs they need (pure liquids shared), VASP under custodian or the local EMT engine,
# ΔH_mix per binary, and the results table that dataset_final picks up when aimd.run is true.

from hmixal.aimd.systems import melting_points, plan_runs, read_systems
from hmixal.elements import load_element_table

AIMD = config["aimd"]
ENGINE = AIMD["engine"]
AIMD_PLAN = "results/uncertainty/acquisition_plan.csv"


def aimd_system_inputs(wildcards):
    """The element table, plus the acquisition plan when the systems come from it."""
    inputs = {"elements": derived("elements")}
    if AIMD["systems"].get("plan"):
        inputs["plan"] = AIMD_PLAN
    return inputs


checkpoint aimd_systems:
    input:
        unpack(aimd_system_inputs),
    output:
        systems="results/aimd/systems.csv",
        runs="results/aimd/runs.csv",
    params:
        systems=AIMD["systems"],
    log:
        "results/logs/aimd/systems.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/aimd_systems.py"


# Systems listed in the config are known when the workflow is parsed, so a dry run (`-n`) shows every job;
# systems taken from the acquisition plan are known only once the checkpoint has read the plan.
FROM_PLAN = bool(AIMD["systems"].get("plan"))
STATIC_SYSTEMS = None
# The run's element table (derived(): committed or rebuilt); a rebuilt one that does not exist yet leaves the
# systems to the checkpoint, which reads it once built.
if AIMD["run"] and not FROM_PLAN and Path(derived("elements")).is_file():
    STATIC_SYSTEMS = plan_runs(AIMD["systems"], melting_points(load_element_table(Path(derived("elements"))))).systems
    STATIC_SYSTEMS = STATIC_SYSTEMS.set_index("system")


def aimd_system_table():
    """Systems (A, B, x_B, T_K and the three run ids): from the config, or from the checkpoint's table."""
    if STATIC_SYSTEMS is not None:
        return STATIC_SYSTEMS
    return read_systems(checkpoints.aimd_systems.get().output.systems).set_index("system")


def run_trace(run_id):
    """A run's trace: one imported with `hmixal aimd import` if present, else the engine's own run."""
    imported = Path(f"results/aimd/imported/{run_id}/trace.csv")
    return str(imported) if imported.is_file() else f"results/aimd/{ENGINE}/runs/{run_id}/trace.csv"


def aimd_run_traces(wildcards):
    """The trace files of the alloy run and the two pure-liquid runs of one system."""
    row = aimd_system_table().loc[wildcards.system]
    return {
        "alloy": run_trace(row["alloy_run"]),
        "pure_a": run_trace(row["pure_A_run"]),
        "pure_b": run_trace(row["pure_B_run"]),
    }


def aimd_rows(wildcards):
    """One results row per system."""
    return [f"results/aimd/{ENGINE}/binaries/{s}.csv" for s in aimd_system_table().index]


# --- local engine: ASE molecular dynamics with EMT (Al, Cu, Ag, Au, Ni, Pd, Pt) ----------------------------
rule aimd_emt_run:
    input:
        elements=derived("elements"),
    output:
        trace="results/aimd/emt/runs/{run}/trace.csv",
        trajectory="results/aimd/emt/runs/{run}/trajectory.extxyz",
        run_info="results/aimd/emt/runs/{run}/run.json",
    wildcard_constraints:
        run=r"[A-Za-z0-9]+_[0-9.]+K",
    params:
        label="{run}",
        settings=AIMD["emt"],
        seed=config["seed"],
    log:
        "results/logs/aimd/emt_{run}.log",
    benchmark:
        "results/benchmarks/aimd_emt_{run}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../../scripts/aimd_emt_run.py"


rule aimd_emt_hmix:
    input:
        unpack(aimd_run_traces),
    output:
        row="results/aimd/emt/binaries/{system}.csv",
        details="results/aimd/emt/binaries/{system}.json",
    params:
        settings=AIMD["emt"],
    log:
        "results/logs/aimd/emt_hmix_{system}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/aimd_emt_hmix.py"


# --- VASP on a cluster: inputs → volume loop → production, each stage a job guarded by custodian ------------
VASP = AIMD["vasp"]


rule aimd_vasp_inputs:
    input:
        runs="results/aimd/runs.csv",
        elements=derived("elements"),
    output:
        run="results/aimd/vasp/runs/{run_id}/run.json",
    params:
        incar=VASP["incar"],
        protocol=VASP["protocol"],
        seed=config["seed"],
    log:
        "results/logs/aimd/vasp_inputs_{run_id}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/aimd_vasp_inputs.py"


rule aimd_vasp_volume:
    input:
        run="results/aimd/vasp/runs/{run_id}/run.json",
    output:
        volume="results/aimd/vasp/runs/{run_id}/volume.json",
    params:
        stage="volume",
        incar=VASP["incar"],
        protocol=VASP["protocol"],
        runner=VASP["runner"],
    log:
        "results/logs/aimd/vasp_volume_{run_id}.log",
    # A job that reaches its walltime exits 75 and the retry continues from CONTCAR.
    retries: VASP["max_jobs_per_stage"]
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **VASP["resources"],
    script:
        "../../scripts/aimd_vasp_run.py"


rule aimd_vasp_production:
    input:
        run="results/aimd/vasp/runs/{run_id}/run.json",
        volume="results/aimd/vasp/runs/{run_id}/volume.json",
    output:
        trace="results/aimd/vasp/runs/{run_id}/trace.csv",
        trajectory="results/aimd/vasp/runs/{run_id}/trajectory.extxyz",
    params:
        stage="production",
        incar=VASP["incar"],
        protocol=VASP["protocol"],
        runner=VASP["runner"],
    log:
        "results/logs/aimd/vasp_production_{run_id}.log",
    retries: VASP["max_jobs_per_stage"]
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **VASP["resources"],
    script:
        "../../scripts/aimd_vasp_run.py"


rule aimd_vasp_hmix:
    input:
        unpack(aimd_run_traces),
    output:
        row="results/aimd/vasp/binaries/{system}.csv",
    params:
        incar=VASP["incar"],
        protocol=VASP["protocol"],
    log:
        "results/logs/aimd/vasp_hmix_{system}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    script:
        "../../scripts/aimd_vasp_hmix.py"


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
