# hmixal: enthalpy of mixing of liquid alloys — the pipeline.
# Usage: snakemake --profile profiles/default   (local)   |   snakemake --profile profiles/slurm   (cluster)

from snakemake.utils import min_version

min_version("9.19")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"


rule all:
    input:
        "results/data/dataset_initial.csv",
        "results/data/dataset_final.csv",
        "results/data/summary.json",
