# Shared definitions: config validation, the choice between committed and rebuilt derived tables, and every
# helper function and config-derived constant of the stage files (they hold rules only, as `snakemake --lint`
# asks: functions in rule files are hard to find).
import os
import sys
from pathlib import Path

import yaml

# The repository this file belongs to (workflow/rules/ → two levels up), whichever Snakefile included it.
WORKFLOW_ROOT = Path(workflow.current_basedir).parents[1]

# Rule scripts (and this Snakefile) import hmixal from this checkout, also where it is not installed. The scripts
# run in child processes, so the same src/ goes first on their PYTHONPATH (written here, never read: not a
# variable the user must provide, hence no envvars directive).
_SRC = str(WORKFLOW_ROOT / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p))

from hmixal.active_learning import ARD_APPROACHES
from hmixal.aimd.protocol import OUTCOME_RECORD
from hmixal.aimd.systems import melting_points, plan_runs, read_systems
from hmixal.config import check_config_limits, validate_config
from hmixal.elements import load_element_table
from hmixal.errors import ConfigError
from hmixal.resources import element_table_path
from hmixal.features import feature_names
from hmixal.gp_map import HyperSettings
from hmixal.layout import (
    ACQUISITION_PLAN,
    AIMD_IMPORTED,
    CALIBRATION_FILE,
    FINAL_MODEL_DIR,
    MODEL_CARD_FILE,
    MODEL_DIR,
    aimd_binaries,
    aimd_runs,
    result,
)
from hmixal.rfe_study import RfeSettings
from hmixal.settings import field_names
from hmixal.systems import distinct_binaries


def _input_binaries():
    """Upper bound on the binaries of the datasets: the input tables' distinct pairs (+ AIMD systems to run), or
    None while a table is not there yet (rebuilt derived tables, a missing user table: the rules report those).
    """
    sources = config["sources"]
    rebuilt = "results/derived" if sources["rebuild_derived"] else "data/derived"
    paths = [f"{rebuilt}/calphad_hmix.csv", f"{rebuilt}/calorimetry.csv", sources["aimd_published"]]
    paths += list(sources["user_tables"])
    try:
        pairs = distinct_binaries(paths)
    except (OSError, UnicodeDecodeError):
        return None
    systems = config["aimd"]["systems"] if config["aimd"]["run"] else {}
    return len(pairs) + len(systems.get("binaries", [])) + systems.get("plan", {}).get("top_n", 0)


# Every config problem is one line naming its key (no schema dump), and impossible sizes stop the run before
# any job starts. (A YAML syntax error is reported by Snakemake itself, before this file runs: see README.)
try:
    _schema = yaml.safe_load((WORKFLOW_ROOT / "workflow/schemas/config.schema.yaml").read_text())
    validate_config(config, _schema)
    check_config_limits(config, feature_names(), _input_binaries())
except ConfigError as error:
    sys.exit(str(error))

REFDATA = Path(config["refdata_dir"])
REBUILD = config["sources"]["rebuild_derived"]


def refdata(relative):
    """A path inside the configured reference-data folder."""
    return str(REFDATA / relative)


def derived(name):
    """A derived source table: rebuilt from refdata into results/derived/, or the committed copy (data/derived/;
    the element table is package data, so an installed hmixal predicts with it: hmixal.resources)."""
    if REBUILD:
        return f"results/derived/{name}.csv"
    if name != "elements":
        return f"data/derived/{name}.csv"
    # Relative to the working directory when the package is this checkout's src/: a moved or copied checkout
    # then names the same input, and Snakemake does not rerun every job for a "changed" set of input files.
    table = element_table_path().resolve()
    here = Path.cwd().resolve()
    return str(table.relative_to(here)) if table.is_relative_to(here) else str(table)


CONDA_ENV = "../../envs/hmixal.yaml"


# --- report (figures.smk) ----------------------------------------------------------------------------------

FIG = "results/figures"


def figure_outputs(name, category, subcategory, label):
    """Named outputs of a figure rule: the PNG in the report (caption workflow/report/<name>.rst), the PDF and
    the plotted numbers beside it."""
    return {
        "png": report(
            f"{FIG}/{name}.png",
            caption=f"../report/{name}.rst",
            category=category,
            subcategory=subcategory,
            labels={"figure": label},
        ),
        "pdf": f"{FIG}/{name}.pdf",
        "data": f"{FIG}/{name}.csv",
    }


# --- datasets (data.smk) -----------------------------------------------------------------------------------


def merge_inputs(with_aimd):
    """Named inputs of a dataset merge: published AIMD as "aimd", the AIMD stage's own results as "simulated"."""
    inputs = {
        "calphad": derived("calphad_hmix"),
        "calorimetry": derived("calorimetry"),
        "rejects": [derived("calorimetry_rejects")],
        # Database files the CALPHAD derivation could not load: reported by the merge, not counted as rejects.
        "load_report": derived("calphad_load_report"),
        "user": config["sources"]["user_tables"],
    }
    if with_aimd:
        inputs["aimd"] = [config["sources"]["aimd_published"]]
        if config["aimd"]["run"]:
            # Recomputed rows (any engine): paired with published ones of the same point (docs/dataset.md).
            inputs["simulated"] = ["results/aimd/aimd_results.csv"]
    return inputs


def merge_params():
    """Parameters of a dataset merge: rejects limit, plausibility bound and the provenance policy."""
    return {
        "max_rejects": config["dataset"]["max_rejects"],
        "max_abs_hmix": config["dataset"]["max_abs_hmix_kJ_per_mol"],
        "train_on_potential_md": config["dataset"]["train_on_potential_md"],
        "recomputed": config["dataset"]["recomputed"],
    }


# --- feature selection (selection.smk) ---------------------------------------------------------------------

SEL = config["selection"]
# The keys of a repeat (hmixal.rfe_study.RfeSettings); the section's others lay out the jobs and choose the sets.
RFE_SETTINGS = {key: SEL[key] for key in field_names(RfeSettings)}
RFE_BLOCKS = list(range((SEL["repeats"] + SEL["block_size"] - 1) // SEL["block_size"]))


def rfe_block_repeats(wildcards):
    """The repeat numbers of one block."""
    start = int(wildcards.block) * SEL["block_size"]
    return list(range(start, min(start + SEL["block_size"], SEL["repeats"])))


# --- model (model.smk) -------------------------------------------------------------------------------------

MODEL = config["model"]
FOLDS = list(range(MODEL["outer_folds"]))
# The model folder's files that the library and the CLI read too (hmixal.layout).
FINAL_MODEL = result(MODEL_DIR, FINAL_MODEL_DIR)
CALIBRATION = result(MODEL_DIR, CALIBRATION_FILE)
MODEL_CARD = result(MODEL_DIR, MODEL_CARD_FILE)


def excluded_sources(wildcards):
    """'before': the source types a model before AIMD never trains on (as in the nested CV); 'after': none."""
    return MODEL["excluded_sources_before"] if wildcards.variant == "before" else []


# --- active-learning benchmark (active_learning.smk) -------------------------------------------------------

AL = config["active_learning"]
AL_BLOCKS = list(range((AL["n_splits"] + AL["block_size"] - 1) // AL["block_size"]))
AL_DESIGNS = AL["designs"]
# The settings every AL job reads (hmixal.active_learning.benchmark_settings): one dict, so a rule cannot miss one.
AL_RUN = {
    key: AL[key]
    for key in (
        "features",
        "lgbm",
        "batch_size",
        "n_iterations",
        "eval_features",
        "gp",
        "rtal",
        "committee",
        "evaluator",
    )
} | {"seed": config["seed"]}
AL_ARD = any(a in AL["approaches"] for a in ARD_APPROACHES)


def al_block_splits(wildcards):
    """The split numbers of one block."""
    start = int(wildcards.block) * AL["block_size"]
    return list(range(start, min(start + AL["block_size"], AL["n_splits"])))


def al_gp_hyper(wildcards):
    """A GP approach's block starts from the hyper-parameters learnt once for its splits (rule al_gp_hyper)."""
    if "gp" not in wildcards.approach:
        return []
    return [f"results/active_learning/{wildcards.design}/gp_hyper/{wildcards.block}.json"]


def al_feature_list(wildcards=None):
    """The RFE study's AL list when the benchmark uses it (features: rfe); none otherwise."""
    return ["results/selection/features_al.txt"] if AL["features"] == "rfe" else []


# --- AIMD (aimd.smk) ---------------------------------------------------------------------------------------

AIMD = config["aimd"]
ENGINE = AIMD["engine"]
AIMD_PLAN = result(ACQUISITION_PLAN)
AIMD_RUNS = result(aimd_runs(ENGINE))
AIMD_BINARIES = result(aimd_binaries(ENGINE))


def aimd_system_inputs(wildcards):
    """The element table, plus the acquisition plan when the systems come from it."""
    inputs = {"elements": derived("elements")}
    if AIMD["systems"].get("plan"):
        inputs["plan"] = AIMD_PLAN
    return inputs


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
    imported = Path(result(AIMD_IMPORTED, run_id, OUTCOME_RECORD))
    return str(imported) if imported.is_file() else f"{AIMD_RUNS}/{run_id}/{OUTCOME_RECORD}"


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
    return [f"{AIMD_BINARIES}/{s}.csv" for s in aimd_system_table().index]


# One job per run. VASP jobs take their nodes, walltime and the vasp_jobs token (the profile caps how many run at
# once) from aimd.vasp.resources, and are resubmitted while they exit 75 (walltime: the next job continues);
# an ASE-calculator run is one ordinary single-core job.
if ENGINE == "vasp":
    RUN_RESOURCES = {**AIMD["vasp"]["resources"], "vasp_jobs": 1}
    RUN_RETRIES = AIMD["vasp"]["max_jobs_per_run"]
else:
    RUN_RESOURCES = {"mem_mb": 2000, "runtime": 120}
    RUN_RETRIES = 0


def espei_aimd_tables(wildcards):
    """The AIMD stage tables the final merge reads (published, and recomputed when aimd.run): their rows without
    a value (phase separation, not computed) never reach the dataset, so the export lists them from here."""
    inputs = merge_inputs(with_aimd=True)
    return [*inputs["aimd"], *inputs.get("simulated", [])]
