"""Snakemake script: one EMT liquid (pure or alloy) at one temperature → trace.csv, trajectory.extxyz, run.json."""

from hmixal.jobs import start_job

log = start_job(snakemake, "aimd_emt_run")

from pathlib import Path  # noqa: E402

from hmixal.aimd import emt  # noqa: E402
from hmixal.elements import load_element_table  # noqa: E402
from hmixal.errors import InputError  # noqa: E402
from hmixal.splits import derive_seed  # noqa: E402

# The run label (e.g. Ag128Cu128_1400K) names the composition and temperature; the seed derives from the
# config's root seed and the label, so a pure liquid shared by several binaries is one run with one seed.
label = str(snakemake.params.label)
counts, temperature = emt.parse_run_label(label)
settings = emt.settings_from_config(snakemake.params.settings)
seed = derive_seed(int(snakemake.params.seed), "aimd-emt", label)
out_dir = Path(snakemake.output.trace).parent
expected = {
    "trace": out_dir / emt.TRACE_FILE,
    "trajectory": out_dir / emt.TRAJECTORY_FILE,
    "run_info": out_dir / emt.RUN_FILE,
}
for name, path in expected.items():
    declared = getattr(snakemake.output, name)
    if Path(declared) != path:
        raise InputError(None, None, f"output {name} must be {path} (the run directory's layout), got {declared}")
elements = load_element_table(Path(snakemake.input.elements))
run = emt.run_liquid(counts, temperature, out_dir, settings, seed, elements)
log.info(
    "%s: seed %d, %d atoms, %d production steps, wall time %.1f s",
    label,
    seed,
    sum(counts.values()),
    settings.production_steps,
    run.wall_seconds,
)
