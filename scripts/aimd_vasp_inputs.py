"""Snakemake script: one VASP run's start — random liquid cell, run.json and the first volume stage's inputs."""

from hmixal.jobs import start_job

log = start_job(snakemake, "aimd_vasp_inputs")

from pathlib import Path  # noqa: E402

from hmixal.aimd.runner import ProtocolSettings, prepare_run  # noqa: E402
from hmixal.aimd.systems import read_runs  # noqa: E402
from hmixal.aimd.vasp_inputs import MDSettings  # noqa: E402
from hmixal.elements import load_element_table  # noqa: E402
from hmixal.errors import InputError  # noqa: E402
from hmixal.splits import derive_seed  # noqa: E402

run_id = snakemake.wildcards.run_id
# Checked against its manifest: a runs table cut or edited after the aimd_systems rule wrote it stops here.
runs = read_runs(snakemake.input.runs).set_index("run_id")
if run_id not in runs.index:
    raise InputError(snakemake.input.runs, None, f"no run {run_id!r}")
row = runs.loc[run_id]
counts = {row["A"]: int(row["n_A"])}
if row["kind"] == "alloy":
    counts[row["B"]] = int(row["n_B"])
molar_volumes = load_element_table(snakemake.input.elements)["MolarVolume"].to_dict()
run_dir = Path(snakemake.output.run).parent
prepare_run(
    run_dir,
    counts,
    float(row["T_K"]),
    MDSettings.from_mapping(snakemake.params.incar),
    ProtocolSettings.from_mapping(snakemake.params.protocol),
    derive_seed(int(snakemake.params.seed), "aimd", run_id),
    molar_volumes,
)
log.info("%s: inputs in %s", run_id, run_dir)
