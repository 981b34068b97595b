# hmixal: enthalpy of mixing of liquid alloys — the pipeline.
# Usage: snakemake --profile profiles/local   (local)   |   snakemake --profile profiles/slurm   (cluster)

from snakemake.utils import min_version

min_version("9.19")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/selection.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/active_learning.smk"
include: "workflow/rules/uncertainty.smk"
include: "workflow/rules/aimd.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/export.smk"


rule all:
    input:
        "results/data/dataset_initial.csv",
        "results/data/dataset_final.csv",
        "results/data/summary.json",
        "results/selection/features_al.txt",
        "results/model/metrics.json",
        "results/model/predictions.csv",
        "results/model/redlich_kister.csv",
        "results/model/hmixal_liquid.tdb",
        "results/model/hmixal_liquid_tdb_check.csv",
        "results/model/model_card.json",
        "results/calphad/espei_aimd",
        "results/calphad/espei_aimd_index.csv",
        "results/calphad/espei_aimd_left_out.csv",
        expand(
            "results/active_learning/{design}/{table}.csv",
            design=AL_DESIGNS,
            table=("curves", "summary", "endpoints", "references"),
        ),
        "results/uncertainty/acquisition_plan.csv",
        "results/uncertainty/miedema_groups.json",
        FIGURES,
