"""Snakemake script: ΔH_mix of one binary from its three finished VASP runs → one results row."""

from hmixal.jobs import start_job

log = start_job(snakemake, "aimd_vasp_hmix")

from pathlib import Path  # noqa: E402

from hmixal.aimd.analysis import write_results  # noqa: E402
from hmixal.aimd.results import vasp_binary_row, vasp_reference  # noqa: E402

dirs = [Path(getattr(snakemake.input, name)).parent for name in ("alloy", "pure_a", "pure_b")]
row = vasp_binary_row(*dirs, vasp_reference(snakemake.params.incar, snakemake.params.protocol))
write_results([row], snakemake.output.row)
log.info("%s-%s x_B=%g at %g K: %s %s", row["A"], row["B"], row["x_B"], row["T_K"], row["status"], row["comment"])
