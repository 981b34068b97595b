# AIMD: which systems, the runs they need (pure liquids shared), one job per run on the configured engine (VASP
# under custodian on a cluster, or an ASE calculator such as EMT anywhere) through one protocol (volume loop,
# production, outcome), ΔH_mix per binary, and the results table that dataset_final picks up when aimd.run is true.

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


def run_outcome(run_id):
    """A run's outcome: one imported with `hmixal aimd import` if present, else the engine's own run."""
    imported = Path(f"results/aimd/imported/{run_id}/outcome.json")
    return str(imported) if imported.is_file() else f"results/aimd/{ENGINE}/runs/{run_id}/outcome.json"


def aimd_run_outcomes(wildcards):
    """The outcomes of the alloy run and the two pure-liquid runs of one system."""
    row = aimd_system_table().loc[wildcards.system]
    return {
        "alloy": run_outcome(row["alloy_run"]),
        "pure_a": run_outcome(row["pure_A_run"]),
        "pure_b": run_outcome(row["pure_B_run"]),
    }


def aimd_rows(wildcards):
    """One results row per system."""
    return [f"results/aimd/{ENGINE}/binaries/{s}.csv" for s in aimd_system_table().index]


# One job per run. VASP jobs take their nodes, walltime and the vasp_jobs token (the profile caps how many run at
# once) from aimd.vasp.resources, and are resubmitted while they exit 75 (walltime: the next job continues);
# an ASE-calculator run is one ordinary single-core job.
if ENGINE == "vasp":
    RUN_RESOURCES = {**AIMD["vasp"]["resources"], "vasp_jobs": 1}
    RUN_RETRIES = AIMD["vasp"]["max_jobs_per_run"]
else:
    RUN_RESOURCES = {"mem_mb": 2000, "runtime": 120}
    RUN_RETRIES = 0


rule aimd_run:
    input:
        runs="results/aimd/runs.csv",
        elements=derived("elements"),
    output:
        outcome=f"results/aimd/{ENGINE}/runs/{{run_id}}/outcome.json",
    wildcard_constraints:
        run_id=r"[A-Za-z0-9]+_[0-9.]+K",
    params:
        aimd={key: AIMD[key] for key in ("engine", "protocol", "reset_failed", ENGINE)},
        seed=config["seed"],
    log:
        f"results/logs/aimd/{ENGINE}_run_{{run_id}}.log",
    retries: RUN_RETRIES
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **RUN_RESOURCES,
    script:
        "../../scripts/aimd_run.py"


rule aimd_hmix:
    input:
        unpack(aimd_run_outcomes),
    output:
        row=f"results/aimd/{ENGINE}/binaries/{{system}}.csv",
        details=f"results/aimd/{ENGINE}/binaries/{{system}}.json",
    params:
        checks=AIMD["checks"],
        protocol=AIMD["protocol"],
    log:
        f"results/logs/aimd/{ENGINE}_hmix_{{system}}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
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
