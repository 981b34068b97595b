"""Snakemake script: one VASP run's start — random liquid cell, run.json and the first volume stage's inputs."""

import logging
import sys
from pathlib import Path

import pandas as pd

from hmixal.aimd.runner import ProtocolSettings, prepare_run
from hmixal.aimd.vasp_inputs import MDSettings
from hmixal.elements import load_element_table
from hmixal.errors import InputError
from hmixal.splits import derive_seed

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115 — stays open for the whole script, as Snakemake logs do
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("aimd_vasp_inputs")

run_id = snakemake.wildcards.run_id
runs = pd.read_csv(snakemake.input.runs, keep_default_na=False).set_index("run_id")
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
