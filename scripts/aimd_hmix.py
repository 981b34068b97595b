"""Snakemake script: ΔH_mix of one binary from its three ended runs (any engine) → one results row + details."""

from hmixal.jobs import start_job

log = start_job(snakemake, "aimd_hmix")

from pathlib import Path  # noqa: E402

from hmixal.aimd.analysis import write_results  # noqa: E402
from hmixal.aimd.checks import CheckSettings  # noqa: E402
from hmixal.aimd.protocol import ProtocolSettings  # noqa: E402
from hmixal.aimd.results import binary_result  # noqa: E402
from hmixal.io import write_text  # noqa: E402

dirs = [Path(getattr(snakemake.input, name)).parent for name in ("alloy", "pure_a", "pure_b")]
protocol = ProtocolSettings.from_mapping(snakemake.params.protocol)
result = binary_result(*dirs, CheckSettings.from_mapping(snakemake.params.checks), protocol)
write_results([result.row], snakemake.output.row)
write_text(result.details_json(), snakemake.output.details)
row = result.row
log.info("%s-%s x_B=%g at %g K: %s %s", row["A"], row["B"], row["x_B"], row["T_K"], row["status"], row["comment"])
