"""Snakemake script: ΔH_mix of one binary from its alloy and two pure-liquid EMT runs → results row + details."""

import logging
import sys
from pathlib import Path

from hmixal.aimd import emt
from hmixal.aimd.analysis import write_results
from hmixal.io import write_text

sys.stderr = open(snakemake.log[0], "w")  # noqa: SIM115 — stays open for the whole script, as Snakemake logs do
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("aimd_emt_hmix")

settings = emt.settings_from_config(snakemake.params.settings)
dirs = [Path(getattr(snakemake.input, name)).parent for name in ("alloy", "pure_a", "pure_b")]
result = emt.binary_hmix(dirs[0], dirs[1], dirs[2], settings)
write_results([result.row], snakemake.output.row)
write_text(result.details_json(), snakemake.output.details)
row = result.row
log.info("%s-%s x_B=%g at %g K: %s, %s", row["A"], row["B"], row["x_B"], row["T_K"], row["status"], row["comment"])
