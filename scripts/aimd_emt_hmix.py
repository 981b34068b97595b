"""Snakemake script: ΔH_mix of one binary from its alloy and two pure-liquid EMT runs → results row + details."""

from hmixal.jobs import start_job

log = start_job(snakemake, "aimd_emt_hmix")

from pathlib import Path  # noqa: E402

from hmixal.aimd import emt  # noqa: E402
from hmixal.aimd.analysis import write_results  # noqa: E402
from hmixal.io import write_text  # noqa: E402

settings = emt.settings_from_config(snakemake.params.settings)
dirs = [Path(getattr(snakemake.input, name)).parent for name in ("alloy", "pure_a", "pure_b")]
result = emt.binary_hmix(dirs[0], dirs[1], dirs[2], settings)
write_results([result.row], snakemake.output.row)
write_text(result.details_json(), snakemake.output.details)
row = result.row
log.info("%s-%s x_B=%g at %g K: %s, %s", row["A"], row["B"], row["x_B"], row["T_K"], row["status"], row["comment"])
