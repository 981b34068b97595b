"""Snakemake script: the N predefined train / test / pool splits of the binaries shared by every AL approach."""

from hmixal.jobs import start_job

log = start_job(snakemake, "al_splits")

from hmixal.active_learning import make_splits  # noqa: E402
from hmixal.dataset import read_table  # noqa: E402
from hmixal.io import write_csv  # noqa: E402

p = snakemake.params
dataset = read_table(snakemake.input.dataset)
binaries = (dataset["A"] + "-" + dataset["B"]).to_numpy()
splits = make_splits(binaries, p.n_splits, p.train_fraction, p.test_fraction, p.seed)
write_csv(splits, snakemake.output.splits)
log.info("%d splits of %d binaries written to %s", p.n_splits, len(set(binaries)), snakemake.output.splits)
